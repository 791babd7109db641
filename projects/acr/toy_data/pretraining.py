"""A pretrained initialisation for the toy ViT, made the way ImageNet weights are made.

ACR regularises the attention of a pretrained ViT during a short fine-tuning. The toy
recipe's stand-in for ImageNet pretraining: the same tiny ViT trained as a plain
multi-label classifier (image-level labels only) on a larger generated corpus whose
images are disjoint from the toy train and val images (another generator seed; checked
by content). The backbone weights are exported in timm's layout, to be loaded with
``model.backbone.checkpoint=PATH`` exactly as a user loads downloaded ImageNet weights.
"""
import hashlib
import os
import os.path as osp
import sys
from typing import Dict, Iterable, List, Optional, Sequence

import torch
from mmengine.logging import print_log

from ..utils.atomic_io import atomic_open
from ..utils.checkpoint_safe_globals import allow_mmengine_checkpoints
from ..utils.tool_runner import repo_root, run_process
from .generator import make_toy_dataset

DEFAULT_CONFIG = 'configs/pretrain/vit-tiny_toy-pretrain.py'
DEFAULT_OUT = 'work_dirs/toy_pretrain/vit-tiny_toy-pretrained.pth'


def _image_digests(root: str) -> Dict[str, str]:
    folder = osp.join(root, 'JPEGImages')
    if not osp.isdir(folder):
        raise FileNotFoundError(f'no JPEGImages folder in {root}')
    out = {}
    for name in sorted(os.listdir(folder)):
        with open(osp.join(folder, name), 'rb') as f:
            out[hashlib.sha1(f.read()).hexdigest()] = name
    return out


def check_disjoint(corpus_root: str, toy_roots: Iterable[str]) -> None:
    """Raises when an image of the corpus also occurs in one of the toy datasets.

    Args:
        corpus_root (str): The pretraining corpus (VOC layout).
        toy_roots (Iterable[str]): Datasets it must not overlap (train and val images).

    Raises:
        ValueError: Naming a shared image.
    """
    corpus = _image_digests(corpus_root)
    for root in toy_roots:
        shared = set(corpus) & set(_image_digests(root))
        if shared:
            digest = sorted(shared)[0]
            raise ValueError(f'{len(shared)} images of {corpus_root} also occur in {root} '
                             f'(e.g. {corpus[digest]}); use another corpus seed')


def export_backbone(checkpoint: str, out_path: str) -> int:
    """Writes the ViT weights of a classifier checkpoint in timm's layout.

    Args:
        checkpoint (str): An mmengine checkpoint of an :class:`ACRClassifier`.
        out_path (str): The backbone file (``.pth``), written atomically.

    Returns:
        int: Number of tensors written.
    """
    allow_mmengine_checkpoints()  # the few mmengine classes a checkpoint holds, no others
    state = torch.load(checkpoint, map_location='cpu', weights_only=True)
    state = state.get('state_dict', state)
    prefix = 'backbone.vit.'
    vit = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    if not vit:
        raise KeyError(f'{checkpoint} holds no "{prefix}*" weights: not a classifier '
                       'checkpoint of this project')
    os.makedirs(osp.dirname(osp.abspath(out_path)), exist_ok=True)
    with atomic_open(out_path, 'wb') as f:
        torch.save(vit, f)
    return len(vit)


def pretrain_toy_backbone(out_path: str = DEFAULT_OUT,
                          corpus_root: str = 'data/toy_pretrain',
                          num_images: int = 2000,
                          corpus_seed: int = 1,
                          toy_roots: Sequence[str] = ('data/toy', ),
                          config: str = DEFAULT_CONFIG,
                          work_dir: str = 'work_dirs/toy_pretrain',
                          cfg_options: Sequence[str] = (),
                          python: str = sys.executable,
                          cwd: Optional[str] = None,
                          force: bool = False) -> str:
    """Generates the corpus, trains the classifier on it and exports the backbone.

    Each step is skipped when its output exists (the corpus has a completion marker,
    the training its ``last_checkpoint``, the export its file), unless ``force``.

    Args:
        out_path (str): Where the backbone weights go.
        corpus_root (str): Where the corpus is generated.
        num_images (int): Images of the corpus.
        corpus_seed (int): Generator seed of the corpus; must differ from the toy
            dataset's (0 by default), which the content check enforces.
        toy_roots (Sequence[str]): Existing toy datasets the corpus must not overlap
            (missing ones are skipped).
        config (str): Training config (classification only, one view).
        work_dir (str): Work dir of the training.
        cfg_options (Sequence[str]): ``key=value`` overrides of the training.
        python (str): Interpreter of ``tools/train.py``.
        cwd (str, optional): Repository root (relative paths are resolved against it;
            default: the folder above the tools, ``$ACR_TOOLS_DIR`` honoured).
        force (bool): Redo the training and the export.

    Returns:
        str: ``out_path``.
    """
    cwd = cwd or repo_root()

    def here(path: str) -> str:
        return path if osp.isabs(path) else osp.join(cwd, path)

    if osp.isfile(here(out_path)) and not force:
        print_log(f'pretrained toy backbone exists: {out_path}', logger='current')
        return out_path
    make_toy_dataset(here(corpus_root), num_train=num_images, num_val=0, seed=corpus_seed)
    check_disjoint(here(corpus_root), [here(r) for r in toy_roots if osp.isdir(here(r))])
    last = osp.join(here(work_dir), 'last_checkpoint')
    if force or not osp.isfile(last):
        argv: List[str] = [python, 'tools/train.py', config, '--work-dir', here(work_dir),
                           '--cfg-options', f'train_dataloader.dataset.data_root={corpus_root}']
        argv += list(cfg_options)
        print_log('pretraining the toy backbone: ' + ' '.join(argv), logger='current')
        code, _ = run_process(argv, cwd=cwd)
        if code != 0 or not osp.isfile(last):
            raise RuntimeError(f'pretraining failed (exit code {code}); see the log under '
                               f'{work_dir}')
    with open(last, encoding='utf-8') as f:
        checkpoint = f.read().strip()
    count = export_backbone(checkpoint, here(out_path))
    print_log(f'wrote {count} backbone tensors to {out_path}', logger='current')
    return out_path
