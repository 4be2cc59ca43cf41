"""comodo.study.cli: the machine it names, and notebooks executed side by side (the latency one alone, then
the explorer)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
import torch

from comodo.study import cli as study


def test_machine_names_the_cpu_its_capability_and_the_cores():
    text = study.machine()
    assert torch.backends.cpu.get_cpu_capability() in text and f"{os.cpu_count()} cores" in text
    assert not text.startswith(",")  # a CPU model first


def test_the_cpu_is_named_with_its_family_and_model():
    """Two generations a hypervisor names alike ("AMD EPYC") are told apart; the first processor's block."""
    info = ("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\n"
            "model name\t: AMD EPYC\n\nprocessor\t: 1\ncpu family\t: 23\nmodel\t\t: 49\n")
    assert study.cpu_name(info, "x86_64") == "AMD EPYC (family 25, model 17)"
    assert study.cpu_name("model name\t: Intel Xeon Processor\n", "x86_64") == "Intel Xeon Processor"
    assert study.cpu_name("", "x86_64") == "x86_64"


def _book(folder: Path, name: str, sleep: float = 0.2) -> Path:
    """A notebook that writes its name, its kernel and the kernel's parent process, its parameters,
    whether it finds a name an earlier notebook left, and when it started and ended (it sleeps ``sleep``
    seconds between) into ``<figures_dir>/<name>.json``."""
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    params = nbformat.v4.new_code_cell('quick = False\nfigures_dir = "figures"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "import json, os, time\n"
        "start = time.time()\n"
        f"time.sleep({sleep})\n"
        f"json.dump({{'name': {name!r}, 'parent': os.getppid(), 'kernel': os.getpid(), 'quick': quick, "
        "'fresh': 'leftover' not in globals(), 'start': start, 'end': time.time()}, "
        f"open(f'{{figures_dir}}/{name}.json', 'w'))\n"
        "leftover = 1")]
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("side_by_side,quick", [(True, False), (False, False), (True, True)])
def test_notebooks_run_side_by_side_and_the_latency_one_alone(tmp_path, monkeypatch, side_by_side, quick):
    monkeypatch.setenv("COMODO_WORKERS", "2")
    src, out, figures = tmp_path / "src", tmp_path / "out", tmp_path / "figures"
    for d in (src, out, figures):
        d.mkdir()
    books = [_book(src, n) for n in ("01_a", "02_b", "08_efficiency", "00_explore")]
    with study.Notebooks(out, quick, str(figures), side_by_side=side_by_side) as execute:
        seconds = execute(books)
    assert set(seconds) == set(books) and all(s > 0 for s in seconds.values())
    assert list(seconds)[-1] == books[-1]  # 00_explore, which reads every run, finishes last
    if not quick:  # 08_efficiency, which times the CPU, alone after the others (with --quick: beside them)
        assert list(seconds)[-2] == books[-2]
    numbers = {b.stem: json.loads((figures / f"{b.stem}.json").read_text()) for b in books}
    assert all(n["quick"] is quick for n in numbers.values()) and all((out / b.name).exists() for b in books)
    here = os.getpid()  # the process that started a kernel: a worker of the pool, or this one
    assert all((n["parent"] != here) == side_by_side for n in numbers.values())
    # The notebooks one process executes share its kernel, reset before each as a fresh one starts; the
    # ones run alone reuse a worker's kernel (its imports paid): at most one kernel per process.
    assert all(n["fresh"] for n in numbers.values())
    assert len({n["kernel"] for n in numbers.values()}) <= (2 if side_by_side else 1)



def test_the_study_draws_comodos_figures_before_egodistills_runs(tmp_path, monkeypatch, capsys):
    """`comodo study`: the world, COMODO's runs, COMODO's notebooks (08_efficiency alone, last of them),
    then EgoDistill's sweep, then the others (00_explore last), in the same worker processes and kernels."""
    import argparse
    from contextlib import nullcontext

    from comodo.study.comodo import experiments, runs
    from comodo.study.egodistill import runs as ego_runs

    monkeypatch.setenv("COMODO_WORKERS", "2")
    src, out, figures = tmp_path / "src", tmp_path / "out", tmp_path / "figures"
    for d in (src, out, figures):
        d.mkdir()
    books = [_book(src, n, sleep=4 if n == "01_tour" else 0.2)  # 08 would start beside the tour, were it not alone
             for n in ("01_tour", "06_umap", "08_efficiency", "09_egodistill_tour", "12_egodistill_imu", "00_explore")]
    events = []
    drawn = lambda: sorted(p.stem for p in figures.glob("*.json"))  # noqa: E731
    monkeypatch.setattr(study, "notebooks", lambda root=study.ROOT: books)
    monkeypatch.setattr(runs, "prepare", lambda *a, **k: events.append(("world", drawn())))
    monkeypatch.setattr(runs, "worker_pool", lambda *a, **k: nullcontext("pool"))
    monkeypatch.setattr(experiments, "train_everything", lambda s, pool: events.append(("comodo", drawn())) or 112)
    monkeypatch.setattr(ego_runs, "sweep", lambda configs, pool: events.append(("egodistill", drawn())))

    args = argparse.Namespace(costs=False, only=None, quick=False, figures=figures, out=out)
    assert study.run(args) == 0
    assert events == [("world", []), ("comodo", []),
                      ("egodistill", ["01_tour", "06_umap", "08_efficiency"])]  # COMODO's figures, none other
    numbers = {b.stem: json.loads((figures / f"{b.stem}.json").read_text()) for b in books}
    assert set(numbers) == {b.stem for b in books} and all(n["fresh"] for n in numbers.values())
    assert len({n["kernel"] for n in numbers.values()}) <= 2  # the kernels kept from COMODO's notebooks to the rest
    assert numbers["08_efficiency"]["start"] >= max(numbers[n]["end"] for n in ("01_tour", "06_umap"))  # alone
    assert numbers["00_explore"]["start"] >= max(n["end"] for k, n in numbers.items() if k != "00_explore")
    printed = capsys.readouterr().out
    order = [line.split()[1].rstrip(":") for line in printed.splitlines() if line.startswith("[") and " s -> " in line]
    assert set(order[:3]) == {"01_tour", "06_umap", "08_efficiency"} and order[2] == "08_efficiency"
    assert order[-1] == "00_explore" and len(order) == len(books)
    assert "COMODO's half: its figures were all written" in printed and "COMODO's 3 notebooks (wall)" in printed
