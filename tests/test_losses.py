import math

import numpy as np
import pytest
import torch

from comodo.errors import ComodoError
from comodo.losses import comodo_loss, info_nce, l2_distill, similarity_distributions, supervised_ce
from comodo.queue import EmbeddingQueue


def unit(v: np.ndarray) -> np.ndarray:
    return v / math.sqrt(sum(x * x for x in v))


def naive_comodo(z_imu, z_video, queue, tau_s, tau_t) -> float:
    """METHOD.md §1 transcribed one sample and one key at a time, in float64."""
    keys = [unit(k) for k in queue] + [unit(v) for v in z_video]
    total = 0.0
    for x, v in zip(z_imu, z_video):
        x, v = unit(x), unit(v)
        t = [float(v @ k) / tau_t for k in keys]
        s = [float(x @ k) / tau_s for k in keys]
        t_max, s_max = max(t), max(s)
        t_norm = sum(math.exp(a - t_max) for a in t)
        s_lse = s_max + math.log(sum(math.exp(a - s_max) for a in s))
        total -= sum(math.exp(a - t_max) / t_norm * (b - s_lse) for a, b in zip(t, s))
    return total / len(z_imu)


def naive_info_nce(x, v, tau, symmetric) -> float:
    x = [unit(r) for r in x]
    v = [unit(r) for r in v]
    b = len(x)

    def direction(a, c):
        loss = 0.0
        for i in range(b):
            logits = [float(a[i] @ c[j]) / tau for j in range(b)]
            loss -= logits[i] - math.log(sum(math.exp(l) for l in logits))
        return loss / b

    return (direction(x, v) + direction(v, x)) / 2 if symmetric else direction(x, v)


@pytest.mark.parametrize(
    "k, b, d, tau_s, tau_t",
    [
        (0, 4, 8, 0.05, 0.1),
        (1, 1, 3, 0.05, 0.1),
        (17, 5, 8, 0.05, 0.1),
        (64, 16, 4, 0.2, 0.07),
        (9, 3, 2, 1.0, 1.0),
    ],
)
def test_comodo_loss_matches_naive_loop(k, b, d, tau_s, tau_t):
    rng = np.random.default_rng(k * 100 + b)
    x, v, q = rng.normal(size=(b, d)), rng.normal(size=(b, d)), rng.normal(size=(k, d)) * 3
    expected = naive_comodo(x, v, q, tau_s, tau_t)
    as_t = torch.from_numpy
    got = comodo_loss(as_t(x), as_t(v), as_t(q), student_temp=tau_s, teacher_temp=tau_t)
    assert got.dtype == torch.float64 and got.shape == ()
    assert got.item() == pytest.approx(expected, rel=1e-12, abs=1e-12)
    got32 = comodo_loss(as_t(x).float(), as_t(v).float(), as_t(q).float(), tau_s, tau_t)
    assert got32.item() == pytest.approx(expected, rel=1e-4)


def test_similarity_distributions_are_the_loss_internals():
    torch.manual_seed(0)
    x, v, q = torch.randn(6, 5), torch.randn(6, 5), torch.randn(11, 5)
    p_t, p_s = similarity_distributions(x, v, q, 0.05, 0.1)
    assert p_t.shape == p_s.shape == (6, 17)
    torch.testing.assert_close(p_t.sum(1), torch.ones(6))
    torch.testing.assert_close(p_s.sum(1), torch.ones(6))
    torch.testing.assert_close(-(p_t * p_s.log()).sum(1).mean(), comodo_loss(x, v, q, 0.05, 0.1))
    # the batch's own teacher key is the teacher's most similar key: cosine 1 with itself
    assert (p_t.argmax(1) == torch.arange(11, 17)).all()


def test_loss_is_entropy_when_student_equals_teacher():
    # Gibbs: with equal temperatures the cross-entropy is minimal (= entropy of p_v) at z_imu = z_video.
    torch.manual_seed(1)
    v, q = torch.randn(4, 6, dtype=torch.float64), torch.randn(10, 6, dtype=torch.float64)
    p_t, _ = similarity_distributions(v, v, q, 0.1, 0.1)
    entropy = -(p_t * p_t.log()).sum(1).mean()
    at_teacher = comodo_loss(v * 2.5, v, q, 0.1, 0.1)  # scale is irrelevant after normalisation
    torch.testing.assert_close(at_teacher, entropy)
    assert comodo_loss(v + 0.3 * torch.randn_like(v), v, q, 0.1, 0.1) > entropy + 1e-3


def test_gradient_reaches_only_the_student():
    torch.manual_seed(2)
    x = torch.randn(5, 4, requires_grad=True)
    v = torch.randn(5, 4, requires_grad=True)
    q = torch.randn(7, 4, requires_grad=True)
    comodo_loss(x, v, q).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert v.grad is None and q.grad is None
    p_t, p_s = similarity_distributions(x, v, q)
    assert not p_t.requires_grad and p_s.requires_grad
    x.grad = None
    (info_nce(x, v) + l2_distill(x, v)).backward()
    assert x.grad.abs().sum() > 0 and v.grad is None


def test_loss_falls_in_a_few_steps_with_a_queue():
    gen = torch.Generator().manual_seed(0)
    inputs = torch.randn(256, 10, generator=gen)
    teacher = torch.nn.functional.normalize(inputs @ torch.randn(10, 8, generator=gen), dim=1)  # (256, 8)
    torch.manual_seed(0)
    student = torch.nn.Linear(10, 8)
    opt = torch.optim.Adam(student.parameters(), lr=0.05)
    queue = EmbeddingQueue(48, 8)  # K % B != 0
    losses = []
    for step in range(40):
        idx = torch.randint(0, 256, (32,), generator=gen)
        loss = comodo_loss(student(inputs[idx]), teacher[idx], queue.keys())
        opt.zero_grad()
        loss.backward()
        opt.step()
        queue.enqueue(teacher[idx])  # after the loss
        losses.append(loss.item())
    assert queue.is_full
    first, last = np.mean(losses[:3]), np.mean(losses[-3:])
    assert last < 0.6 * first, (first, last)


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("tau", [0.1, 0.5])
def test_info_nce_matches_naive(symmetric, tau):
    rng = np.random.default_rng(3)
    x, v = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    got = info_nce(torch.from_numpy(x), torch.from_numpy(v), temperature=tau, symmetric=symmetric)
    assert got.item() == pytest.approx(naive_info_nce(x, v, tau, symmetric), rel=1e-12)


def test_info_nce_directions_differ():
    rng = np.random.default_rng(4)
    x, v = torch.from_numpy(rng.normal(size=(5, 3))), torch.from_numpy(rng.normal(size=(5, 3)))
    assert abs(info_nce(x, v, symmetric=True).item() - info_nce(x, v, symmetric=False).item()) > 1e-3


def test_l2_distill_matches_naive():
    rng = np.random.default_rng(5)
    x, v = rng.normal(size=(7, 5)), rng.normal(size=(7, 5))
    expected = np.mean([np.sum((unit(a) - unit(b)) ** 2) for a, b in zip(x, v)])
    assert l2_distill(torch.from_numpy(x), torch.from_numpy(v)).item() == pytest.approx(expected, rel=1e-12)
    assert l2_distill(torch.from_numpy(x), torch.from_numpy(3 * x)).item() == pytest.approx(0.0, abs=1e-12)
    assert l2_distill(torch.from_numpy(x), torch.from_numpy(-x)).item() == pytest.approx(4.0, rel=1e-12)


def test_supervised_ce():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]])
    labels = torch.tensor([0, 1])
    first = math.exp(2) / (math.exp(2) + 1 + math.exp(-1))  # p(class 0 | row 0)
    second = math.exp(0.5) / (2 * math.exp(0.5) + math.exp(3))  # p(class 1 | row 1)
    expected = -(math.log(first) + math.log(second)) / 2
    assert supervised_ce(logits, labels).item() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ComodoError, match=r"\[0, 3\)"):
        supervised_ce(logits, torch.tensor([0, 3]))
    with pytest.raises(ComodoError, match="integers"):
        supervised_ce(logits, torch.tensor([0.0, 1.0]))
    with pytest.raises(ComodoError, match=r"\(2,\)"):
        supervised_ce(logits, torch.tensor([0, 1, 2]))
    with pytest.raises(ComodoError, match="NaN"):
        supervised_ce(torch.tensor([[float("nan"), 0.0]]), torch.tensor([0]))


Z = torch.zeros(4, 3) + 1.0
BAD_CALLS = {
    "student_temp zero": (lambda: comodo_loss(Z, Z, Z, student_temp=0.0), "student_temp"),
    "teacher_temp negative": (lambda: comodo_loss(Z, Z, Z, teacher_temp=-0.1), "teacher_temp"),
    "teacher_temp nan": (lambda: comodo_loss(Z, Z, Z, teacher_temp=float("nan")), "teacher_temp"),
    "student_temp inf": (lambda: comodo_loss(Z, Z, Z, student_temp=float("inf")), "student_temp"),
    "infonce temp": (lambda: info_nce(Z, Z, temperature=0.0), "temperature"),
    "1-D z_imu": (lambda: comodo_loss(Z[0], Z, Z), "z_imu"),
    "3-D z_video": (lambda: comodo_loss(Z, Z[None], Z), "z_video"),
    "B mismatch": (lambda: comodo_loss(Z, Z[:3], Z), "same shape"),
    "B mismatch infonce": (lambda: info_nce(Z, Z[:2]), "same shape"),
    "B mismatch l2": (lambda: l2_distill(Z[:1], Z), "same shape"),
    "queue D": (lambda: comodo_loss(Z, Z, torch.zeros(5, 2)), r"queue must have shape \(K, 3\)"),
    "queue 1-D": (lambda: comodo_loss(Z, Z, torch.zeros(3)), "queue"),
    "nan z_imu": (lambda: comodo_loss(Z * float("nan"), Z, Z), "z_imu contains NaN"),
    "inf z_video": (lambda: l2_distill(Z, Z * float("inf")), "z_video contains NaN"),
    "nan queue": (lambda: comodo_loss(Z, Z, Z * float("nan")), "queue contains NaN"),
    "empty batch": (lambda: comodo_loss(Z[:0], Z[:0], Z), "non-empty"),
}


@pytest.mark.parametrize("name", list(BAD_CALLS))
def test_bad_inputs_raise(name):
    call, message = BAD_CALLS[name]
    with pytest.raises(ComodoError, match=message):
        call()
