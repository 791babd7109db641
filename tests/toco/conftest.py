import os.path as osp
import sys

import pytest

# The references of the fidelity tests (toco_reference.py) are imported by name.
sys.path.insert(0, osp.dirname(__file__))


@pytest.fixture(autouse=True)
def _toco_registered():
    import projects.toco  # noqa: F401  (registers the ToCo components)
    yield
