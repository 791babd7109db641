"""Class maps of any image in one call: image files, folders or arrays, no dataset needed.

:class:`ImageCAMInferencer` is to a single picture what :class:`CAMInferencer` is to a
dataset split. It builds the model of a config from a trained checkpoint, runs the
config's test pipeline (``test_dataloader.dataset.pipeline`` without the mask loader) and
the model's test-time settings (``model.test_cfg``: scales, flip, affinity refinement),
and returns the GETAM maps of the classes that are present: the classes named by the
caller, or, without names, those the classifier scores above a threshold.

Example:
    >>> inferencer = ImageCAMInferencer('configs/acr/vit-tiny_toy.py', 'epoch_12.pth')
    >>> pred = inferencer('dog.jpg')[0]                  # predicted classes
    >>> pred = inferencer('dog.jpg', classes=['dog'])[0]  # given classes
    >>> picture = inferencer.visualize(pred)             # uint8 (H, W, 3) RGB
"""
import copy
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.model import BaseModel
from mmseg.registry import DATASETS, TRANSFORMS
from tqdm import tqdm

from ..datasets.split_dataset import is_mask_loader, test_dataset_cfg
from ..datasets.transforms.load_checked_image import decode_image_bgr
from ..datasets.voc_cls import voc_palette
from ..utils.atomic_io import atomic_save_npz
from ..visualization.cam_overlay import OVERLAY_MODES, render_cam_overlay, save_overlay
from .cam_predictor import CAMPrediction, CAMPredictor, is_image_loader
from .model_init import init_cam_model

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')
ImageInput = Union[str, np.ndarray]


def list_images(path: str) -> List[str]:
    """Image files of a folder (sorted, by suffix), or ``[path]`` for a file.

    Raises:
        FileNotFoundError: ``path`` does not exist, or the folder holds no image.
    """
    if osp.isdir(path):
        files = sorted(osp.join(path, n) for n in os.listdir(path)
                       if n.lower().endswith(IMAGE_SUFFIXES) and osp.isfile(osp.join(path, n)))
        if not files:
            raise FileNotFoundError(f'no image files ({", ".join(IMAGE_SUFFIXES)}) in {path}')
        return files
    if not osp.isfile(path):
        raise FileNotFoundError(f'image not found: {path}')
    return [path]


class ImageCAMInferencer:
    """GETAM class maps of arbitrary images with a config's test-time settings.

    The image is decoded here (like ``LoadCheckedImageFromFile``: any colour mode becomes
    3-channel, transparency on white) and handed to the config's test pipeline without
    its image and mask loaders, so files and in-memory arrays go the same way.

    Args:
        config (str | Config): Config of the class-map model, with ``model`` and a test
            (or validation) dataset whose class names and pipeline are used.
        checkpoint (str): Trained checkpoint of that model; loaded strictly, so the
            checkpoint of another model (other number of classes, other depth) is an
            error naming the keys that differ.
        device (str | torch.device): Where the model runs. Defaults to ``'cpu'``.
        cfg_options (dict, optional): Config overrides (``--cfg-options`` style keys).
        score_thr (float, optional): Default probability above which a class counts as
            present when no classes are given; ``model.test_cfg.score_thr`` by default.
    """

    def __init__(self,
                 config: Union[str, Config],
                 checkpoint: str,
                 device: Union[str, torch.device] = 'cpu',
                 cfg_options: Optional[Dict[str, Any]] = None,
                 score_thr: Optional[float] = None) -> None:
        if isinstance(config, str):
            if not osp.isfile(config):
                raise FileNotFoundError(f'config not found: {config}')
            config = Config.fromfile(config)
        else:
            config = copy.deepcopy(config)
        if cfg_options:
            config.merge_from_dict(cfg_options)
        self.cfg = config
        self.model: BaseModel = init_cam_model(config, checkpoint, device)
        dataset_cfg = test_dataset_cfg(config)
        self.class_names, self.palette = self._metainfo(dataset_cfg)
        num_classes = getattr(getattr(self.model, 'head', None), 'num_classes', None)
        if num_classes is not None and num_classes != len(self.class_names) - 1:
            raise ValueError(f'the model of the config maps {num_classes} classes but its test '
                             f'dataset ({dataset_cfg.get("type")}) names '
                             f'{len(self.class_names) - 1} (besides the background)')
        pipeline = [t for t in dataset_cfg.get('pipeline', [])
                    if not is_mask_loader(t) and not is_image_loader(t)]
        self.pipeline = [TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline]
        loaders = [t for t in dataset_cfg.get('pipeline', []) if is_image_loader(t)]
        loader = loaders[0] if loaders and isinstance(loaders[0], dict) else {}
        self._decode_kwargs = dict(exif_orientation=loader.get('exif_orientation', False),
                                   alpha_background=loader.get('alpha_background', 255))
        test_cfg = dict(getattr(self.model, 'test_cfg', None) or {})
        self.score_thr = float(test_cfg.get('score_thr', 0.5) if score_thr is None
                               else score_thr)
        # The image is decoded here and attached to the prediction, so no loader is needed.
        self.predictor = CAMPredictor(self.model, self.class_names)

    @staticmethod
    def _metainfo(dataset_cfg: Dict[str, Any]):
        kind = dataset_cfg.get('type')
        cls = DATASETS.get(kind) if isinstance(kind, str) else kind
        meta = dict(getattr(cls, 'METAINFO', None) or {})
        meta.update(dataset_cfg.get('metainfo') or {})
        if not meta.get('classes'):
            raise KeyError(f'the test dataset of the config ({kind}) names no classes '
                           '(METAINFO or metainfo.classes)')
        names = [str(c) for c in meta['classes']]
        palette = meta.get('palette') or voc_palette(len(names))
        return names, [list(rgb) for rgb in palette]

    def class_ids_of(self, classes: Sequence[str]) -> np.ndarray:
        """Foreground indices (from 0) of class names.

        Raises:
            ValueError: A name is not a foreground class of the config, or repeated.
        """
        known = self.class_names[1:]
        unknown = [c for c in classes if c not in known]
        if unknown:
            raise ValueError(f'unknown class name(s) {unknown}; the classes of this model are: '
                             f'{", ".join(known)}')
        if len(set(classes)) != len(classes):
            raise ValueError(f'class names repeated: {list(classes)}')
        return np.array(sorted(known.index(c) for c in classes), dtype=np.int64)

    def read_image(self, path: str) -> np.ndarray:
        """uint8 (H, W, 3) BGR pixels of an image file.

        Raises:
            FileNotFoundError: The file does not exist.
            OSError: The file is not a readable image (the message names it).
        """
        if not osp.isfile(path):
            raise FileNotFoundError(f'image not found: {path}')
        with open(path, 'rb') as f:
            data = f.read()
        try:
            return decode_image_bgr(data, path, **self._decode_kwargs)
        except ValueError as err:  # pixel modes without an RGB meaning
            raise OSError(str(err)) from err

    def predict(self,
                image: ImageInput,
                classes: Optional[Sequence[str]] = None,
                score_thr: Optional[float] = None) -> CAMPrediction:
        """Class maps of one image.

        Args:
            image (str | np.ndarray): Image file, or uint8 (H, W, 3) BGR array (the
                channel order of OpenCV and of the loaders).
            classes (Sequence[str], optional): Names of the classes to map; None maps
                the classes whose probability exceeds ``score_thr``.
            score_thr (float, optional): Overrides the inferencer's threshold.

        Returns:
            CAMPrediction: Maps at the image size.
        """
        path = image if isinstance(image, str) else None
        bgr = self.read_image(image) if path else np.asarray(image)
        if bgr.ndim != 3 or bgr.shape[2] != 3 or bgr.dtype != np.uint8:
            raise ValueError(f'image arrays must be uint8 (H, W, 3) BGR, got {bgr.dtype} '
                             f'{bgr.shape}')
        labels = np.zeros(len(self.class_names) - 1, dtype=np.float32)
        if classes is not None:
            labels[self.class_ids_of(list(classes))] = 1
        results = dict(img=bgr, img_shape=bgr.shape[:2], ori_shape=bgr.shape[:2],
                       img_labels=labels, img_path=path or '<array>',
                       img_id=osp.splitext(osp.basename(path))[0] if path else 'array')
        for transform in self.pipeline:
            results = transform(results)
            if results is None:
                raise RuntimeError(f'{path or "image array"}: the test pipeline dropped the '
                                   f'image at {type(transform).__name__}')
        thr = self.score_thr if score_thr is None else float(score_thr)
        with self.predictor.settings(use_gt_labels=classes is not None, score_thr=thr):
            pred = self.predictor.predict(results, with_image=False)
        pred.image = np.ascontiguousarray(bgr[..., ::-1])
        pred.img_path = path
        return pred

    def __call__(self,
                 inputs: Union[ImageInput, Sequence[ImageInput]],
                 classes: Optional[Sequence[str]] = None,
                 score_thr: Optional[float] = None,
                 progress: bool = True) -> List[CAMPrediction]:
        """Class maps of an image, of every image of a folder, or of a list of them.

        Args:
            inputs (str | np.ndarray | Sequence): Image file, folder of images, BGR
                array, or a list of files and arrays.
            classes (Sequence[str], optional): See :meth:`predict`; the same for all.
            score_thr (float, optional): See :meth:`predict`.
            progress (bool): Show a progress bar over the images.

        Returns:
            list[CAMPrediction]: One per image, in input (folder: file name) order.
        """
        if isinstance(inputs, (str, np.ndarray)):
            inputs = [inputs]
        images: List[ImageInput] = []
        for item in inputs:
            images += list_images(item) if isinstance(item, str) else [item]
        if classes is not None:
            self.class_ids_of(list(classes))  # a wrong name fails before any work
        bar = tqdm(images, desc='class maps', unit='img', disable=not progress or len(images) < 2,
                   dynamic_ncols=True)
        return [self.predict(img, classes, score_thr) for img in bar]

    def visualize(self, pred: CAMPrediction, mode: str = 'argmax') -> np.ndarray:
        """The overlay picture of a prediction (:func:`render_cam_overlay`).

        Returns:
            np.ndarray: uint8 RGB, (H, W, 3) in ``argmax`` mode, (H, (K + 1) W, 3) in
            ``heatmap`` mode.
        """
        if mode not in OVERLAY_MODES:
            raise ValueError(f'overlay mode must be one of {OVERLAY_MODES}, got {mode!r}')
        return render_cam_overlay(pred.image, pred.cams, pred.class_ids, self.palette,
                                  self.class_names, mode)

    def save(self,
             pred: CAMPrediction,
             out: Optional[str] = None,
             out_maps: Optional[str] = None,
             mode: str = 'argmax') -> None:
        """Writes the overlay PNG and/or the maps of a prediction, atomically.

        The maps file has the keys of the class-map files (``cams`` float16 (K, H, W),
        ``class_ids``, ``scores``; see :mod:`projects.acr.pseudo_labels.cam_io`) plus
        ``class_names`` (K,).
        """
        if out:
            save_overlay(out, self.visualize(pred, mode))
        if out_maps:
            atomic_save_npz(out_maps, cams=pred.cams.astype(np.float16),
                            class_ids=pred.class_ids, scores=pred.scores,
                            class_names=np.array(pred.class_names, dtype=str))
