import hashlib
import os
import os.path as osp
from typing import Callable, Dict, Iterator, Tuple

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


def _tree_digest(root: str) -> Dict[str, str]:
    """sha256 of every file under ``root``, by relative path."""
    digest = {}
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                digest[osp.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
    return digest


@pytest.fixture(scope='session')
def shared_toy_dataset(tmp_path_factory) -> Iterator[Callable[..., str]]:
    """Factory of toy datasets made once per session and distinct arguments.

    ``shared_toy_dataset(num_train=4, num_val=2, img_size=48, seed=0)`` returns the path of
    a toy tree (the arguments of :func:`make_toy_dataset`). Tests share the tree, so they
    must not write into it: a test that changes the data copies it first. At the end of the
    session every file the generator wrote is checked, and nothing may have been added to
    the image and mask folders (derived caches next to the image lists are allowed).
    """
    made: Dict[Tuple[int, int, int, int], Tuple[str, Dict[str, str]]] = {}

    def make(num_train: int = 600, num_val: int = 100, img_size: int = 96,
             seed: int = 0) -> str:
        key = (num_train, num_val, img_size, seed)
        if key not in made:
            from projects.acr.toy_data import make_toy_dataset
            base = tmp_path_factory.mktemp(f'toy_{num_train}_{num_val}_{img_size}px_seed{seed}')
            root = str(base / 'toy')
            make_toy_dataset(root, num_train=num_train, num_val=num_val, img_size=img_size,
                             seed=seed)
            made[key] = root, _tree_digest(root)
        return made[key][0]

    yield make
    for root, before in made.values():
        after = _tree_digest(root)
        changed = sorted(p for p, h in before.items() if after.get(p) != h)
        added = sorted(p for p in set(after) - set(before)
                       if p.startswith(('JPEGImages', 'SegmentationClassAug')))
        assert not changed and not added, (
            f'tests wrote into the shared toy dataset {root}: changed or removed {changed}, '
            f'added {added}; copy the tree before changing it')
