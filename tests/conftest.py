import os

import pytest
import torch

# W&B must never try the network from tests.
os.environ.setdefault('WANDB_MODE', 'offline')
# Tiny tensors run fastest on few threads; OMP_NUM_THREADS overrides.
torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS') or min(2, os.cpu_count() or 1)))


@pytest.fixture(autouse=True)
def _mmseg_scope():
    from mmengine.registry import init_default_scope

    import projects.acr  # noqa: F401  (registers the components)
    init_default_scope('mmseg')
    yield
