import os

import pytest

# Keep the tests' generated data (worlds, teachers, caches) away from the study's caches.
if "COMODO_DATA" not in os.environ:
    import tempfile

    os.environ["COMODO_DATA"] = tempfile.mkdtemp(prefix="comodo-test-data-")


@pytest.fixture(scope="session")
def quick_world():
    """``quick_world(domain)`` → folder of that domain of the quick world (generated once per session)."""
    from comodo.world.generate import generate

    cache: dict[str, object] = {}

    def get(domain: str):
        if domain not in cache:
            cache[domain] = generate(domain, "quick", seed=0, verbose=False)
        return cache[domain]

    return get
