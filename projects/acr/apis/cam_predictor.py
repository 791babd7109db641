"""One class-map prediction: the model's maps of one image, with the image they belong to.

:class:`CAMPredictor` is the single place where a class-map model is run on a packed item
(``inputs`` + ``data_samples``) and its output turned into a :class:`CAMPrediction`; the
split inferencer (:class:`CAMInferencer`), the any-image inferencer
(:class:`ImageCAMInferencer`) and the training hook (``CAMQualityHook``) all go through it,
so they select classes, override test settings and recover the picture the same way.

The maps of ``ACRClassifier`` are at the original image size (``ori_shape``) whatever the
test pipeline did to the input (``ResizeImageOnly`` squashes it to the crop size, in
float32), so the picture drawn under them is the original image: taken from the input when
the pipeline left it untouched, otherwise decoded again with the pipeline's own loader.
"""
import copy
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

import numpy as np
import torch
from mmcv.transforms import LoadImageFromFile
from mmengine.model import BaseModel
from mmseg.registry import TRANSFORMS

from ..datasets.transforms.load_checked_image import LoadCheckedImageFromFile

# The test settings of ``ACRClassifier`` that a caller may override per call.
TEST_SETTINGS = ('scales', 'flip', 'refine', 'use_gt_labels', 'score_thr', 'align_corners')
ImageLoader = Callable[[str], np.ndarray]


@dataclass
class CAMPrediction:
    """The class maps of one image.

    Attributes:
        image (np.ndarray, optional): uint8 (H, W, 3) RGB original image (before the test
            pipeline's resizing), the picture the maps belong to; None when not asked for.
        cams (np.ndarray): float32 (K, H, W) maps in [0, 1] of the K present classes, at
            the original image size.
        class_ids (np.ndarray): int64 (K,) foreground indices from 0 (mask value - 1).
        class_names (list[str]): The K class names.
        scores (np.ndarray): float32 (C,) classifier probabilities of every class.
        img_path (str, optional): Source file; None for an array input.
        img_labels (np.ndarray, optional): float32 (C,) image-level labels of the item.
        gt_mask (np.ndarray, optional): int64 (H, W) annotated mask when the pipeline
            loaded one.
    """

    image: Optional[np.ndarray]
    cams: np.ndarray
    class_ids: np.ndarray
    class_names: List[str]
    scores: np.ndarray
    img_path: Optional[str] = None
    img_labels: Optional[np.ndarray] = None
    gt_mask: Optional[np.ndarray] = None

    def dense_cams(self) -> np.ndarray:
        """float32 (C, H, W) maps of every class, zero for the classes not present."""
        dense = np.zeros((self.scores.shape[0], ) + self.cams.shape[1:], np.float32)
        dense[self.class_ids] = self.cams
        return dense


def present_class_ids(sample: Any, test_cfg: Dict[str, Any]) -> np.ndarray:
    """Foreground indices whose maps the model computed, as the model chose them.

    ``ACRClassifier`` maps the annotated classes (``use_gt_labels``) or those whose
    probability exceeds ``score_thr``; the maps of the other classes are zero and are not
    stored.

    Args:
        sample (SegDataSample): Prediction with ``img_labels`` and ``pred_scores`` (C,).
        test_cfg (dict): The model's test config.

    Returns:
        np.ndarray: int64 (K,) ascending.
    """
    if test_cfg.get('use_gt_labels', True):
        labels = np.asarray(sample.img_labels)
    else:
        scores = sample.pred_scores.detach().float().cpu().numpy()
        labels = scores > test_cfg.get('score_thr', 0.5)
    return np.flatnonzero(labels).astype(np.int64)


@contextmanager
def override_test_cfg(model: BaseModel, **overrides: Any) -> Iterator[Dict[str, Any]]:
    """Overrides the model's ``test_cfg`` entries for a block, restoring them afterwards.

    Args:
        model (BaseModel): Model with a ``test_cfg`` dict (e.g. ``ACRClassifier``).
        **overrides: New values of :data:`TEST_SETTINGS` keys; None leaves a key as is.

    Yields:
        dict: The model's test config in effect.

    Raises:
        KeyError: A key that is not a test setting (the message names it).
    """
    unknown = sorted(set(overrides) - set(TEST_SETTINGS))
    if unknown:
        raise KeyError(f'unknown test setting(s) {unknown}; the settings are {TEST_SETTINGS}')
    cfg = getattr(model, 'test_cfg', None)
    if cfg is None:
        raise AttributeError(f'{type(model).__name__} has no test_cfg to override')
    saved = copy.copy(cfg)
    cfg.update({k: v for k, v in overrides.items() if v is not None})
    try:
        yield cfg
    finally:
        cfg.clear()
        cfg.update(saved)


def is_image_loader(transform: Any) -> bool:
    """Whether a pipeline step (config dict or object) loads the image from its file."""
    kind = transform.get('type') if isinstance(transform, dict) else type(transform)
    kind = TRANSFORMS.get(kind) if isinstance(kind, str) else kind
    return isinstance(kind, type) and issubclass(kind,
                                                 (LoadImageFromFile, LoadCheckedImageFromFile))


def pipeline_image_loader(pipeline: Any) -> Optional[ImageLoader]:
    """The image loader of a pipeline as a function of the file path, or None.

    Args:
        pipeline (Sequence | Compose): Config dicts or built transforms (a ``Compose``'s
            ``transforms``).

    Returns:
        callable, optional: ``path -> uint8 (H, W, 3) BGR`` decoding exactly as the
        pipeline does (EXIF orientation, colour modes), or None without a loader.
    """
    steps = getattr(pipeline, 'transforms', pipeline) or []
    for step in steps:
        if is_image_loader(step):
            loader = TRANSFORMS.build(step) if isinstance(step, dict) else step
            return lambda path: loader(dict(img_path=path))['img']
    return None


def _as_image(img: Any) -> np.ndarray:
    img = img.detach().cpu().numpy() if hasattr(img, 'detach') else np.asarray(img)
    if img.ndim == 4:  # views (V, 3, H, W): the model predicts from the first
        img = img[0]
    return np.moveaxis(img, 0, -1)


class CAMPredictor:
    """Runs a class-map model on packed items and returns :class:`CAMPrediction` records.

    Args:
        model (BaseModel): Model whose ``test_step`` gives samples with ``pred_cams``
            (C, H, W) at the original image size and ``pred_scores`` (C,), e.g.
            ``ACRClassifier``; in eval mode.
        class_names (Sequence[str]): C + 1 class names, the background first.
        image_loader (callable, optional): ``path -> uint8 BGR`` decoder used to recover
            the original image when the pipeline changed the input (see
            :func:`pipeline_image_loader`).
    """

    def __init__(self, model: BaseModel, class_names: Sequence[str],
                 image_loader: Optional[ImageLoader] = None) -> None:
        self.model = model
        self.class_names = list(class_names)
        self.image_loader = image_loader

    @property
    def test_cfg(self) -> Dict[str, Any]:
        return dict(getattr(self.model, 'test_cfg', None) or {})

    def settings(self, **overrides: Any):
        """Overrides the model's test settings in a block; see :func:`override_test_cfg`."""
        return override_test_cfg(self.model, **overrides)

    def original_image(self, inputs: Any, sample: Any) -> np.ndarray:
        """uint8 (H, W, 3) RGB image at the size of the maps (``ori_shape``).

        The input itself when the pipeline kept the original pixels (uint8 at the original
        size), so the picture is what the model saw; else the image file decoded by the
        pipeline's loader.

        Raises:
            ValueError: The input was resized and no loader or path can recover the image.
        """
        ori_shape = tuple(sample.metainfo.get('ori_shape', ()))[:2]
        img = _as_image(inputs)
        rgb = getattr(self.model.data_preprocessor, 'bgr_to_rgb', True)
        untouched = img.dtype == np.uint8 and (not ori_shape or img.shape[:2] == ori_shape)
        if untouched:
            return np.ascontiguousarray(img[..., ::-1] if rgb else img)
        path = sample.metainfo.get('img_path')
        if self.image_loader is None or not path:
            raise ValueError(
                f'the test pipeline changed the image ({img.dtype} {img.shape[:2]}, original '
                f'{ori_shape}) and {"no image loader" if path else "no img_path"} is there '
                'to decode the original again')
        bgr = self.image_loader(path)
        if tuple(bgr.shape[:2]) != ori_shape:
            raise ValueError(f'{path}: decoded at {bgr.shape[:2]}, but the maps are at the '
                             f'original size {ori_shape}')
        return np.ascontiguousarray(bgr[..., ::-1] if rgb else bgr)

    def predict_batch(self, inputs: Sequence[Any], data_samples: Sequence[Any],
                      with_image: Any = True) -> List[CAMPrediction]:
        """Predictions of a batch (items of one size: padding would change the maps).

        Args:
            inputs (Sequence[Tensor]): (3, H, W) (or (V, 3, H, W)) per item.
            data_samples (Sequence[SegDataSample]): Their samples.
            with_image (bool | Sequence[bool]): Attach the original image (to all items,
                or per item).

        Returns:
            list[CAMPrediction]: One per item.
        """
        with torch.no_grad():  # GETAM turns gradients on where it needs them
            samples = self.model.test_step(dict(inputs=list(inputs),
                                                data_samples=list(data_samples)))
        wanted = ([bool(with_image)] * len(samples) if isinstance(with_image, bool)
                  else list(with_image))
        cfg = self.test_cfg
        out = []
        for raw, sample, want in zip(inputs, samples, wanted):
            if 'pred_cams' not in sample or 'pred_scores' not in sample:
                raise KeyError(f'{type(self.model).__name__}.test_step returned no pred_cams '
                               '/ pred_scores: not a class-map model')
            class_ids = present_class_ids(sample, cfg)
            cams = sample.pred_cams.detach()[torch.from_numpy(class_ids)].float().cpu().numpy()
            gt = getattr(sample, 'gt_sem_seg', None)
            gt = None if gt is None else gt.data[0].cpu().numpy().astype(np.int64)
            labels = sample.get('img_labels')
            out.append(CAMPrediction(
                image=self.original_image(raw, sample) if want else None,
                cams=cams,
                class_ids=class_ids,
                class_names=[self.class_names[i + 1] for i in class_ids],
                scores=sample.pred_scores.detach().float().cpu().numpy(),
                img_path=sample.metainfo.get('img_path'),
                img_labels=None if labels is None else np.asarray(labels, np.float32),
                gt_mask=gt))
        return out

    def predict(self, data: Dict[str, Any], with_image: bool = True) -> CAMPrediction:
        """Prediction of one packed item (``inputs`` (3, H, W), ``data_samples``)."""
        return self.predict_batch([data['inputs']], [data['data_samples']], with_image)[0]
