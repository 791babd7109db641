"""The published configs, made trees in the real VOC / COCO layout, and reduced copies.

A reduced copy is the published config as it resolves, with only what does not change
which code runs made smaller: the data root (a made tree), image counts, iterations and
epochs, workers, and the crop / resize sizes (384 -> 96, 448 / 512 -> 64). Pipelines,
``test_cfg``, hooks, model classes and architectures stay the published ones; weights are
random (no download).
"""
import glob
import os
import os.path as osp
import shutil
import subprocess
import sys
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.config import Config
from PIL import Image

from projects.acr.toy_data import make_toy_dataset

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FAMILIES = ('acr', 'affinity', 'seg', 'toco')
# Sizes of the published pipelines and preprocessors, by the key that holds them.
SIZE_KEYS = ('crop_size', 'scale', 'size', 'local_crop_size')
SMALL_SIZES = {(384, 384): (96, 96), (448, 448): (64, 64), (512, 512): (64, 64),
               (2048, 512): (256, 64), (768, 768): (112, 112)}
# Square sizes given as one number (ToCo's views and local crops).
SMALL_SIDES = {448: 64, 96: 32}
IMG_SIZE = 80


def published_configs() -> List[str]:
    """Every config a user runs: ``configs/{acr,affinity,seg}/*.py``, repository-relative."""
    return sorted(osp.relpath(p, REPO) for family in FAMILIES
                  for p in glob.glob(osp.join(REPO, 'configs', family, '*.py')))


def family_of(config: str) -> str:
    return osp.basename(osp.dirname(config))


def data_of(config: str) -> str:
    """``'voc'``, ``'coco'`` or ``'toy'`` from the file name's data part."""
    stem = osp.splitext(osp.basename(config))[0]
    for data in ('coco', 'voc', 'toy'):
        if f'_{data}' in stem:
            return data
    raise ValueError(f'{config}: no data set in its name')


def make_voc_tree(root: str, num_train: int = 4, num_val: int = 2) -> str:
    """A VOC 2012 tree (``JPEGImages/``, ``SegmentationClassAug/``, ``ImageSets/Segmentation/``
    with ``train_aug``, ``train`` and ``val``) of toy images, two of them not square."""
    make_toy_dataset(root, num_train=num_train, num_val=num_val, img_size=IMG_SIZE, seed=0)
    for img_id in ('toy_train_000001', 'toy_val_000000'):
        # 80 x 64 (H x W): a picture of another aspect, as most VOC photos are.
        for folder, ext in (('JPEGImages', '.jpg'), ('SegmentationClassAug', '.png')):
            path = osp.join(root, folder, img_id + ext)
            img = Image.open(path)
            cropped = img.crop((0, 0, IMG_SIZE - 16, IMG_SIZE))
            cropped.save(path, **({'quality': 95} if ext == '.jpg' else {}))
    lists = osp.join(root, 'ImageSets', 'Segmentation')
    with open(osp.join(lists, 'train_aug.txt')) as f:
        train = f.read().split()
    # VOC train (scored in stage 1) is a part of train_aug: here the one image that is not
    # square, so that every tool that scores or draws it meets another aspect.
    with open(osp.join(lists, 'train.txt'), 'w') as f:
        f.write(train[1] + '\n')
    return root


def make_coco_tree(voc_root: str, root: str) -> str:
    """The same images in the COCO 2014 tree of ``COCOClsDataset`` and the stage-2 configs.

    ``coco2014/{train,val}2014/COCO_<split>2014_<12 digits>.jpg``,
    ``SegmentationClass/{train,val}2014/*.png`` and ``ImageSets/{train,val}.txt``.
    """
    lists = osp.join(voc_root, 'ImageSets', 'Segmentation')
    for split, voc_list in (('train', 'train_aug.txt'), ('val', 'val.txt')):
        with open(osp.join(lists, voc_list)) as f:
            ids = f.read().split()
        names = [f'COCO_{split}2014_{i + 1:012d}' for i in range(len(ids))]
        img_dir = osp.join(root, 'coco2014', f'{split}2014')
        mask_dir = osp.join(root, 'SegmentationClass', f'{split}2014')
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(mask_dir, exist_ok=True)
        for voc_id, name in zip(ids, names):
            shutil.copy(osp.join(voc_root, 'JPEGImages', voc_id + '.jpg'),
                        osp.join(img_dir, name + '.jpg'))
            shutil.copy(osp.join(voc_root, 'SegmentationClassAug', voc_id + '.png'),
                        osp.join(mask_dir, name + '.png'))
        os.makedirs(osp.join(root, 'ImageSets'), exist_ok=True)
        with open(osp.join(root, 'ImageSets', f'{split}.txt'), 'w') as f:
            f.write('\n'.join(names) + '\n')
    return root


def copy_masks_as_labels(mask_dir: str, out_dir: str) -> str:
    """Training labels in a folder of their own (the datasets refuse the mask folder)."""
    os.makedirs(out_dir, exist_ok=True)
    for path in glob.glob(osp.join(mask_dir, '*.png')):
        label = np.array(Image.open(path))
        Image.fromarray(label).save(osp.join(out_dir, osp.basename(path)))
    return out_dir


def shrink_sizes(node):
    """The config with the published crop and resize sizes replaced by small ones."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in SIZE_KEYS and isinstance(value, (tuple, list)) and \
                    tuple(value) in SMALL_SIZES:
                value = type(value)(SMALL_SIZES[tuple(value)])
            elif key in SIZE_KEYS and isinstance(value, int) and value in SMALL_SIDES:
                value = SMALL_SIDES[value]
            out[key] = shrink_sizes(value)
        return out
    if isinstance(node, (list, tuple)):
        return type(node)(shrink_sizes(v) for v in node)
    return node


def _loaders(cfg: Dict) -> List[str]:
    return [k for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')
            if isinstance(cfg.get(k), dict)]


def reduced_config(config: str, out_root: str, data_root: str,
                   label_dir: Optional[str] = None, shrink: bool = True,
                   num_train: int = 2, num_val: int = 2, iters: int = 2,
                   overrides: Optional[Dict] = None) -> str:
    """Writes the reduced copy of a published config; returns its path.

    The copy keeps the file name and family folder (``<out_root>/configs/<family>/``), so
    what tools infer from names (the AffinityNet config of a ``*_voc.py``) still holds.

    Args:
        config (str): Repository-relative path of the published config.
        out_root (str): Where the copy goes.
        data_root (str): The made tree.
        label_dir (str, optional): Training labels of stage 2 / AffinityNet.
        shrink (bool): Replace the crop and resize sizes by small ones.
        num_train (int): Training images (stage 1: steps of its one epoch).
        num_val (int): Validation images.
        iters (int): Iterations of iteration-based trainings.
        overrides (dict, optional): More ``--cfg-options`` style keys.
    """
    cfg = Config.fromfile(osp.join(REPO, config))
    family = family_of(config)
    raw = cfg.to_dict()
    if shrink:
        raw = shrink_sizes(raw)
    for key in _loaders(raw):
        loader = raw[key]
        loader.update(num_workers=0, persistent_workers=False)
        loader['dataset']['data_root'] = data_root
    train = raw['train_dataloader']['dataset']
    model = raw['model']
    if family == 'acr':
        model['backbone']['pretrained'] = False
        train['indices'] = num_train
        raw['train_cfg']['max_epochs'] = 1
        for key in ('val_dataloader', 'test_dataloader'):
            raw[key]['dataset']['indices'] = num_val
        for hook in raw.get('custom_hooks') or []:
            if hook.get('type') == 'CAMQualityHook':
                hook.update(num_images=num_val, interval=1)
    elif family == 'affinity':
        model['backbone']['init_cfg'] = None
        train['indices'] = 2 * num_train
        train['label_dir'] = label_dir
        raw['train_dataloader']['batch_size'] = 2
        raw['train_cfg']['max_epochs'] = 1
    elif family == 'toco':
        model['backbone']['pretrained'] = False
        train['indices'] = 2 * num_train
        raw['train_dataloader']['batch_size'] = 2
        # Every stage of ToCo's schedule gets an iteration (stage k from iteration k), so
        # the losses of the later stages (segmentation, energy) run too.
        stages = model.get('train_cfg', {}).get('stages') or [{}]
        for k, stage in enumerate(stages):
            stage['begin'] = k
        iters = max(iters, len(stages))
        raw['train_cfg'].update(max_iters=iters, val_interval=iters)
        raw['default_hooks']['checkpoint']['interval'] = iters
        for key in ('val_dataloader', 'test_dataloader'):
            raw[key]['dataset']['indices'] = num_val
    else:
        if model.get('pretrained'):
            model['pretrained'] = None
        model['backbone']['init_cfg'] = None
        train['indices'] = 2 * num_train
        train['pseudo_label_dir'] = label_dir
        raw['train_dataloader']['batch_size'] = 2
        raw['train_cfg'].update(max_iters=iters, val_interval=iters)
        raw['default_hooks']['checkpoint']['interval'] = iters
        for key in ('val_dataloader', 'test_dataloader'):
            raw[key]['dataset']['indices'] = num_val
    raw['default_hooks']['logger']['interval'] = 1
    reduced = Config(raw)
    if overrides:
        reduced.merge_from_dict(overrides)
    out = osp.join(out_root, 'configs', family, osp.basename(config))
    os.makedirs(osp.dirname(out), exist_ok=True)
    reduced.dump(out)
    return out


def run_tool(tool: str, args: Sequence[str], cwd: str, timeout: int = 840,
             env: Optional[Dict[str, str]] = None) -> str:
    """Runs ``tools/<tool>`` as a user would; returns its output, fails with its tail."""
    run_env = dict(os.environ, **dict(dict(WANDB_MODE='offline'), **(env or {})))
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', tool), *args], cwd=cwd,
                          env=run_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f'tools/{tool} {" ".join(args)} exited with {proc.returncode}:\n'
                             f'{proc.stdout[-6000:]}')
    return proc.stdout
