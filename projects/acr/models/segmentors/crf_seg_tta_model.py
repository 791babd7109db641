"""Test-time augmentation of a segmenter, optionally followed by dense-CRF refinement."""
from typing import List, Optional

import mmcv
import numpy as np
import torch
from mmengine import fileio
from mmengine.structures import PixelData
from mmseg.models import SegTTAModel
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import SampleList

# DeepLabV2's test-time CRF (deeplab-pytorch's VOC settings): 10 iterations, smoothness
# kernel sxy 1 with weight 3, appearance kernel sxy 67, srgb 3 with weight 4.
DEEPLAB_CRF = dict(n_iters=10, gaussian_sxy=1.0, gaussian_compat=3.0, bilateral_sxy=67.0,
                   bilateral_srgb=3.0, bilateral_compat=4.0)


@MODELS.register_module()
class CRFSegTTAModel(SegTTAModel):
    """mmseg's ``SegTTAModel`` with an optional dense CRF on the merged probabilities.

    Without the CRF it is exactly ``SegTTAModel``: softmax (sigmoid for one output
    channel) of every augmented prediction, averaged, then argmax (threshold). With the CRF
    the averaged class probabilities of each image, of shape (C, H, W) at the original
    image size, are refined by :class:`projects.acr.pseudo_labels.crf.DenseCRF` on the
    original RGB image (read again from ``img_path``) before the argmax. A single-scale,
    unflipped ``tta_pipeline`` gives CRF post-processing alone.

    Used like mmseg's TTA model: ``tta_model = dict(type='CRFSegTTAModel', ...)`` in the
    config and, at test time, ``tta_model.module = model`` with the dataset pipeline set to
    ``tta_pipeline``.

    Args:
        module (dict | nn.Module): The segmenter.
        dense_crf (bool): Refine with the dense CRF. Defaults to False.
        crf_cfg (dict, optional): Keyword arguments of ``DenseCRF``. Defaults to
            :data:`DEEPLAB_CRF`.
        data_preprocessor (dict, optional): See ``BaseTTAModel``.
    """

    def __init__(self,
                 module,
                 dense_crf: bool = False,
                 crf_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None) -> None:
        super().__init__(module=module, data_preprocessor=data_preprocessor)
        self.dense_crf = bool(dense_crf)
        self.crf_cfg = dict(DEEPLAB_CRF if crf_cfg is None else crf_cfg)
        self.crf = None
        if self.dense_crf:
            # Imported here so that pydensecrf is only needed when the CRF is on; building
            # it now makes a missing install fail before the first image, not after.
            from projects.acr.pseudo_labels.crf import DenseCRF
            self.crf = DenseCRF(**self.crf_cfg)

    def merge_preds(self, data_samples_list: List[SampleList]) -> SampleList:
        """Merges the augmented predictions of each image, then refines them.

        Args:
            data_samples_list (list[list[SegDataSample]]): Per image, the predictions of
                its augmented views, each with ``seg_logits`` of shape (C, H, W) at the
                original image size.

        Returns:
            list[SegDataSample]: One sample per image with ``pred_sem_seg`` (1, H, W),
            ``gt_sem_seg`` when the views had one, and the metainfo of the first view.
        """
        if self.crf is None:
            return super().merge_preds(data_samples_list)
        return [self._merge_one(samples) for samples in data_samples_list]

    def _merge_one(self, samples: SampleList) -> SegDataSample:
        logits = torch.stack([s.seg_logits.data for s in samples])  # (A, C, H, W)
        if self.module.out_channels == 1:
            fg = logits.sigmoid().mean(0)  # (1, H, W)
            probs = torch.cat([1 - fg, fg])
        else:
            probs = logits.softmax(dim=1).mean(0)  # (C, H, W)
        image = self._read_rgb(samples[0].img_path, tuple(probs.shape[1:]))
        refined = self.crf(probs.detach().float().cpu().numpy(), image)
        pred = torch.from_numpy(refined.argmax(axis=0)).to(probs.device)

        out = SegDataSample(metainfo=samples[0].metainfo)
        out.pred_sem_seg = PixelData(data=pred[None])
        if 'gt_sem_seg' in samples[0]:
            out.gt_sem_seg = samples[0].gt_sem_seg
        return out

    @staticmethod
    def _read_rgb(img_path: str, size: tuple) -> np.ndarray:
        """The image as (H, W, 3) uint8 RGB, checked against the prediction size."""
        image = mmcv.imfrombytes(fileio.get(img_path), channel_order='rgb')
        if image is None:
            raise OSError(f'{img_path}: cannot decode the image for the dense CRF')
        if image.shape[:2] != size:
            raise ValueError(f'{img_path}: image of size {image.shape[:2]} does not match '
                             f'the prediction of size {size} (the CRF needs predictions at '
                             'the original image size)')
        return image
