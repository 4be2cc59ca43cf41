import os
import shutil

import pytest

# Keep the tests' generated data (worlds, teachers, caches) away from the study's caches. Under pytest-xdist
# (``make test`` runs two workers) the controller sets it before the workers start, so they share it; the
# process that made the folder removes it at the end.
_MADE_DATA = None
if "COMODO_DATA" not in os.environ:
    import tempfile

    _MADE_DATA = os.environ["COMODO_DATA"] = tempfile.mkdtemp(prefix="comodo-test-data-")

# The longest test files first, so that with two workers (``make test``: ``--dist loadfile``) neither waits
# alone for one of them at the end; the browser test last, when the quick world, teacher and runs it drives
# the notebooks on are built (by the notebooks' test, on the other worker); the rest keep pytest's order.
FIRST = ("tests/test_notebooks.py", "tests/train/test_layouts_end_to_end.py", "tests/egodistill/test_train.py",
         "tests/egodistill/test_teacher.py")
LAST = ("tests/test_jupyterlab.py",)


def pytest_collection_modifyitems(config, items):
    def rank(item):
        path = os.path.relpath(str(item.path), str(config.rootpath)).replace(os.sep, "/")
        if path in FIRST:
            return FIRST.index(path)
        return len(FIRST) + 1 if path in LAST else len(FIRST)

    items.sort(key=rank)  # stable: the order within a file and among the rest is kept


@pytest.fixture(autouse=True)
def _seeded_rngs():
    """Each test starts from the same global random state, whatever ran before it in its worker process:
    a test's ``torch.randn`` draws do not depend on pytest-xdist's distribution of the tests."""
    import random

    import numpy as np
    import torch

    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


def pytest_unconfigure(config):
    if _MADE_DATA and not hasattr(config, "workerinput"):  # the controller (or a plain run), not a worker
        shutil.rmtree(_MADE_DATA, ignore_errors=True)


@pytest.fixture(scope="session")
def quick_world():
    """``quick_world(domain)`` → folder of that domain of the quick world (generated once, for all workers)."""
    from filelock import FileLock

    from comodo.world.generate import generate

    cache: dict[str, object] = {}

    def get(domain: str):
        if domain not in cache:
            with FileLock(os.path.join(os.environ["COMODO_DATA"], f".quick-world-{domain}.lock")):
                cache[domain] = generate(domain, "quick", seed=0, verbose=False)
        return cache[domain]

    return get
