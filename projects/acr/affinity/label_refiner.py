"""Pseudo labels refined by AffinityNet's random walk, one resumable PNG per image."""
import logging
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.logging import print_log
from tqdm import tqdm

from ..pseudo_labels.background import background_score, check_class_ids
from ..pseudo_labels.cam_io import cam_path, load_cams
from ..pseudo_labels.label_writer import read_rgb, save_label_png
from ..utils.run_settings import check_recorded_settings
from ..utils.sharded_job import InferenceSummary
from .random_walk import WALK_METHODS, walk_labels

SETTINGS_FILE = 'refine_settings.json'
# PSA's inference settings (infer_aff.py): background exponent, affinity exponent, log2 steps.
# (MCTformer's released random walk, which the official ACR scripts run, gives the
# background the constant score 0.39 instead and takes 2^6 steps: bg_thr=0.39, logt=6.)
DEFAULT_RW_ALPHA = 16.0
DEFAULT_BETA = 8.0
DEFAULT_LOGT = 8


def check_refine_settings(out_dir: str, settings: Dict[str, Any], write: bool = True) -> None:
    """Refuses to resume into ``out_dir`` with settings other than those that made its files.

    Args:
        out_dir (str): Output directory of the refined labels.
        settings (dict): JSON-serialisable settings, kept in ``<out_dir>/refine_settings.json``.
        write (bool): Record them when there is no record yet (one process only).

    Raises:
        ValueError: The directory holds labels made with other settings.
    """
    check_recorded_settings(out_dir, settings, SETTINGS_FILE, 'labels refined', write)


class AffinityLabelRefiner:
    """Class maps + an affinity model -> random-walk pseudo labels (PSA's inference).

    Per image: the stored maps of the present classes get a background map
    ``(1 - max cam) ** alpha`` (PSA's power rule), or the constant ``bg_thr`` when given,
    are averaged onto the model's stride-8 grid, propagated by the random walk over the
    predicted affinities (``beta``, ``2 ** logt`` steps), upsampled to the image and
    arg-maxed. PSA uses no ignore label here: every pixel gets a class.

    Args:
        model (torch.nn.Module): In eval mode, with ``data_preprocessor`` (normalisation)
            and ``predict(inputs) -> list[AffinityGraph]``, e.g. :class:`AffinityNet`.
        cam_dir (str): Directory of the ``<img_id>.npz`` class maps.
        out_dir (str): Where the ``<img_id>.png`` labels go.
        alpha (float): Background exponent. Defaults to 16 (PSA).
        bg_thr (float, optional): Constant background score instead of the power rule
            (MCTformer's random walk: 0.39). Defaults to None (power rule).
        beta (float): Affinity exponent. Defaults to 8 (PSA).
        logt (int): log2 of the walk's steps. Defaults to 8 (PSA).
        method (str): ``'auto'``, ``'sparse'`` or ``'dense'``, see :func:`random_walk`.
        stride (int, optional): Grid stride; the model's ``stride`` by default.
        on_error (str): ``'raise'`` (stop naming the image) or ``'skip'`` (count it).
        progress (bool): Show a progress bar.
    """

    def __init__(self, model: torch.nn.Module, cam_dir: str, out_dir: str,
                 alpha: float = DEFAULT_RW_ALPHA, beta: float = DEFAULT_BETA,
                 logt: int = DEFAULT_LOGT, method: str = 'auto',
                 stride: Optional[int] = None, on_error: str = 'raise',
                 progress: bool = True, bg_thr: Optional[float] = None) -> None:
        if on_error not in ('raise', 'skip'):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        if method not in WALK_METHODS:
            raise ValueError(f'method must be one of {WALK_METHODS}, got {method!r}')
        if not alpha > 0 or not beta > 0 or int(logt) < 0:
            raise ValueError(f'need alpha > 0, beta > 0, logt >= 0; got alpha={alpha}, '
                             f'beta={beta}, logt={logt}')
        self.model = model
        self.cam_dir = cam_dir
        self.out_dir = out_dir
        if bg_thr is not None and not 0 <= bg_thr <= 1:
            raise ValueError(f'bg_thr must be in [0, 1], got {bg_thr}')
        self.alpha, self.beta, self.logt = float(alpha), float(beta), int(logt)
        self.bg_thr = None if bg_thr is None else float(bg_thr)
        self.method = method
        self.stride = int(stride or getattr(model, 'stride', 8))
        self.on_error = on_error
        self.progress = progress

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def output_path(self, img_id: str) -> str:
        return osp.join(self.out_dir, img_id + '.png')

    def refine(self, image_rgb: np.ndarray, cams: np.ndarray,
               class_ids: Sequence[int]) -> np.ndarray:
        """The refined label of one image.

        Args:
            image_rgb (np.ndarray): uint8 (H, W, 3) RGB image.
            cams (np.ndarray): (K, H, W) maps in [0, 1] of the present classes.
            class_ids (Sequence[int]): (K,) their foreground indices (mask value - 1).

        Returns:
            np.ndarray: uint8 (H, W) with values in ``{0, class_ids + 1}``.
        """
        cams = np.asarray(cams, dtype=np.float32)
        if cams.ndim != 3 or tuple(cams.shape[1:]) != tuple(image_rgb.shape[:2]):
            raise ValueError(f'class maps of shape {cams.shape} do not fit the '
                             f'{image_rgb.shape[0]}x{image_rgb.shape[1]} image')
        class_ids = check_class_ids(np.asarray(class_ids), cams.shape[0], 255)
        if cams.shape[0] == 0:  # no present class: all background, nothing to walk
            return np.zeros(cams.shape[1:], np.uint8)
        bg = background_score(cams, 'power' if self.bg_thr is None else 'threshold',
                              bg_thr=self.bg_thr, alpha=self.alpha)
        scores = np.concatenate([bg[None], cams])
        # The data preprocessor expects BGR uint8 (C, H, W), as the loaders give.
        img = torch.from_numpy(np.ascontiguousarray(image_rgb[..., ::-1].transpose(2, 0, 1)))
        with torch.no_grad():
            data = self.model.data_preprocessor(dict(inputs=[img]), False)
            graph = self.model.predict(data['inputs'])[0]
            index = walk_labels(torch.from_numpy(scores).to(graph.weight.device), graph,
                                self.stride, self.beta, self.logt, self.method)
        lut = np.concatenate([[0], np.asarray(class_ids) + 1]).astype(np.uint8)
        return lut[index.cpu().numpy()]

    def _process(self, img_id: str, img_path: str) -> None:
        stored = load_cams(cam_path(self.cam_dir, img_id))
        image = read_rgb(img_path)
        try:
            label = self.refine(image, stored['cams'], stored['class_ids'])
        except ValueError as err:
            raise ValueError(f'{cam_path(self.cam_dir, img_id)} / {img_path}: {err}') from err
        save_label_png(self.output_path(img_id), label)

    def run(self, items: Sequence[Tuple[str, str]]) -> InferenceSummary:
        """Refines the labels of ``items``, skipping those whose PNG exists.

        Args:
            items (Sequence[tuple[str, str]]): ``(img_id, img_path)`` of this process's
                share.

        Returns:
            InferenceSummary: Ids refined, found done, and failed (``on_error='skip'``).
        """
        pending: List[Tuple[str, str]] = []
        summary = InferenceSummary()
        for img_id, path in items:
            if osp.isfile(self.output_path(img_id)):
                summary.existing.append(img_id)
            else:
                pending.append((img_id, path))
        print_log(f'random walk: {len(items)} images in this share, {len(summary.existing)} '
                  f'already done, {len(pending)} to do -> {self.out_dir}', logger='current')
        for img_id, path in tqdm(pending, desc='random walk', unit='img',
                                 disable=not self.progress, dynamic_ncols=True):
            try:
                self._process(img_id, path)
            except Exception as err:
                if self.on_error == 'raise':
                    raise RuntimeError(f'random walk of image {img_id!r} ({path}) failed: '
                                       f'{err}') from err
                print_log(f'image {img_id!r} skipped: {err}', logger='current',
                          level=logging.WARNING)
                summary.failed.append(img_id)
                continue
            summary.done.append(img_id)
        return summary


def split_images(cfg: Any, split: Optional[str] = None, ann_file: Optional[str] = None,
                 data_root: Optional[str] = None) -> List[Tuple[str, str]]:
    """``(img_id, img_path)`` of an image list, located like the config's training images.

    Args:
        cfg (Config): Config whose ``train_dataloader.dataset`` has ``data_root``,
            ``data_prefix.img_path``, ``ann_file`` and ``img_suffix``.
        split (str, optional): List name (``train_aug``, ``train``, ...) in the directory
            of the configured ``ann_file``.
        ann_file (str, optional): A list file instead (relative to the data root unless
            absolute).
        data_root (str, optional): Replaces the data root.

    Returns:
        list[tuple[str, str]]: In list order.
    """
    if split and ann_file:
        raise ValueError(f'give a split ({split!r}) or an ann_file ({ann_file!r}), not both')
    ds = (cfg.get('train_dataloader') or {}).get('dataset')
    if not ds:
        raise KeyError('the config has no train_dataloader.dataset to locate the images')
    root = data_root or ds.get('data_root') or ''
    listed = ann_file or ds.get('ann_file')
    if split:
        listed = osp.join(osp.dirname(ds.get('ann_file') or ''), split + '.txt')
    if not listed:
        raise KeyError('no image list: give --split or --ann-file')
    listed = listed if osp.isabs(listed) else osp.join(root, listed)
    if not osp.isfile(listed):
        raise FileNotFoundError(f'image list not found: {listed}')
    img_dir = (ds.get('data_prefix') or {}).get('img_path', 'JPEGImages')
    img_dir = img_dir if osp.isabs(img_dir) else osp.join(root, img_dir)
    suffix = ds.get('img_suffix', '.jpg')
    with open(listed, encoding='utf-8') as f:
        ids = [line.strip() for line in f if line.strip()]
    return [(i, osp.join(img_dir, i + suffix)) for i in ids]
