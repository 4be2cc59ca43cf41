import os

import pytest

# Keep the tests' generated data away from the study's caches.
@pytest.fixture(autouse=True, scope="session")
def _isolated_data_root(tmp_path_factory):
    if "COMODO_DATA" not in os.environ:
        os.environ["COMODO_DATA"] = str(tmp_path_factory.mktemp("comodo-data"))
    yield
