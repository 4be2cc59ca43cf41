"""One torch intra-op thread for a block of work: small models on a shared CPU, reproducible bits.

The number of threads changes the order of floating-point sums, so everything whose bytes are cached
or compared (the embedded teacher, the study's runs) is computed under :func:`one_thread`.
"""

from __future__ import annotations

import contextlib
from typing import Iterator


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch with one intra-op thread inside the block; the previous count is restored after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
