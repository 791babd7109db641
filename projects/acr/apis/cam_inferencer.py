"""Class maps of a whole split written to disk, one resumable file per image."""
import logging
import os.path as osp
import traceback
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from ..pseudo_labels.cam_io import cam_path, load_cams, save_cams
from ..utils.run_settings import check_recorded_settings
from ..utils.sharded_job import InferenceSummary, image_id
from ..visualization.cam_overlay import OVERLAY_MODES, render_cam_overlay, save_overlay
from .cam_predictor import CAMPredictor, pipeline_image_loader

ON_ERROR = ('raise', 'skip')
SETTINGS_FILE = 'cam_inference.json'
OVERLAY_SUFFIX = '.png'


def check_run_settings(out_dir: str, settings: Dict[str, Any], write: bool = True) -> None:
    """Makes sure a resumed run continues with the settings that made the existing files.

    The settings are kept in ``<out_dir>/cam_inference.json``; a run with different ones
    would silently mix two kinds of maps in one directory.

    Args:
        out_dir (str): Output directory of the class maps.
        settings (dict): JSON-serialisable settings (checkpoint, test-time augmentation).
        write (bool): Record ``settings`` when no record exists (only one process should).

    Raises:
        ValueError: The directory was filled with other settings.
    """
    check_recorded_settings(out_dir, settings, SETTINGS_FILE, 'class maps made', write)


class _GuardedItems(Dataset):
    """Loads the pending items; a failing image yields its error instead of ending the run."""

    def __init__(self, dataset: BaseDataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = list(indices)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> Dict[str, Any]:
        index = self.indices[i]
        try:
            # prepare_data, unlike __getitem__, never swaps in another image.
            data = self.dataset.prepare_data(index)
            if data is None:
                raise RuntimeError('the pipeline dropped the image')
            return dict(index=index, data=data)
        except Exception:  # reported per image by the caller
            return dict(index=index, error=traceback.format_exc())


def _single(batch: List[Dict[str, Any]]) -> Dict[str, Any]:
    return batch[0]


class CAMInferencer:
    """Runs a class-map model over images of a dataset and saves the maps per image.

    Each image is predicted alone (batch size 1): padding images of different sizes to a
    batch would change the attention and hence the maps, so results do not depend on
    which images share a batch. Files are written atomically (:func:`save_cams`), so a file
    that exists is complete and an interrupted run is resumed by running it again: images
    whose file exists are skipped.

    Args:
        model (BaseModel): Model whose ``test_step`` returns samples with ``pred_cams``
            (C, H, W) at the original image size and ``pred_scores`` (C,), e.g.
            :class:`ACRClassifier`; in eval mode.
        out_dir (str): Directory of the ``<img_id>.npz`` class-map files.
        overlay_dir (str, optional): Also write ``<img_id>.png`` pictures of the maps over
            the image there. Defaults to None (no pictures).
        overlay_mode (str): ``'argmax'`` or ``'heatmap'``, see
            :func:`render_cam_overlay`.
        class_names (Sequence[str], optional): C + 1 class names for the pictures.
        palette (Sequence[Sequence[int]], optional): C + 1 RGB colours for the pictures.
        on_error (str): ``'raise'``: a failing image stops the run with an error naming it;
            ``'skip'``: it is logged, counted as failed, and the run continues.
        num_workers (int): Data loading processes.
        progress (bool): Show a progress bar.
    """

    def __init__(self,
                 model: torch.nn.Module,
                 out_dir: str,
                 overlay_dir: Optional[str] = None,
                 overlay_mode: str = 'argmax',
                 class_names: Optional[Sequence[str]] = None,
                 palette: Optional[Sequence[Sequence[int]]] = None,
                 on_error: str = 'raise',
                 num_workers: int = 0,
                 progress: bool = True) -> None:
        if on_error not in ON_ERROR:
            raise ValueError(f'on_error must be one of {ON_ERROR}, got {on_error!r}')
        if overlay_mode not in OVERLAY_MODES:
            raise ValueError(f'overlay_mode must be one of {OVERLAY_MODES}, '
                             f'got {overlay_mode!r}')
        if overlay_dir and overlay_mode == 'argmax' and palette is None:
            raise ValueError('argmax overlays need a palette (the dataset metainfo has one)')
        self.model = model
        self.out_dir = out_dir
        self.overlay_dir = overlay_dir
        self.overlay_mode = overlay_mode
        self.class_names = list(class_names) if class_names is not None else None
        self.palette = palette
        self.on_error = on_error
        self.num_workers = num_workers
        self.progress = progress

    @property
    def test_cfg(self) -> Dict[str, Any]:
        return dict(getattr(self.model, 'test_cfg', None) or {})

    def output_path(self, img_id: str) -> str:
        return cam_path(self.out_dir, img_id)

    def overlay_path(self, img_id: str) -> str:
        return osp.join(self.overlay_dir, img_id + OVERLAY_SUFFIX)

    def plan(self, dataset: BaseDataset, indices: Sequence[int]) -> Tuple[List[int], List[str]]:
        """Splits ``indices`` into work left and images already done.

        An image is done when its class-map file exists and, with overlays, its picture
        too; an image with maps but no picture is drawn from the stored maps.

        Returns:
            tuple: The pending indices and the ids of the images that are done.
        """
        pending, complete = [], []
        for index in indices:
            img_id = image_id(dataset.get_data_info(index))
            has_maps = osp.isfile(self.output_path(img_id))
            has_overlay = not self.overlay_dir or osp.isfile(self.overlay_path(img_id))
            if has_maps and has_overlay:
                complete.append(img_id)
            else:
                pending.append(index)
        return pending, complete

    def predictor(self, dataset: BaseDataset) -> CAMPredictor:
        """The predictor of this model for the items of ``dataset``.

        It recovers the original image with the dataset pipeline's own loader when the
        pipeline resized the input, so overlays are drawn on the picture the maps belong
        to.
        """
        names = self.class_names or list(dataset.metainfo.get('classes') or [])
        if not names:
            num = int(getattr(getattr(self.model, 'head', None), 'num_classes', 0) or 0)
            names = ['background'] + [f'class {i}' for i in range(num)]
        return CAMPredictor(self.model, names, pipeline_image_loader(dataset.pipeline))

    def _process(self, dataset: BaseDataset, predictor: CAMPredictor,
                 item: Dict[str, Any]) -> bool:
        """Writes one image's missing outputs; True when the model ran."""
        img_id = image_id(dataset.get_data_info(item['index']))
        if 'error' in item:
            raise RuntimeError(f'loading failed:\n{item["error"]}')
        path = self.output_path(img_id)
        ran = not osp.isfile(path)
        data = item['data']
        if ran:
            pred = predictor.predict(data, with_image=bool(self.overlay_dir))
            save_cams(path, pred.cams, pred.class_ids, pred.scores)
            cams, class_ids, image = pred.cams, pred.class_ids, pred.image
        elif self.overlay_dir:
            stored = load_cams(path)
            cams, class_ids = stored['cams'], stored['class_ids']
            image = predictor.original_image(data['inputs'], data['data_samples'])
        if self.overlay_dir:
            picture = render_cam_overlay(image, cams, class_ids, self.palette,
                                         self.class_names, self.overlay_mode)
            save_overlay(self.overlay_path(img_id), picture)
        return ran

    def run(self, dataset: BaseDataset,
            indices: Optional[Sequence[int]] = None) -> InferenceSummary:
        """Processes ``indices`` of ``dataset`` (all by default), skipping finished images.

        Args:
            dataset (BaseDataset): Dataset whose items are model inputs and whose data infos
                have ``img_id`` (or ``img_path``).
            indices (Sequence[int], optional): This process's share, e.g. from
                :func:`shard_indices`.

        Returns:
            InferenceSummary: Ids computed, found done, and failed (``on_error='skip'``).
        """
        indices = range(len(dataset)) if indices is None else indices
        pending, complete = self.plan(dataset, indices)
        summary = InferenceSummary(existing=complete)
        print_log(f'class maps: {len(indices)} images in this share, {len(complete)} already '
                  f'done, {len(pending)} to do -> {self.out_dir}', logger='current')
        loader = DataLoader(_GuardedItems(dataset, pending), batch_size=1,
                            shuffle=False, num_workers=self.num_workers, collate_fn=_single)
        bar = tqdm(loader, total=len(pending), desc='class maps', unit='img',
                   disable=not self.progress, dynamic_ncols=True)
        predictor = self.predictor(dataset)
        for item in bar:
            img_id = image_id(dataset.get_data_info(item['index']))
            try:
                ran = self._process(dataset, predictor, item)
            except Exception as err:
                if self.on_error == 'raise':
                    raise RuntimeError(f'class maps of image {img_id!r} '
                                       f'({dataset.get_data_info(item["index"]).get("img_path")}'
                                       f') failed: {err}') from err
                print_log(f'image {img_id!r} skipped: {err}', logger='current',
                          level=logging.WARNING)
                summary.failed.append(img_id)
                continue
            (summary.done if ran else summary.existing).append(img_id)
        bar.close()
        return summary
