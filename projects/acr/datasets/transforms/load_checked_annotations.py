# Copyright (c) ACR-WSSS contributors. All rights reserved.
"""Mask loading that checks the mask exists, decodes and matches its image."""
from mmengine import fileio
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadCheckedAnnotations(LoadAnnotations):
    """mmseg's ``LoadAnnotations`` with errors that name the files involved.

    On top of loading ``gt_seg_map`` exactly as mmseg does (class ids as stored, palette
    PNGs give their indices), it raises

    * ``FileNotFoundError`` naming the mask (and its image) when the mask is missing;
    * ``OSError`` naming the mask when it cannot be decoded;
    * ``ValueError`` naming both files and both sizes when the mask's (H, W) differs from
      the image's as decoded (``ori_shape``), or when the mask is not single-channel.

    Put it right after the image loader, before any geometric transform. Evaluation
    needs every mask, so there is no skip mode.

    Required keys: ``seg_map_path``, ``reduce_zero_label``, ``seg_fields``; ``img_path``
    and ``ori_shape`` when an image was loaded before.
    Added keys: ``gt_seg_map`` (H, W) uint8.

    Args:
        reduce_zero_label (bool, optional): See mmseg's ``LoadAnnotations``.
        backend_args (dict, optional): mmengine file backend arguments.
        imdecode_backend (str): Decoder of the masks. Defaults to ``'pillow'``.
    """

    def _load_seg_map(self, results: dict) -> None:
        mask_path = results['seg_map_path']
        img_path = results.get('img_path')
        of_image = f' (mask of image {img_path})' if img_path else ''
        if not fileio.exists(mask_path, backend_args=self.backend_args):
            raise FileNotFoundError(f'{mask_path}: segmentation mask not found{of_image}')
        try:
            super()._load_seg_map(results)
        except (OSError, SyntaxError) as e:
            raise OSError(f'{mask_path}: cannot decode segmentation mask (truncated or '
                          f'corrupt?): {e}') from e
        mask = results['gt_seg_map']
        if mask.ndim != 2:
            raise ValueError(f'{mask_path}: segmentation mask must be single-channel '
                             f'(class ids), got shape {mask.shape}')
        img_shape = results.get('ori_shape')
        if img_shape is not None and tuple(mask.shape) != tuple(img_shape[:2]):
            mh, mw = mask.shape
            ih, iw = img_shape[:2]
            raise ValueError(f'mask size {mh}x{mw} (HxW) of {mask_path} differs from image '
                             f'size {ih}x{iw} of {img_path}')
