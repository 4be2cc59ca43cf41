import datetime
import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from comodo.errors import ComodoError
from comodo.queue import EmbeddingQueue


def rows(start: int, n: int, dim: int = 3) -> torch.Tensor:
    """n distinct rows: row i is filled with the value start + i."""
    return torch.arange(start, start + n, dtype=torch.float32)[:, None].repeat(1, dim)  # (n, dim)


def ids(q: EmbeddingQueue) -> list[int]:
    return q.ordered()[:, 0].long().tolist()


def test_empty_queue_has_no_keys():
    q = EmbeddingQueue(5, 3)
    assert q.keys().shape == (0, 3)
    assert q.ordered().shape == (0, 3)
    assert not q.is_full


def test_wraparound_with_k_not_multiple_of_b():
    q = EmbeddingQueue(7, 3)
    q.enqueue(rows(0, 3))
    assert ids(q) == [0, 1, 2] and int(q.ptr) == 3 and int(q.count) == 3
    q.enqueue(rows(3, 3))
    assert ids(q) == [0, 1, 2, 3, 4, 5] and not q.is_full
    q.enqueue(rows(6, 3))  # wraps: 0 and 1 are evicted first
    assert ids(q) == [2, 3, 4, 5, 6, 7, 8] and q.is_full
    assert int(q.ptr) == 2 and int(q.count) == 7
    q.enqueue(rows(9, 3))
    assert ids(q) == [5, 6, 7, 8, 9, 10, 11]
    assert sorted(q.keys()[:, 0].long().tolist()) == [5, 6, 7, 8, 9, 10, 11]


def test_batch_at_least_queue_size_keeps_newest():
    q = EmbeddingQueue(4, 3)
    q.enqueue(rows(0, 2))
    q.enqueue(rows(10, 6))  # B > K
    assert ids(q) == [12, 13, 14, 15] and q.is_full
    q.enqueue(rows(20, 4))  # B == K
    assert ids(q) == [20, 21, 22, 23]
    q.enqueue(rows(30, 1))
    assert ids(q) == [21, 22, 23, 30]


def test_fill_then_enqueue_evicts_fill_rows_in_order():
    q = EmbeddingQueue(5, 3)
    q.fill(rows(100, 5))
    assert q.is_full and int(q.ptr) == 0 and ids(q) == [100, 101, 102, 103, 104]
    q.enqueue(rows(0, 2))
    assert ids(q) == [102, 103, 104, 0, 1]


def test_enqueue_detaches_and_casts():
    q = EmbeddingQueue(4, 3)
    z = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    q.enqueue(z * 2)
    assert q.embeddings.dtype == torch.float32 and not q.embeddings.requires_grad
    torch.testing.assert_close(q.keys(), (z * 2).detach().float())


def test_state_dict_round_trip():
    q = EmbeddingQueue(6, 3)
    for start in (0, 4, 8):
        q.enqueue(rows(start, 4))  # 12 rows through a queue of 6
    state = q.state_dict()
    assert set(state) == {"embeddings", "ptr", "count"}
    fresh = EmbeddingQueue(6, 3)
    fresh.load_state_dict(state)
    assert int(fresh.ptr) == int(q.ptr) == 0 and int(fresh.count) == 6
    assert ids(fresh) == [6, 7, 8, 9, 10, 11]
    fresh.enqueue(rows(50, 2))
    q.enqueue(rows(50, 2))
    assert ids(fresh) == ids(q) == [8, 9, 10, 11, 50, 51]


def test_state_dict_of_partly_filled_queue():
    q = EmbeddingQueue(6, 3)
    q.enqueue(rows(0, 4))
    fresh = EmbeddingQueue(6, 3)
    fresh.load_state_dict(q.state_dict())
    assert int(fresh.ptr) == 4 and int(fresh.count) == 4 and ids(fresh) == [0, 1, 2, 3]


@pytest.mark.parametrize("size, dim", [(0, 3), (-1, 3), (4, 0), (2.5, 3), (4, "3")])
def test_bad_sizes(size, dim):
    with pytest.raises(ComodoError, match="queue"):
        EmbeddingQueue(size, dim)


def test_bad_enqueue_and_fill():
    q = EmbeddingQueue(4, 3)
    with pytest.raises(ComodoError, match=r"\(B, 3\)"):
        q.enqueue(torch.zeros(2, 4))
    with pytest.raises(ComodoError, match=r"\(B, 3\)"):
        q.enqueue(torch.zeros(3))
    with pytest.raises(ComodoError, match="NaN"):
        q.enqueue(torch.full((2, 3), float("nan")))
    with pytest.raises(ComodoError, match=r"\(4, 3\)"):
        q.fill(torch.zeros(3, 3))
    assert int(q.count) == 0 and int(q.ptr) == 0  # nothing was written


# Each rank's batches: (rank, step) -> number of rows; unequal sizes, one empty, one step with 9 >= K.
SIZES = {0: [3, 2, 5, 0], 1: [1, 4, 4, 2]}
K, DIM = 7, 3


def batch(rank: int, step: int) -> torch.Tensor:
    return rows(1000 * rank + 100 * step, SIZES[rank][step], DIM)


def _worker(rank: int, init_file: str, out_dir: str) -> None:
    torch.set_num_threads(1)
    timeout = datetime.timedelta(seconds=60)
    init = f"file://{init_file}"
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=2, timeout=timeout)
    try:
        q = EmbeddingQueue(K, DIM)
        for step in range(len(SIZES[rank])):
            q.enqueue(batch(rank, step))
        state = {"ordered": q.ordered().clone(), "ptr": q.ptr, "count": q.count}
        torch.save(state, os.path.join(out_dir, f"{rank}.pt"))
    finally:
        dist.destroy_process_group()


def test_distributed_enqueue_gathers_in_rank_order(tmp_path):
    mp.spawn(_worker, args=(str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    expected = EmbeddingQueue(K, DIM)  # one process enqueueing the concatenation, rank by rank
    for step in range(4):
        expected.enqueue(torch.cat([batch(0, step), batch(1, step)]))
    assert ids(expected) == [204, 1200, 1201, 1202, 1203, 1300, 1301]  # 9 rows at step 2, then 0 + 2
    for rank in (0, 1):
        got = torch.load(tmp_path / f"{rank}.pt")
        torch.testing.assert_close(got["ordered"], expected.ordered(), rtol=0, atol=0)
        assert int(got["ptr"]) == int(expected.ptr) and int(got["count"]) == K
