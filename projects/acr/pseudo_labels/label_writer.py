"""Pseudo-label files: one palette PNG per image, made from its class-map file.

PNGs are written like VOC's ``SegmentationClass``: PIL mode ``'P'`` whose pixel values are
the class ids (255 = ignore) and whose palette is the VOC colour map, so that viewers show
colours while mmseg's ``LoadAnnotations`` reads the ids. Each file is written to a temporary
name and renamed when complete (:mod:`projects.acr.utils.atomic_io`).
"""
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from ..datasets.transforms.load_checked_image import decode_image_bgr
from ..datasets.voc_cls import voc_palette
from ..utils.atomic_io import atomic_open
from .cam_io import load_cams
from .pseudo_label_generator import PseudoLabelGenerator


def flat_palette(palette: Optional[Sequence[Sequence[int]]] = None) -> List[int]:
    """A palette as PIL wants it: 768 ints (256 RGB triples), VOC's by default."""
    if palette is None:
        palette = voc_palette(256)
    flat = [int(v) for rgb in palette for v in rgb]
    if len(flat) % 3 or not 0 < len(flat) <= 768:
        raise ValueError(f'palette must hold 1..256 RGB triples, got {len(flat)} values')
    return flat + [0] * (768 - len(flat))


def save_label_png(path: str, label: np.ndarray,
                   palette: Optional[Sequence[Sequence[int]]] = None) -> None:
    """Writes a label map as a palette PNG, atomically.

    Args:
        path (str): Output ``.png`` path; parent directories are created.
        label (np.ndarray): (H, W) class ids in 0..255.
        palette (Sequence[Sequence[int]], optional): RGB triples; VOC's by default.
    """
    label = np.asarray(label)
    if label.ndim != 2:
        raise ValueError(f'{path}: label map must have shape (H, W), got {label.shape}')
    if label.size and (label.min() < 0 or label.max() > 255):
        raise ValueError(f'{path}: label values must be in 0..255, got '
                         f'{label.min()}..{label.max()}')
    img = Image.fromarray(np.ascontiguousarray(label, dtype=np.uint8))
    img.putpalette(flat_palette(palette))  # turns the 'L' image into 'P', values kept
    with atomic_open(path, 'wb') as f:
        img.save(f, format='PNG')


def image_size(path: str) -> Tuple[int, int]:
    """(H, W) of an image file, read from its header only."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'image missing: {path}')
    with Image.open(path) as img:
        return img.height, img.width


def read_rgb(path: str) -> np.ndarray:
    """An image file as uint8 RGB (H, W, 3), decoded as the models saw it.

    The same decoder as ``LoadCheckedImageFromFile`` (transparency on white, no EXIF
    rotation), so the CRF sees the pixels the class maps were computed on.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'image missing: {path}')
    with open(path, 'rb') as f:
        return np.ascontiguousarray(decode_image_bgr(f.read(), path)[..., ::-1])


class PseudoLabelWriter:
    """Makes and writes the pseudo label of one image; picklable for worker processes.

    Args:
        generator (PseudoLabelGenerator): How labels are made.
        palette (Sequence[Sequence[int]], optional): PNG palette; VOC's by default.
    """

    def __init__(self, generator: PseudoLabelGenerator,
                 palette: Optional[Sequence[Sequence[int]]] = None) -> None:
        self.generator = generator
        self.palette = [list(rgb) for rgb in (palette or voc_palette(256))]
        flat_palette(self.palette)  # validates

    def make(self, cam_file: str, img_file: str) -> np.ndarray:
        """The pseudo label of one image.

        Args:
            cam_file (str): Its class-map ``.npz`` (:func:`load_cams` format).
            img_file (str): Its image, read for the size check and the CRF.

        Returns:
            np.ndarray: uint8 (H, W) pseudo label.

        Raises:
            FileNotFoundError: A file is missing.
            ValueError: The maps are unreadable or their size differs from the image's.
        """
        data = load_cams(cam_file)
        cams, class_ids = data['cams'], data['class_ids']
        if cams.ndim != 3:
            raise ValueError(f'{cam_file}: "cams" must have shape (K, H, W), got {cams.shape}')
        if self.generator.crf is not None:
            image = read_rgb(img_file)
            size = image.shape[:2]
        else:
            image, size = None, image_size(img_file)
        if tuple(size) != tuple(cams.shape[1:]):
            raise ValueError(f'size mismatch: class maps {cam_file} are {cams.shape[1]}x'
                             f'{cams.shape[2]} (HxW) but image {img_file} is {size[0]}x'
                             f'{size[1]}; the maps must be at the original image size')
        try:
            return self.generator(cams, class_ids, image)
        except ValueError as err:
            raise ValueError(f'{cam_file}: {err}') from err

    def __call__(self, job: Tuple[str, str, str]) -> str:
        """Writes one PNG.

        Args:
            job (tuple[str, str, str]): ``(cam_file, img_file, out_file)``.

        Returns:
            str: ``out_file``.
        """
        cam_file, img_file, out_file = job
        save_label_png(out_file, self.make(cam_file, img_file), self.palette)
        return out_file
