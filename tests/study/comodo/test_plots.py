"""comodo.study.comodo.plots and comodo.study.plotting: every figure function on a tiny hand-made result set;
save() is byte-deterministic."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from comodo.study.comodo import analysis, plots  # noqa: E402
from comodo.study import paper, plotting  # noqa: E402

DOMAINS = ["ego4d", "egoexo4d", "mmea"]


@pytest.fixture(autouse=True)
def _close_figures():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def _runs(**axes) -> pd.DataFrame:
    """One row per combination of ``axes`` (and seeds 0, 1), with made-up accuracies."""
    import itertools

    rng = np.random.default_rng(0)
    names = list(axes) + ["seed"]
    rows = []
    for combo in itertools.product(*axes.values(), [0, 1]):
        a1 = float(rng.uniform(0.2, 0.6))
        rows.append({**dict(zip(names, combo)), "acc1": a1, "acc3": min(1.0, a1 + 0.2), "acc5": min(1.0, a1 + 0.3),
                     "n_classes": 8})
    df = pd.DataFrame(rows)
    if "eval_dataset" in df and "train_dataset" not in df:
        df["train_dataset"] = df["eval_dataset"]
    if "train_dataset" in df and "eval_dataset" not in df:
        df["eval_dataset"] = df["train_dataset"]
    return df


def _tour(b: int = 4, k: int = 6, d: int = 16) -> dict:
    rng = np.random.default_rng(0)

    def unit(n):
        z = rng.normal(size=(n, d))
        return z / np.linalg.norm(z, axis=1, keepdims=True)

    zv, zb, za, q = unit(b), unit(b), unit(b), unit(k)
    p = rng.dirichlet(np.ones(k + b), size=b)
    labels = np.array(["walk", "walk", "cook", "read"][:b])
    return {"frames": rng.integers(0, 255, size=(b, 8, 8, 3), dtype=np.uint8),
            "imu": rng.normal(size=(b, 6, 50)).astype(np.float32), "imu_rate": 10.0, "labels": labels,
            "z_video": zv, "z_before": zb, "z_after": za, "queue": q,
            "key_labels": np.concatenate([np.array(["walk", "cook", "read", "walk", "cook", "read"][:k]), labels]),
            "p_teacher": p, "p_before": rng.dirichlet(np.ones(k + b), size=b), "p_after": p,
            "cos_before": zb @ zv.T, "cos_after": za @ zv.T, "cos_teacher": zv @ zv.T,
            "student_temp": 0.05, "teacher_temp": 0.1, "dataset": "ego4d"}


def _n_axes(fig: Figure) -> int:
    """Axes that hold data (colorbars and twin axes excluded)."""
    return sum(1 for ax in fig.axes if ax.get_label() != "<colorbar>" and (ax.lines or ax.patches or ax.images
                                                                            or ax.collections or ax.texts))


def test_tour_figures():
    t = _tour()
    fig = plots.tour_batch(t, n=3)
    assert isinstance(fig, Figure) and len(fig.axes) == 9 and len(fig.axes[3].lines) == 3
    fig = plots.tour_embeddings(t)
    assert sum(1 for ax in fig.axes if ax.images) == 6
    fig = plots.tour_distributions(t, anchor=1)
    assert len(fig.axes) == 3 and all(len(ax.patches) == 10 for ax in fig.axes)
    fig = plots.tour_queue(analysis.queue_timeline(5, 2, 4), 2)
    assert len(fig.axes) == 1 and fig.axes[0].images
    e = analysis.temperature_effect(t, [0.05, 0.1, 1.0], anchor=0)
    assert e["probs"].shape == (3, 10) and np.allclose(e["probs"].sum(1), 1, atol=1e-5)
    assert np.all(np.diff(e["entropy"]) > 0)  # a larger τ flattens the distribution
    fig = plots.tour_temperatures(e)
    assert len(fig.axes) == 4 and len(fig.axes[0].patches) == 10
    assert len(plots.tour_temperatures(e, top=4).axes[0].patches) == 4


def test_queue_timeline_fills_then_evicts_oldest():
    tl = analysis.queue_timeline(5, 2, 4)  # (steps + 1, K), oldest first
    assert tl.shape == (5, 5)
    assert (tl[0] == -1).all()
    assert list(tl[1]) == [1, 1, -1, -1, -1]
    assert list(tl[3]) == [1, 2, 2, 3, 3]  # full: step 1's first row evicted
    assert list(tl[4]) == [2, 3, 3, 4, 4]


def test_distill_curves():
    hist = pd.DataFrame({"epoch": [1, 2, 3], "loss": [3.0, 2.0, 1.5], "lr": [1e-4, 3e-4, 0.0],
                         "val_acc": [0.2, 0.3, 0.4], "val_metric": ["prototype"] * 3})
    res = {"acc1": 0.5, "acc3": 0.7, "acc5": 0.9, "method": "comodo", "n_classes": 8, "train_dataset": "ego4d"}
    fig = plots.distill_curves(hist, res, {"acc1": 0.8, "acc3": 0.9, "acc5": 1.0})
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 4  # loss, its learning-rate twin, val accuracy, SVM bars
    assert len(fig.axes[2].patches) == 6  # student and teacher, acc@1/3/5
    assert len(plots.distill_curves(hist, res, None).axes[2].patches) == 3


def test_queue_size():
    df = _runs(train_dataset=DOMAINS, queue_size=[16, 32, 64])
    df["method"] = "comodo"
    fig = plots.queue_size(df, paper.queue_size_rows(), paper.label())
    assert len(fig.axes) == 3
    ax = fig.axes[0]
    assert len(ax.get_lines()[0].get_xdata()) == 3  # our mean line
    assert any(line.get_label().startswith("authors") for line in ax.get_lines())
    assert len(plots.queue_size(df).axes) == 3  # without the authors' points


def test_methods():
    df = _runs(eval_dataset=DOMAINS, method=["none", "supervised", "l2", "infonce", "comodo"])
    teacher = pd.DataFrame({"eval_dataset": DOMAINS, "acc1": [0.8, 0.9, 0.7]})
    fig = plots.methods(df, teacher, paper.method_rows(), paper.label())
    assert len(fig.axes) == 2
    assert len([p for p in fig.axes[0].patches]) == 15  # 5 methods × 3 domains
    assert len(fig.axes[0].collections) >= 3  # teacher lines (+ error bars)
    assert len(plots.methods(df).axes) == 1


def test_cross_dataset():
    df = _runs(train_dataset=DOMAINS, eval_dataset=DOMAINS, method=["comodo", "supervised", "none"])
    fig = plots.cross_dataset(df, paper.cross_rows(), paper.label())
    assert _n_axes(fig) == 4 and all(len(ax.texts) == 9 for ax in fig.axes[:4])
    assert _n_axes(plots.cross_dataset(df)) == 3


def test_umap_and_alignment():
    rng = np.random.default_rng(0)
    coords = {kind: {k: rng.normal(size=(12, 2)) for k in ("video", "before", "after")}
              for kind in ("joint", "placed")}
    labels = ["a", "b", "c"] * 4
    fig = plots.umap_embeddings(coords, labels, n_links=5)
    assert len(fig.axes) == 4 and all(len(ax.collections) == 3 for ax in fig.axes)  # links, video, student
    assert len(fig.axes[0].collections[0].get_segments()) == 5
    assert len(plots.umap_embeddings({"joint": coords["joint"]}, labels).axes) == 2
    m = {s: {k: v for k, v in zip(plots.ALIGNMENT_LABELS, [0.1, 0.0, 0.2, 0.3, 0.4])} for s in ("before", "after")}
    fig = plots.alignment({**m, "k": 5, "chance_retrieval": 0.1})
    assert len(fig.axes) == 1 and len(fig.axes[0].patches) == 10


def test_alignment_numbers():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(20, 8))
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    labels = np.array(list("abcd") * 5)
    sets = {"z_video": z, "z_after": z, "z_before": np.roll(z, 1, axis=0), "labels": labels,
            "z_video_train": z, "labels_train": labels}
    m = analysis.alignment(sets, k=3)
    assert m["after"]["paired_cosine"] == pytest.approx(1.0)
    assert m["after"]["retrieval_at_1"] == 1.0 and m["after"]["neighbour_overlap"] == 1.0
    assert m["before"]["retrieval_at_1"] == 0.0


def test_ablations():
    temps = _runs(student_temp=[0.02, 0.05, 0.1], teacher_temp=[0.05, 0.1])
    temps["train_dataset"] = "ego4d"
    fig = plots.temperature_grid(temps)
    assert fig.axes[0].images and len(fig.axes[0].texts) == 6
    fig = plots.projection_ablation(_runs(train_dataset=DOMAINS, projection=["random_mlp", "none"]))
    assert len(fig.axes[0].patches) == 6
    fig = plots.reduction_ablation(_runs(train_dataset=DOMAINS, reduction=["concat", "mean"]),
                                   paper.reduction_rows(), paper.label("moment"))
    assert len(fig.axes) == 2 and len(fig.axes[0].patches) == 6 and len(fig.axes[1].patches) == 6


def test_save_is_byte_deterministic(tmp_path):
    df = _runs(eval_dataset=DOMAINS, method=["none", "comodo"])
    a = plots.save(plots.methods(df), "m", tmp_path / "a")
    b = plots.save(plots.methods(df), "m", tmp_path / "b")
    assert [p.name for p in a] == ["m.png", "m.pdf"]
    for x, y in zip(a, b):
        assert x.stat().st_size > 0 and x.read_bytes() == y.read_bytes()
    pdf = a[1].read_bytes()
    assert b"CreationDate" not in pdf and b"matplotlib" not in pdf.lower()
    assert b"Software" not in a[0].read_bytes()[:2000]


def test_efficiency():
    from comodo.study.efficiency import table

    def result(model, role, params, gflops, ms):
        return {"model": model, "label": model.upper(), "role": role, "params": params, "gflops_per_clip": gflops,
                "threads": 1, "latency_ms_per_clip": {str(b): v for b, v in ms.items()},
                "not_measured": {} if 32 in ms else {"32": "too slow"}}

    rows = table([result("big", "teacher", 100e6, 400.0, {1: 1000.0}),
                  result("other", "teacher", 50e6, 100.0, {1: 500.0}),
                  result("small", "student", 1e6, 2.0, {1: 10.0, 32: 1.0})], (1, 32))
    fig = plotting.efficiency(rows)
    params, flops, latency = fig.axes[:3]
    assert [p.get_width() for p in params.patches] == pytest.approx([100.0, 50.0, 1.0])
    assert [p.get_width() for p in flops.patches] == pytest.approx([400.0, 100.0, 2.0])
    assert sorted(p.get_width() for p in latency.patches) == pytest.approx([1.0, 10.0, 500.0, 1000.0])
    (line,) = flops.get_lines()  # EgoDistill's reported ratio against the first teacher: 400 / 200
    assert line.get_xdata()[0] == pytest.approx(2.0) and "EgoDistill" in line.get_label()
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "2.00  (200× fewer)" in texts and "10.0  (100× faster)" in texts  # ratios vs BIG
    assert texts.count("batch 32: not measured") == 2
    texts = [t.get_text() for ax in plotting.efficiency(rows, "other", None).axes for t in ax.texts]
    assert "2.00  (50.0× fewer)" in texts and "10.0  (50.0× faster)" in texts  # ratios vs OTHER
    assert not plotting.efficiency(rows, "other", None).axes[1].get_lines()  # no reference line
    with pytest.raises(ValueError, match="teacher"):
        plotting.efficiency(rows, "small")


def test_every_figure_is_shown_in_a_jupyter_kernel():
    """The first figure starts Jupyter's inline backend inside rc_context; later ones must still be shown."""
    import nbclient
    import nbformat

    cells = ["import numpy as np\nfrom comodo.study.comodo import plots", *["plots.tour_queue(np.full((3, 5), -1), 2);"] * 2]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells],
                                  metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    assert [any("image/png" in o.get("data", {}) for o in c.outputs) for c in nb.cells[1:]] == [True, True]
