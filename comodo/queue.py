"""The FIFO queue of teacher embeddings that COMODO's loss uses as extra keys.

A ring buffer (``embeddings`` (K, D), write pointer ``ptr``, fill ``count``: registered buffers, saved in
``state_dict``) for any K and batch size B. Under ``torch.distributed`` every rank enqueues all ranks'
rows in rank order, so the queues stay identical. Enqueue only while training, after the step's loss.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor, nn

from comodo.errors import check


class EmbeddingQueue(nn.Module):
    """FIFO queue of K teacher embeddings of dimension D; the oldest rows are evicted first.

    Args:
        size: K, the number of embeddings kept (> 0).
        dim: D, the embedding dimension (> 0).
    """

    def __init__(self, size: int, dim: int) -> None:
        super().__init__()
        check(isinstance(size, int) and size > 0, f"queue size must be a positive int, got {size!r}")
        check(isinstance(dim, int) and dim > 0, f"queue dim must be a positive int, got {dim!r}")
        self.size, self.dim = size, dim
        self.register_buffer("embeddings", torch.zeros(size, dim))  # (K, D)
        self.register_buffer("ptr", torch.zeros((), dtype=torch.long))  # next row to write
        self.register_buffer("count", torch.zeros((), dtype=torch.long))  # rows written, at most K

    @property
    def is_full(self) -> bool:
        """Whether all K rows hold embeddings."""
        return int(self.count) == self.size

    def _check_rows(self, z: Tensor, name: str) -> None:
        ok = isinstance(z, Tensor) and z.ndim == 2 and z.shape[1] == self.dim
        check(ok, f"{name} must have shape (B, {self.dim}), got {tuple(getattr(z, 'shape', ()))}")
        check(bool(torch.isfinite(z).all()), f"{name} contains NaN or inf")

    @torch.no_grad()
    def fill(self, emb: Tensor) -> None:
        """Reference initialisation: K teacher embeddings ``emb`` (K, D) fill the queue (ptr 0, count K).

        Under ``torch.distributed`` pass the same embeddings on every rank (e.g. chosen with a shared seed).
        """
        self._check_rows(emb, "fill embeddings")
        k = emb.shape[0]
        check(k == self.size, f"fill expects shape ({self.size}, {self.dim}), got ({k}, {self.dim})")
        self.embeddings.copy_(emb)
        self.ptr.zero_()
        self.count.fill_(self.size)

    @torch.no_grad()
    def enqueue(self, z: Tensor) -> None:
        """Append teacher embeddings ``z`` (B, D), evicting the oldest rows; gathers across ranks first.

        If the (gathered) batch has B >= K rows, only its newest K rows are kept. Call it only while
        training, after the step's loss. Under ``torch.distributed`` it is a collective: every rank must
        call it at every step (a rank with no rows passes a (0, D) tensor).
        """
        self._check_rows(z, "enqueued embeddings")
        z = _gather_all_ranks(z.detach().to(self.embeddings))  # (B_all, D)
        n, k = z.shape[0], self.size
        if n >= k:
            self.embeddings.copy_(z[n - k:])  # newest K rows, oldest first
            self.ptr.zero_()
        else:
            p = int(self.ptr)
            first = min(n, k - p)  # rows before the wrap
            self.embeddings[p:p + first] = z[:first]
            self.embeddings[: n - first] = z[first:]
            self.ptr.fill_((p + n) % k)
        self.count.fill_(min(int(self.count) + n, k))

    def keys(self) -> Tensor:
        """The valid rows (C, D), C = min(rows written, K), in storage order (the loss ignores order).

        A view of the buffer: use it before the next :meth:`enqueue`, as the training step does.
        """
        return self.embeddings[: int(self.count)]  # (C, D)

    def ordered(self) -> Tensor:
        """The valid rows (C, D), oldest first (for plots, teaching and tests); may share storage."""
        if not self.is_full:
            return self.embeddings[: int(self.count)]  # (C, D); rows were written from index 0
        p = int(self.ptr)
        return torch.cat([self.embeddings[p:], self.embeddings[:p]])  # (K, D)

    def extra_repr(self) -> str:
        return f"size={self.size}, dim={self.dim}"


def _gather_all_ranks(z: Tensor) -> Tensor:
    """All ranks' rows (sum B_r, D) in rank order; ``z`` (B, D) itself outside a multi-process group."""
    if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
        return z
    world = dist.get_world_size()
    n = torch.tensor([z.shape[0]], dtype=torch.long, device=z.device)  # (1,)
    sizes = [torch.zeros_like(n) for _ in range(world)]
    dist.all_gather(sizes, n)
    counts = [int(s) for s in sizes]
    padded = z.new_zeros(max(counts), z.shape[1])  # (B_max, D): all_gather needs equal shapes
    padded[: z.shape[0]] = z
    parts = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(parts, padded)
    return torch.cat([part[:c] for part, c in zip(parts, counts)])  # (sum B_r, D)
