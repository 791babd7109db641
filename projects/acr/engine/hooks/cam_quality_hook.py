"""Per-epoch quality of the class maps and pseudo labels on a fixed set of training images."""
import copy
import time
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmengine.dist import all_reduce, get_dist_info, is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmseg.registry import DATASETS, HOOKS

from ...evaluation.background_thresholds import DEFAULT_FIXED_THRESHOLD, sweep_thresholds
from ...evaluation.label_evaluator import LabelEvaluator
from ...evaluation.threshold_curve import ThresholdCurve
from ...evaluation.threshold_sweep import iou_from_confusion, nanmean_last, threshold_histogram
from ...models.losses import ACRLoss
from ...models.utils import view_token_index
from ...pseudo_labels import PseudoLabelGenerator
from ...visualization.cam_overlay import argmax_overlay
from ...visualization.mask_palette import colour_mask
from ...visualization.table_logging import log_table

DIAGNOSTIC_NAMES = ('cam_mIoU_refined', 'cam_mIoU_unrefined', 'flip_l1', 'attn_intensity_l1',
                    'attn_affinity_l1')


@HOOKS.register_module()
class CAMQualityHook(Hook):
    """Tracks how well the class maps localise objects while training.

    After every ``interval`` training epochs the model maps a fixed subset of training
    images that have masks (the same images every time, drawn once with ``seed``). It
    reports, at the background threshold that is best on the subset:

    * ``cam_quality/cam_mIoU`` and ``cam_quality/best_threshold``;
    * ``cam_quality/pseudo_mIoU``: mIoU of the pseudo labels made from the maps (pixels
      the pseudo label ignores are left out) and ``cam_quality/pseudo_ignored`` (percent
      of valid pixels it ignores);

    as scalars to every visualizer backend (W&B, local), the per-class IoU as a table to
    backends that take tables, and a few overlays (image | maps | pseudo label | mask) as
    images. Under distributed training each rank maps its share of the subset and the
    confusion statistics are summed, so the figures do not depend on the number of ranks;
    only the main process logs.

    Args:
        num_images (int): Size of the subset. Defaults to 64.
        interval (int): Epochs between evaluations. Defaults to 1.
        dataset (dict, optional): Dataset to draw from. Defaults to the training dataset of
            the config with the test pipeline (full-size images with masks).
        batch_size (int): Images per forward pass. Defaults to 1: images of different
            sizes are padded to a common size in a batch, which changes their maps.
        thresholds (Sequence[float], optional): Background thresholds of the sweep.
            Defaults to the official 0.00, 0.01, ..., 0.59.
        fixed_threshold (float, optional): Also log ``cam_quality/cam_mIoU_fixed``, the
            CAM mIoU at this threshold fixed in advance. Defaults to 0.5.
        pseudo_label_cfg (dict, optional): Arguments of :class:`PseudoLabelGenerator`.
            Defaults to the power rule with alphas 1 and 12 and no CRF (the CRF costs
            about a second per VOC image).
        num_overlays (int): Overlays logged per evaluation. Defaults to 4.
        seed (int): Seed of the subset. Defaults to 0.
        diagnostics (bool): Also log, on the same images, what explains a result:
            ``cam_quality/cam_mIoU_refined`` and ``cam_quality/cam_mIoU_unrefined`` (the
            maps with and without affinity refinement, whichever the model uses);
            ``cam_quality/flip_l1``, the mean absolute difference between an image's
            class maps and the mirrored maps of its mirror image (no flip averaging, so
            0 means the maps are flip-equivariant); ``cam_quality/attn_intensity_l1`` and
            ``cam_quality/attn_affinity_l1``, the two ACR terms (unweighted) between an
            image and its mirror, measured whether or not the model trains with ACR.
            Costs three more map passes and one forward pass. Defaults to False.
    """

    priority = 'LOW'

    def __init__(self,
                 num_images: int = 64,
                 interval: int = 1,
                 dataset: Optional[Dict] = None,
                 batch_size: int = 1,
                 thresholds: Optional[Sequence[float]] = None,
                 fixed_threshold: Optional[float] = DEFAULT_FIXED_THRESHOLD,
                 pseudo_label_cfg: Optional[Dict] = None,
                 num_overlays: int = 4,
                 seed: int = 0,
                 diagnostics: bool = False) -> None:
        if num_images < 1 or interval < 1 or batch_size < 1:
            raise ValueError('CAMQualityHook: num_images, interval and batch_size must be >= 1, '
                             f'got {num_images}, {interval}, {batch_size}')
        self.num_images = num_images
        self.interval = interval
        self.dataset_cfg = dataset
        self.batch_size = batch_size
        self.fixed_threshold = fixed_threshold
        self.thresholds = sweep_thresholds(thresholds, fixed_threshold=fixed_threshold)
        self.pseudo_label_cfg = dict(dict(mode='power', crf=False), **(pseudo_label_cfg or {}))
        self.generator = PseudoLabelGenerator(**self.pseudo_label_cfg)
        self.num_overlays = num_overlays
        self.seed = seed
        self.diagnostics = diagnostics
        # Unweighted terms: the same measure for models trained with and without ACR.
        self._consistency = ACRLoss(loss_weight=1.0)
        self._dataset = None
        self._label_evaluator = None
        self._indices: List[int] = []

    def before_train(self, runner) -> None:
        cfg = self.dataset_cfg
        if cfg is None:
            cfg = copy.deepcopy(runner.cfg.train_dataloader.dataset)
            cfg['pipeline'] = self._test_pipeline(runner.cfg)
            cfg['test_mode'] = True
        self._dataset = DATASETS.build(cfg)
        self._label_evaluator = LabelEvaluator(self._dataset.metainfo['classes'],
                                               ignore_index=self.generator.ignore_index)
        total = len(self._dataset)
        rng = np.random.default_rng(self.seed)
        count = min(self.num_images, total)
        self._indices = sorted(rng.choice(total, size=count, replace=False).tolist())
        print_log(f'CAMQualityHook: {count} of {total} training images are evaluated every '
                  f'{self.interval} epoch(s)', logger='current')

    @staticmethod
    def _test_pipeline(cfg) -> List[dict]:
        for key in ('test_dataloader', 'val_dataloader'):
            loader = cfg.get(key)
            if loader and loader.get('dataset') and loader['dataset'].get('pipeline'):
                return copy.deepcopy(loader['dataset']['pipeline'])
        if cfg.get('test_pipeline'):
            return copy.deepcopy(cfg['test_pipeline'])
        raise KeyError('CAMQualityHook: the config has no test_dataloader.dataset.pipeline, '
                       'val_dataloader.dataset.pipeline or test_pipeline to load the '
                       'training images with their masks; give the hook dataset=dict(...)')

    def after_train_epoch(self, runner) -> None:
        if not self.every_n_epochs(runner, self.interval):
            return
        start = time.time()
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        was_training = model.training
        model.eval()
        try:
            stats, overlays = self._evaluate(model)
        finally:
            model.train(was_training)
        self._log(runner, stats, overlays, time.time() - start)

    def _evaluate(self, model) -> tuple:
        """Maps this rank's share of the subset; returns the summed statistics."""
        rank, world = get_dist_info()
        mine = self._indices[rank::world]
        num_fg = len(self._dataset.metainfo['classes']) - 1
        k = num_fg + 1
        hist = np.zeros((self.thresholds.size + 1, k, k), np.int64)
        pseudo = np.zeros((k, k), np.int64)
        ignored = np.zeros(2, np.int64)  # ignored valid pixels, valid pixels
        # Diagnostics: the maps with the other refinement setting, and sums of the flip
        # L1 of the maps, of the two attention terms, with their image counts.
        hist_alt = np.zeros_like(hist)
        diag = np.zeros(4, np.float64)
        overlays = []
        # Imported here: the apis and the pseudo-label package import each other, and
        # projects.acr imports the hooks first; at module level the apis would be half-built.
        from ...apis.cam_predictor import CAMPredictor, pipeline_image_loader
        predictor = CAMPredictor(model, self._dataset.metainfo['classes'],
                                 pipeline_image_loader(self._dataset.pipeline))
        for i in range(0, len(mine), self.batch_size):
            batch = pseudo_collate([self._dataset[j] for j in mine[i:i + self.batch_size]])
            if self.diagnostics:
                diag += self._diagnose(model, batch, hist_alt)
            # The original image (the maps' size) only where the CRF or an overlay uses it.
            drawn = [rank == 0 and len(overlays) + n < self.num_overlays
                     for n in range(len(batch['inputs']))]
            needs_image = [self.generator.crf is not None or d for d in drawn]
            preds = predictor.predict_batch(batch['inputs'], batch['data_samples'],
                                            needs_image)
            for pred, draw in zip(preds, drawn):
                cams, gt = pred.dense_cams(), pred.gt_mask
                hist += threshold_histogram(cams, gt, self.thresholds)
                label = self.generator.from_dense(cams, pred.image, pred.img_labels)
                conf, unlabelled = self._label_evaluator.confusion(
                    label, gt, source=pred.img_path or 'pseudo label')
                pseudo += conf
                ignored += (int(unlabelled.sum()), int(conf.sum() + unlabelled.sum()))
                if draw:
                    overlays.append(self._overlay(pred.image, cams, pred.img_labels, label, gt))
        stats = torch.from_numpy(np.concatenate([hist.ravel(), pseudo.ravel(), ignored]))
        all_reduce(stats)  # a no-op without distributed training
        stats = stats.numpy()
        n_hist = hist.size
        result = dict(hist=stats[:n_hist].reshape(hist.shape),
                      pseudo=stats[n_hist:n_hist + pseudo.size].reshape(pseudo.shape),
                      ignored=stats[-2:])
        if self.diagnostics:
            extra = torch.from_numpy(np.concatenate([hist_alt.ravel().astype(np.float64),
                                                     diag]))
            all_reduce(extra)
            extra = extra.numpy()
            result['hist_alt'] = extra[:hist_alt.size].astype(np.int64).reshape(hist.shape)
            result['diag'] = extra[hist_alt.size:]
        return result, overlays

    @staticmethod
    def _copy_batch(batch: Dict, flip: bool = False) -> Dict:
        """A fresh batch (prediction writes into the samples), optionally mirrored."""
        inputs = [x.flip(-1) if flip else x.clone() for x in batch['inputs']]
        return dict(inputs=inputs, data_samples=copy.deepcopy(batch['data_samples']))

    def _diagnose(self, model, batch: Dict, hist_alt: np.ndarray) -> np.ndarray:
        """Diagnostics of one batch; adds to ``hist_alt``, returns sums (4,)."""
        from ...apis.cam_predictor import override_test_cfg  # see _evaluate
        refine = bool(model.test_cfg['refine'])
        with torch.no_grad():
            with override_test_cfg(model, refine=not refine):
                for out in model.test_step(self._copy_batch(batch)):
                    gt = out.gt_sem_seg.data[0].cpu().numpy().astype(np.int64)
                    hist_alt += threshold_histogram(out.pred_cams.float().cpu().numpy(), gt,
                                                    self.thresholds)
            with override_test_cfg(model, flip=False):  # the flip average would hide it
                plain = model.test_step(self._copy_batch(batch))
                mirrored = model.test_step(self._copy_batch(batch, flip=True))
        flip_l1 = 0.0
        for a, b in zip(plain, mirrored):
            present = torch.from_numpy(np.flatnonzero(np.asarray(a.img_labels) > 0))
            diff = a.pred_cams[present].float() - b.pred_cams[present].float().flip(-1)
            flip_l1 += float(diff.abs().mean()) if present.numel() else 0.0
        with torch.no_grad():
            x = model.data_preprocessor(self._copy_batch(batch), False)['inputs']
            out = model.backbone(torch.cat([x, x.flip(-1)]))
            attn = out.mean_attns()
            n = x.shape[0]
            index = view_token_index([True] * n, out.grid, device=attn.device)
            terms = self._consistency(attn[:n], attn[n:], index, out.num_prefix_tokens)
        return np.array([flip_l1, len(plain), float(terms['loss_intensity']) * n,
                         float(terms['loss_affinity']) * n])

    def _overlay(self, image: np.ndarray, cams: np.ndarray, img_labels: Any,
                 label: np.ndarray, gt: np.ndarray) -> np.ndarray:
        palette = np.asarray(self._dataset.metainfo['palette'], dtype=np.uint8)
        present = np.flatnonzero(np.asarray(img_labels) > 0)
        maps = argmax_overlay(image, cams[present], present, palette)
        return np.concatenate(
            [image, maps, colour_mask(label, palette),
             colour_mask(gt, palette)], axis=1)

    def _log(self, runner, stats: Dict[str, np.ndarray], overlays: List[np.ndarray],
             seconds: float) -> None:
        if not is_main_process():
            return
        curve = ThresholdCurve.from_histogram(self.thresholds, stats['hist'])
        cam_iou = curve.report.iou
        pseudo_iou = iou_from_confusion(stats['pseudo'])
        ignored, valid = stats['ignored']
        scalars = {
            'cam_quality/cam_mIoU': curve.miou * 100,
            'cam_quality/best_threshold': curve.best_threshold,
            **({} if self.fixed_threshold is None else {
                'cam_quality/cam_mIoU_fixed': curve.miou_at(self.fixed_threshold) * 100}),
            'cam_quality/pseudo_mIoU': float(nanmean_last(pseudo_iou) * 100),
            'cam_quality/pseudo_ignored': float(100 * ignored / max(valid, 1)),
        }
        if 'diag' in stats:
            alt = ThresholdCurve.from_histogram(self.thresholds, stats['hist_alt']).miou * 100
            refined = runner.model.module.test_cfg['refine'] if is_model_wrapper(
                runner.model) else runner.model.test_cfg['refine']
            own = scalars['cam_quality/cam_mIoU']
            flip_l1, count, int_l1, aff_l1 = stats['diag']
            count = max(count, 1)
            scalars.update({
                'cam_quality/cam_mIoU_refined': own if refined else alt,
                'cam_quality/cam_mIoU_unrefined': alt if refined else own,
                'cam_quality/flip_l1': float(flip_l1 / count),
                'cam_quality/attn_intensity_l1': float(int_l1 / count),
                'cam_quality/attn_affinity_l1': float(aff_l1 / count),
            })
        epoch = runner.epoch + 1  # the loop counts the finished epoch after its hooks
        runner.visualizer.add_scalars(scalars, step=epoch)
        names = list(self._dataset.metainfo['classes'])
        rows = [[name, round(float(c) * 100, 2), round(float(p) * 100, 2)]
                for name, c, p in zip(names, cam_iou, pseudo_iou)]
        log_table(runner.visualizer, 'cam_quality/per_class', ['class', 'CAM IoU',
                                                               'pseudo-label IoU'], rows,
                  step=epoch)
        for i, picture in enumerate(overlays):
            # No '/' in the name: LocalVisBackend writes it as a flat file name.
            runner.visualizer.add_image(f'cam_quality_overlay_{i}', picture, step=epoch)
        table = '\n'.join(f'  {r[0]:<16} {r[1]:6.2f} {r[2]:6.2f}' for r in rows)
        print_log(
            f'CAM quality after epoch {epoch} on {len(self._indices)} training images '
            f'({seconds:.1f} s): CAM mIoU {scalars["cam_quality/cam_mIoU"]:.2f} at threshold '
            f'{scalars["cam_quality/best_threshold"]:.2f}, pseudo-label mIoU '
            f'{scalars["cam_quality/pseudo_mIoU"]:.2f} '
            f'({scalars["cam_quality/pseudo_ignored"]:.1f}% ignored)'
            + ''.join(f', {k.split("/")[1]} {v:.4g}' for k, v in scalars.items()
                      if k.split('/')[1] in DIAGNOSTIC_NAMES) + '\n'
            f'  {"class":<16} {"CAM":>6} {"pseudo":>6}\n{table}', logger='current')
