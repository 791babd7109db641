"""The measured workloads: ACR's training step, one image's class maps, CAM evaluation.

Each builder returns a callable that performs one measured unit of work on prepared
inputs, so the timing covers the computation and nothing of the set-up.
"""
import copy
import logging
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

#: Sizes of PASCAL VOC images (height, width): most are 500 px on the long side.
VOC_IMAGE_SIZES = ((375, 500), (500, 375), (333, 500), (500, 333), (281, 500), (366, 500))


def build_model(cfg: Config, device: torch.device) -> torch.nn.Module:
    """The config's stage-1 model with random weights (nothing is downloaded).

    Args:
        cfg (Config): A stage-1 config (``model.type='ACRClassifier'``).
        device (torch.device): Where to put it.

    Returns:
        nn.Module: The model, in train mode.
    """
    # The package's import (this module's parent) registered the components.
    init_default_scope('mmseg')
    model_cfg = copy.deepcopy(cfg.model)
    # Speed does not depend on the weights: random ones need no download.
    model_cfg.backbone.pretrained = False
    model_cfg.backbone.checkpoint = None
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    # mmengine logs every parameter's initialisation (hundreds of lines for ViT-B), which
    # would bury the benchmark's progress lines.
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    return model.to(device).train()


def _uint8_image(shape: Sequence[int], gen: torch.Generator) -> torch.Tensor:
    return torch.randint(0, 256, tuple(shape), generator=gen, dtype=torch.uint8)


def _present_labels(num_classes: int, num_present: int) -> np.ndarray:
    if not 1 <= num_present <= num_classes:
        raise ValueError(f'classes per image must be in [1, {num_classes}], got {num_present}')
    labels = np.zeros(num_classes, dtype=np.float32)
    labels[np.linspace(0, num_classes - 1, num_present).round().astype(int)] = 1
    return labels


def train_step(model: torch.nn.Module,
               cfg: Config,
               img_size: int,
               batch: int,
               num_present: int,
               bf16: bool,
               lr: float = 1e-4) -> Callable[[], None]:
    """One stage-1 training step as the runner takes it (``model.train_step``).

    Each image is given as two views, the image and its mirror (``PairedViews``), so one
    step runs the backbone forward and backward over ``2 * batch`` crops, computes the
    classification and ACR losses and updates the weights with the config's optimizer.

    Args:
        model (nn.Module): The stage-1 model.
        cfg (Config): Its config (``optim_wrapper``).
        img_size (int): Crop size.
        batch (int): Images per step.
        num_present (int): Classes annotated per image.
        bf16 (bool): bf16 autocast (:class:`BF16OptimWrapper`, what ``--amp`` selects)
            instead of fp32.
        lr (float): Learning rate; small so that the weights stay finite over the
            repeats (the speed does not depend on it).

    Returns:
        Callable: One step per call.
    """
    wrapper_cfg = copy.deepcopy(cfg.optim_wrapper)
    wrapper_cfg.type = 'BF16OptimWrapper' if bf16 else 'OptimWrapper'
    wrapper_cfg.optimizer.lr = lr
    wrapper = build_optim_wrapper(model, wrapper_cfg)
    gen = torch.Generator().manual_seed(1)
    device = next(model.parameters()).device
    labels = _present_labels(model.head.num_classes, num_present)
    images = [_uint8_image((3, img_size, img_size), gen) for _ in range(batch)]
    inputs = [torch.stack([img, img.flip(-1)]).to(device) for img in images]

    def step() -> None:
        samples = []
        for _ in range(batch):
            sample = SegDataSample()
            sample.set_metainfo(dict(img_labels=labels, view_flip=True,
                                     img_shape=(img_size, img_size)))
            samples.append(sample)
        model.train()
        model.train_step(dict(inputs=inputs, data_samples=samples), wrapper)

    return step


def class_maps(model: torch.nn.Module,
               img_size: int,
               num_present: int,
               ori_shape: Tuple[int, int] = VOC_IMAGE_SIZES[0]) -> Callable[[], None]:
    """One image's class maps as the test loop makes them (``model.test_step``).

    With the config's ``test_cfg`` (the published one: flip, annotated classes, affinity
    refinement, upsampling with ``align_corners=True`` to the original size): the image
    resized to the crop (``ResizeImageOnly``), GETAM for each present class, the maps
    at ``ori_shape``, min-max normalised.

    Args:
        model (nn.Module): The stage-1 model.
        img_size (int): Network input size (the crop).
        num_present (int): Classes annotated in the image.
        ori_shape (tuple[int, int]): Original image size the maps are upsampled to.

    Returns:
        Callable: One image's maps per call.
    """
    gen = torch.Generator().manual_seed(2)
    device = next(model.parameters()).device
    image = _uint8_image((3, img_size, img_size), gen).to(device)
    labels = _present_labels(model.head.num_classes, num_present)

    def run() -> None:
        sample = SegDataSample()
        sample.set_metainfo(dict(img_labels=labels, img_shape=(img_size, img_size),
                                 ori_shape=tuple(ori_shape)))
        model.eval()
        with torch.no_grad():  # as mmengine's test loop; GETAM enables what it needs
            model.test_step(dict(inputs=[image], data_samples=[sample]))

    return run


def synthetic_cam_images(num_distinct: int,
                         num_classes: int,
                         seed: int = 0) -> List[Dict[str, np.ndarray]]:
    """VOC-like class-map files and masks: smooth float16 maps of 1-3 present classes.

    Args:
        num_distinct (int): Images to make.
        num_classes (int): Foreground classes ``C``.
        seed (int): Random seed.

    Returns:
        list[dict]: ``cams`` (K, H, W) float16 in [0, 1], ``class_ids`` (K,) counted
        from 0, ``gt`` (H, W) uint8 with 0 background, 1..C objects and 255 on a band
        around each object, as VOC's masks.
    """
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    images = []
    for i in range(num_distinct):
        h, w = VOC_IMAGE_SIZES[i % len(VOC_IMAGE_SIZES)]
        k = int(rng.integers(1, 4))
        class_ids = np.sort(rng.choice(num_classes, size=k, replace=False))
        coarse = torch.rand((1, k, 12, 16), generator=gen) ** 2
        cams = F.interpolate(coarse, size=(h, w), mode='bilinear', align_corners=False)[0]
        lo = cams.flatten(1).min(1).values[:, None, None]
        hi = cams.flatten(1).max(1).values[:, None, None]
        cams = ((cams - lo) / (hi - lo)).numpy().astype(np.float16)
        gt = np.zeros((h, w), dtype=np.uint8)
        yy, xx = np.mgrid[:h, :w]
        for c in class_ids:
            cy, cx = rng.uniform(0.2, 0.8) * h, rng.uniform(0.2, 0.8) * w
            ry, rx = rng.uniform(0.1, 0.3) * h, rng.uniform(0.1, 0.3) * w
            r = ((yy - cy) / ry)**2 + ((xx - cx) / rx)**2
            gt[(r >= 1.0) & (r < 1.15)] = 255
            gt[r < 1.0] = c + 1
        images.append(dict(cams=cams, class_ids=class_ids, gt=gt))
    return images


def cam_evaluation(num_images: int,
                   num_thresholds: int,
                   num_classes: int,
                   num_distinct: int = 64,
                   workers: Optional[int] = None) -> Callable[[], None]:
    """The one-pass background-threshold sweep over a split's class maps.

    What ``tools/eval_cam.py`` computes (:meth:`CAMFileEvaluator.sweep`: one histogram
    over every threshold per image, counted in worker processes, then the confusion matrix and
    mIoU of each threshold over the split), on maps held in memory: reading and
    decompressing the files is left out. ``num_distinct`` synthetic images are cycled
    through, so the data (several MB per image pair in the working set) do not fit in
    the caches either way.

    Args:
        num_images (int): Images in the split (1,464 for VOC train).
        num_thresholds (int): Thresholds 0, 1/T, ..., (T-1)/T.
        num_classes (int): Foreground classes.
        num_distinct (int): Distinct synthetic images.
        workers (int, optional): Processes, as ``tools/eval_cam.py --workers``; defaults
            to the CPUs available, at most 8.

    Returns:
        Callable: One whole-split evaluation per call.
    """
    from ..evaluation.background_thresholds import threshold_grid
    from ..evaluation.cam_file_evaluator import CAMFileEvaluator
    from ..evaluation.threshold_sweep import confusion_from_histogram, miou_from_confusion

    images = synthetic_cam_images(min(num_images, num_distinct), num_classes)
    names = ['background'] + [f'class_{i}' for i in range(num_classes)]
    evaluator = CAMFileEvaluator(names, thresholds=threshold_grid(num_thresholds, (0.0, 1.0)),
                                 fixed_threshold=None)

    def load(i: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray, str]:
        item = images[i % len(images)]
        return item['cams'], item['class_ids'], item['gt'], f'synthetic image {i}'

    def run() -> None:
        total = evaluator.sweep(load, range(num_images), workers=workers, progress=False)
        miou_from_confusion(confusion_from_histogram(total))

    return run


def timm_step(cfg: Config, device: torch.device, img_size: int, batch: int,
              num_present: int) -> Callable[[], None]:
    """The same timm network run plainly: fused attention, classification loss only.

    A reference for what the two views' forward and backward cost without recording
    the attention and without the ACR loss (no optimizer step).

    Args:
        cfg (Config): The stage-1 config whose backbone is copied.
        device (torch.device): Where to run.
        img_size (int): Crop size.
        batch (int): Images per step (two views each).
        num_present (int): Classes annotated per image.

    Returns:
        Callable: One forward and backward per call.
    """
    import timm
    backbone = cfg.model.backbone
    kwargs = dict(drop_path_rate=backbone.get('drop_path_rate', 0.0))
    kwargs.update(backbone.get('timm_kwargs') or {})
    num_classes = cfg.model.head.num_classes
    torch.manual_seed(0)
    plain = timm.create_model(backbone.arch, pretrained=False, num_classes=num_classes,
                              dynamic_img_size=True, **kwargs).to(device)
    gen = torch.Generator().manual_seed(3)
    x = torch.randn((batch, 3, img_size, img_size), generator=gen).to(device)
    views = torch.cat([x, x.flip(-1)])
    labels = torch.from_numpy(_present_labels(num_classes, num_present)).to(device)
    target = labels.expand(views.shape[0], -1)

    def run() -> None:
        plain.train()
        F.multilabel_soft_margin_loss(plain(views), target).backward()
        plain.zero_grad(set_to_none=True)

    return run
