import pytest


@pytest.fixture(autouse=True)
def _toco_registered():
    import projects.toco  # noqa: F401  (registers the ToCo components)
    yield
