import itertools
import math

import numpy as np
import pytest
import torch

from comodo.egodistill.losses import distill_loss, pretrain_loss
from comodo.errors import ComodoError

SUBSETS = [s for n in (1, 2, 3) for s in itertools.combinations(("kd", "gt", "l1"), n)]


def log_softmax(row: list[float]) -> list[float]:
    top = max(row)
    lse = top + math.log(sum(math.exp(a - top) for a in row))
    return [a - lse for a in row]


def naive_distill(s, t, zs, zv, y, alpha, beta, tau, kd_t2, losses) -> dict[str, float]:
    """METHOD.md §4 Eqs. 3–6 one sample, one class, one dimension at a time, in float64."""
    b, c, d = len(s), len(s[0]), len(zs[0])
    kd = gt = l1 = 0.0
    for i in range(b):
        log_ps = log_softmax([s[i][k] / tau for k in range(c)])
        log_pt = log_softmax([t[i][k] / tau for k in range(c)])
        kd += sum(math.exp(log_pt[k]) * (log_pt[k] - log_ps[k]) for k in range(c)) / b
        gt -= log_softmax(list(s[i]))[y[i]] / b
        l1 += sum(abs(zv[i][k] - zs[i][k]) for k in range(d)) / (b * d)
    kd *= tau**2 if kd_t2 else 1.0
    weights = {"gt": 1.0} if set(losses) == {"gt"} else {"kd": alpha, "gt": 1 - alpha, "l1": beta}
    parts = {"kd": kd, "gt": gt, "l1": l1}
    return {**parts, "total": sum(weights[n] * parts[n] for n in losses)}


def naive_pretrain(zp, zm, zf, zv, tau, nce, l1) -> dict[str, float]:
    """Eq. 7 and the stage-0 L_1, one pair (i, j) at a time, in float64."""
    b, d = len(zf), len(zf[0])
    unit = [[v / math.sqrt(sum(x * x for x in row)) for v in row] for row in (*zp, *zm)]
    p, m = unit[:b], unit[b:]
    loss_nce = 0.0
    for i in range(b):
        logits = [sum(a * c for a, c in zip(p[i], m[j])) / tau for j in range(b)]
        loss_nce -= log_softmax(logits)[i] / b
    loss_l1 = sum(abs(zv[i][k] - zf[i][k]) for i in range(b) for k in range(d)) / (b * d)
    return {"nce": loss_nce, "l1": loss_l1, "total": loss_nce * nce + loss_l1 * l1}


def distill_inputs(seed: int, b: int = 5, c: int = 7, d: int = 6, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    s, t = torch.randn(b, c, generator=gen) * 3, torch.randn(b, c, generator=gen) * 3  # (B, C)
    zs, zv = torch.randn(b, d, generator=gen), torch.randn(b, d, generator=gen)  # (B, D)
    y = torch.randint(0, c, (b,), generator=gen)  # (B,)
    return s.to(dtype), t.to(dtype), zs.to(dtype), zv.to(dtype), y


@pytest.mark.parametrize("losses", SUBSETS)
@pytest.mark.parametrize("kd_t2", [True, False])
@pytest.mark.parametrize("tau", [0.5, 1.0, 10.0])
def test_distill_loss_matches_naive_loop(tau, kd_t2, losses):
    s, t, zs, zv, y = distill_inputs(len(losses) * 10 + int(tau))
    alpha, beta = 0.8, 0.7
    as_lists = [x.tolist() for x in (s, t, zs, zv, y)]
    expected = naive_distill(*as_lists, alpha, beta, tau, kd_t2, losses)
    total, parts = distill_loss(s, t, zs, zv, y, alpha, beta, tau, kd_t2, losses=losses)
    assert total.dtype == torch.float64 and total.shape == ()
    assert set(parts) == {"kd", "gt", "l1", "total"} and all(type(v) is float for v in parts.values())
    assert parts == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert total.item() == pytest.approx(expected["total"], rel=1e-12)
    got32, _ = distill_loss(s.float(), t.float(), zs.float(), zv.float(), y, alpha, beta, tau, kd_t2, losses)
    assert got32.dtype == torch.float32 and got32.item() == pytest.approx(expected["total"], rel=1e-4)


@pytest.mark.parametrize("nce, l1", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("tau", [0.1, 0.5, 2.0])
def test_pretrain_loss_matches_naive_loop(tau, nce, l1):
    rng = np.random.default_rng(int(tau * 10))
    zp, zm, zf, zv = (torch.from_numpy(rng.normal(size=(6, d))) for d in (4, 4, 9, 9))  # B = 6
    expected = naive_pretrain(zp.tolist(), zm.tolist(), zf.tolist(), zv.tolist(), tau, nce, l1)
    total, parts = pretrain_loss(zp, zm, zf, zv, tau=tau, nce=nce, l1=l1)
    assert parts == pytest.approx(expected, rel=1e-12)
    assert total.item() == pytest.approx(expected["total"], rel=1e-12)
    if not nce:  # one sample is fine without in-batch negatives
        assert pretrain_loss(zp[:1], zm[:1], zf[:1], zv[:1], nce=False)[1]["l1"] == pytest.approx(
            naive_pretrain(zp[:1].tolist(), zm[:1].tolist(), zf[:1].tolist(), zv[:1].tolist(), tau, 0, 1)["l1"]
        )


def test_zero_at_the_teacher_and_t2_scaling():
    s, _, zs, _, y = distill_inputs(1, dtype=torch.float32)
    _, parts = distill_loss(s, s.clone(), zs, zs.clone(), y, tau=10.0)
    assert parts["kd"] == pytest.approx(0.0, abs=1e-7) and parts["l1"] == 0.0 and parts["gt"] > 0.1
    s, t, zs, zv, y = distill_inputs(2)
    for tau in (0.5, 3.0, 10.0):
        with_t2 = distill_loss(s, t, zs, zv, y, tau=tau, kd_t2=True)[1]["kd"]
        assert with_t2 == pytest.approx(tau**2 * distill_loss(s, t, zs, zv, y, tau=tau, kd_t2=False)[1]["kd"])
        assert with_t2 > 1e-3


def test_only_gt_is_plain_cross_entropy_and_labels_may_be_none_without_it():
    s, t, zs, zv, y = distill_inputs(3)
    total, parts = distill_loss(s, t, zs, zv, y, losses=["gt"])
    assert total.item() == pytest.approx(parts["gt"]) and parts["kd"] > 0 and parts["l1"] > 0
    total, parts = distill_loss(s, t, zs, zv, None, alpha=0.9, losses={"kd"})
    assert total.item() == pytest.approx(0.9 * parts["kd"]) and math.isnan(parts["gt"])


def test_gradients_reach_only_the_student_and_selected_terms():
    s, t, zs, zv, y = (x.requires_grad_() if x.is_floating_point() else x for x in distill_inputs(4))
    distill_loss(s, t, zs, zv, y)[0].backward()
    assert s.grad.abs().sum() > 0 and zs.grad.abs().sum() > 0
    assert t.grad is None and zv.grad is None
    s.grad = zs.grad = None
    distill_loss(s, t, zs, zv, y, losses=("gt",))[0].backward()  # L_1 reported, not differentiated
    assert s.grad.abs().sum() > 0 and zs.grad is None
    zp, zm, zf, zv = (torch.randn(4, d, requires_grad=True) for d in (3, 3, 5, 5))
    pretrain_loss(zp, zm, zf, zv)[0].backward()
    assert all(z.grad.abs().sum() > 0 for z in (zp, zm, zf)) and zv.grad is None


@pytest.mark.parametrize("tau", [0.1, 1.0])
def test_nce_closed_form_for_orthogonal_pairs(tau):
    b = 4
    eye = torch.eye(b, 6, dtype=torch.float64) * 2.5  # (B, D_m), orthogonal rows, any norm
    _, parts = pretrain_loss(eye, eye.clone(), eye, eye, tau=tau)
    assert parts["nce"] == pytest.approx(math.log(1 + (b - 1) * math.exp(-1 / tau)), rel=1e-12)
    assert parts["l1"] == 0.0
    shuffled = pretrain_loss(eye, eye[[1, 0, 2, 3]], eye, eye, tau=tau)[1]["nce"]
    # Turning z_M,0 towards ẑ_1 lowers pair 0's positive and raises pair 1's negative: a larger loss.
    # (Orthogonal rows are not the loss's minimum, which has negative cosines; random noise can lower it.)
    turned = eye.clone()
    turned[0] = 2.5 * torch.tensor([math.cos(0.5), math.sin(0.5), 0, 0, 0, 0], dtype=torch.float64)
    tilted = pretrain_loss(eye, turned, eye, eye, tau=tau)[1]["nce"]
    assert shuffled > parts["nce"] + 0.1 and tilted > parts["nce"] + 1e-3


S, T, ZS, ZV, Y = distill_inputs(5, b=4, c=3, d=2, dtype=torch.float32)
BAD_CALLS = {
    "1-D logits": (lambda: distill_loss(S[0], T, ZS, ZV, Y), "student_logits"),
    "C mismatch": (lambda: distill_loss(S, T[:, :2], ZS, ZV, Y), r"teacher_logits .* \(4, 3\)"),
    "B mismatch z": (lambda: distill_loss(S, T, ZS, ZV[:3], Y), r"z_video .* \(4, D\)"),
    "D mismatch": (lambda: distill_loss(S, T, ZS[:, :1], ZV, Y), r"z_student .* \(4, 2\)"),
    "labels range": (lambda: distill_loss(S, T, ZS, ZV, Y * 0 + 3), r"\[0, 3\)"),
    "labels float": (lambda: distill_loss(S, T, ZS, ZV, Y.float()), "integers"),
    "labels none": (lambda: distill_loss(S, T, ZS, ZV, None), "labels"),
    "nan teacher": (lambda: distill_loss(S, T * math.nan, ZS, ZV, Y), "teacher_logits contains NaN"),
    "inf z_student": (lambda: distill_loss(S, T, ZS * math.inf, ZV, Y), "z_student contains NaN"),
    "tau zero": (lambda: distill_loss(S, T, ZS, ZV, Y, tau=0.0), "tau"),
    "tau nan": (lambda: distill_loss(S, T, ZS, ZV, Y, tau=math.nan), "tau"),
    "alpha > 1": (lambda: distill_loss(S, T, ZS, ZV, Y, alpha=1.5), r"alpha .*\[0, 1\]"),
    "alpha < 0": (lambda: distill_loss(S, T, ZS, ZV, Y, alpha=-0.1), "alpha"),
    "beta < 0": (lambda: distill_loss(S, T, ZS, ZV, Y, beta=-1.0), "beta"),
    "no losses": (lambda: distill_loss(S, T, ZS, ZV, Y, losses=()), "losses"),
    "unknown loss": (lambda: distill_loss(S, T, ZS, ZV, Y, losses=("kd", "mse")), "losses"),
    "loss string": (lambda: distill_loss(S, T, ZS, ZV, Y, losses="kd"), "losses"),
    "pretrain none": (lambda: pretrain_loss(ZS, ZS, ZV, ZV, nce=False, l1=False), "nce, l1"),
    "pretrain B=1": (lambda: pretrain_loss(ZS[:1], ZS[:1], ZV[:1], ZV[:1]), "B >= 2"),
    "pretrain tau": (lambda: pretrain_loss(ZS, ZS, ZV, ZV, tau=-0.1), "tau"),
    "pretrain z_imu": (lambda: pretrain_loss(ZS, ZS[:, :1], ZV, ZV), r"z_imu .* \(4, 2\)"),
    "pretrain nan": (lambda: pretrain_loss(ZS, ZS, ZV, ZV * math.nan), "z_video contains NaN"),
}


@pytest.mark.parametrize("name", list(BAD_CALLS))
def test_bad_inputs_raise_one_line(name):
    call, message = BAD_CALLS[name]
    with pytest.raises(ComodoError, match=message) as err:
        call()
    assert "\n" not in str(err.value)
