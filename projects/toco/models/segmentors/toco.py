"""ToCo (token contrast, Ru et al. CVPR 2023): a single-stage WSSS model, as its code runs."""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import mmcv
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from ..backbones.toco_vit import ToCoViTOutput
from ..heads.projection_head import ema_update
from ..utils import (box_mask, cam_to_label, cam_to_roi_mask, crops_from_roi, label_to_aff_mask,
                     refine_cams_with_background, valid_cams)

# ToCo's VOC training (scripts/dist_train_voc_seg_neg.py defaults and the published logs).
DEFAULT_TRAIN_CFG = dict(
    cam_scales=(1.0, 0.5, 1.5),  # maps of the training images, flipped too, no gradients
    bkg_thr=0.5,  # COCO 0.45
    high_thr=0.7,  # COCO 0.65
    low_thr=0.25,
    num_local_crops=8,  # ncrops 10 = 2 global views + 8 local crops
    local_crop_size=96,
    neg_ratio=0.2,  # a local crop with ROI sum / area <= 0.2 is a negative
    par_down_scale=2,  # PAR runs at half resolution
    ignore_index=255,
    # ToCo applies the pixel box of the valid crop region to the token-grid label of the
    # patch-token contrast as it is (rows [y0:y1] of a 28-row grid); True scales the box to
    # the grid (tokens that overlap the image) instead.
    ptc_box_on_grid=False,
    # Multipliers of each loss's weight from 0-based iteration ``begin`` on, and the maps
    # behind the segmentation pseudo labels ('cam': final classifier, 'aux': auxiliary).
    # ToCo's ``if n_iter <= 2000`` runs the first stage up to iteration 2,000 inclusive.
    stages=(dict(begin=0, ptc=1.0, ctc=1.0, seg=0.0, energy=0.0, seg_cams='cam'),
            dict(begin=2001, ptc=1.0, ctc=1.0, seg=1.0, energy=1.0, seg_cams='cam')),
)
# ToCo's validation during training: maps as in training, the decoder at one scale.
DEFAULT_TEST_CFG = dict(
    cam_scales=(1.0, 0.5, 1.5),
    seg_scales=(1.0, ),  # tools/infer_seg_voc.py: (1.0, 1.5, 1.25)
    seg_flip=False,  # tools/infer_seg_voc.py: True (logits of the mirror added)
    crf=None,  # tools/infer_seg_voc.py: a DenseCRF (configs/toco/*_ms-crf-test.py)
)


@MODELS.register_module()
class ToCo(BaseModel):
    """ToCo's network and training objective.

    Training takes three views per image, (B, 3, 3, H, W): ToCo's first global view (the
    augmented crop, also the input of the classifiers and the decoder), its second global
    view (a random resized crop of the source image) and the crop the local views are cut
    from; data samples carry ``img_labels`` (C,), ``img_box`` (4,) ``(y0, y1, x0, x1)`` of
    the crop that shows the image, and, for the ACR loss, ``view_affine`` (2, 3) from view
    one's normalised coordinates to view two's. See :class:`ToCoViews`.

    Losses, each with its weight in its config and a per-stage multiplier (``train_cfg``):
    ``loss_cls`` / ``loss_cls_aux`` (multilabel soft margin of the max-pooled final and
    auxiliary tokens), ``loss_ptc`` (final-token similarity against the affinity of the
    auxiliary maps' pseudo label), ``loss_ctc`` (class tokens of the 2 global views by an
    EMA teacher against the student's global and local ones), ``loss_seg`` (decoder
    against the PAR-refined pseudo label), ``loss_energy`` (dense CRF energy of the
    decoder's softmax) and, with ``acr_loss``, ``loss_intensity`` / ``loss_affinity``
    between the attention of the two global views.

    Args:
        backbone (dict): :class:`ToCoViT` config.
        num_classes (int): Foreground classes (20 VOC, 80 COCO).
        decoder (dict): :class:`LargeFOVHead` config (channels filled in).
        proj_head (dict): :class:`ProjectionHead` config (``in_dim`` filled in).
        par (dict): :class:`PixelAdaptiveRefiner` config.
        ptc_loss, ctc_loss, seg_loss, energy_loss (dict): Loss configs; ``energy_loss``
            may be None (off).
        acr_loss (dict, optional): :class:`ACRLoss` config (off when None or weight 0).
        ema_momentum (float): Momentum of the teacher head (ToCo: 0.9).
        train_cfg, test_cfg (dict, optional): Overrides of the defaults above.
        data_preprocessor (dict, optional): :class:`MultiViewDataPreprocessor` config.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 backbone: Dict,
                 num_classes: int = 20,
                 decoder: Optional[Dict] = None,
                 proj_head: Optional[Dict] = None,
                 par: Optional[Dict] = None,
                 ptc_loss: Optional[Dict] = None,
                 ctc_loss: Optional[Dict] = None,
                 seg_loss: Optional[Dict] = None,
                 energy_loss: Optional[Dict] = None,
                 acr_loss: Optional[Dict] = None,
                 ema_momentum: float = 0.9,
                 train_cfg: Optional[Dict] = None,
                 test_cfg: Optional[Dict] = None,
                 data_preprocessor: Optional[Dict] = None,
                 init_cfg: Optional[Dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        use_acr = acr_loss is not None and acr_loss.get('loss_weight', 1.0) != 0
        backbone = dict(backbone)
        if use_acr:
            backbone['record_attention'] = True
        self.backbone = MODELS.build(backbone)
        dim = self.backbone.embed_dim
        self.num_classes = int(num_classes)
        self.classifier = nn.Conv2d(dim, num_classes, 1, bias=False)
        self.aux_classifier = nn.Conv2d(dim, num_classes, 1, bias=False)
        self.decoder = MODELS.build(dict(dict(type='LargeFOVHead'), **(decoder or {}),
                                         in_channels=dim, num_classes=num_classes + 1))
        self.proj_head = MODELS.build(dict(dict(type='ProjectionHead'), **(proj_head or {}),
                                           in_dim=dim))
        self.proj_head_t = copy.deepcopy(self.proj_head)
        self.proj_head_t.requires_grad_(False)
        self.ema_momentum = float(ema_momentum)
        self.par = MODELS.build(dict(dict(type='PixelAdaptiveRefiner'), **(par or {})))
        self.ptc_loss = MODELS.build(ptc_loss or dict(type='PatchTokenContrastLoss'))
        self.ctc_loss = MODELS.build(ctc_loss or dict(type='ClassTokenContrastLoss'))
        self.seg_loss = MODELS.build(seg_loss or dict(type='BackgroundForegroundCELoss'))
        self.energy_loss = MODELS.build(energy_loss) if energy_loss is not None else None
        self.acr_loss = MODELS.build(acr_loss) if use_acr else None
        self.train_cfg = dict(DEFAULT_TRAIN_CFG, **(train_cfg or {}))
        self.test_cfg = dict(DEFAULT_TEST_CFG, **(test_cfg or {}))
        self._check_stages(self.train_cfg['stages'])
        # Training iterations run so far: selects the stage, saved with the checkpoint.
        self.register_buffer('train_iter', torch.zeros((), dtype=torch.long))

    @staticmethod
    def _check_stages(stages: Sequence[Dict]) -> None:
        keys = {'begin', 'ptc', 'ctc', 'seg', 'energy', 'seg_cams'}
        begins = []
        for i, st in enumerate(stages):
            if not isinstance(st, dict):
                raise ValueError(f'model.train_cfg.stages[{i}] must be a dict, got {st!r}')
            if set(st) - keys or 'begin' not in st:
                raise ValueError(f'model.train_cfg.stages[{i}] takes {sorted(keys)} (begin '
                                 f'required), got {sorted(st)}')
            if st.get('seg_cams', 'cam') not in ('cam', 'aux'):
                raise ValueError(f"model.train_cfg.stages[{i}].seg_cams must be 'cam' or "
                                 f"'aux', got {st['seg_cams']!r}")
            begins.append(int(st['begin']))
        if not begins or begins[0] != 0 or begins != sorted(begins):
            raise ValueError(f'model.train_cfg.stages must start at begin=0 in increasing '
                             f'order, got begins {begins}')

    def init_weights(self) -> None:
        super().init_weights()
        # The teacher starts as a copy of the student, after any re-initialisation.
        self.proj_head_t.load_state_dict(self.proj_head.state_dict())

    def stage(self, it: int) -> Dict:
        """The loss multipliers of training iteration ``it`` (0-based)."""
        current = None
        for st in self.train_cfg['stages']:
            if it >= int(st['begin']):
                current = st
        return dict(dict(ptc=1.0, ctc=1.0, seg=1.0, energy=1.0, seg_cams='cam'), **current)

    # ----------------------------------------------------------------- network pieces
    @staticmethod
    def _to_2d(tokens: torch.Tensor, grid: Tuple[int, int]) -> torch.Tensor:
        """(B, N, D) -> (B, D, h, w)."""
        return tokens.transpose(1, 2).reshape(tokens.shape[0], -1, *grid)

    def _classify(self, fmap: torch.Tensor, classifier: nn.Conv2d) -> torch.Tensor:
        """Global max pooling then the 1 x 1 classifier: (B, D, h, w) -> (B, C)."""
        return classifier(F.adaptive_max_pool2d(fmap, (1, 1))).flatten(1)

    def _cams_at(self, x: torch.Tensor, size) -> Tuple[torch.Tensor, torch.Tensor]:
        """Maps of ``x`` and its mirror at ``size``: max of the two, ReLU (B, C, H, W)."""
        b = x.shape[0]
        out: ToCoViTOutput = self.backbone(torch.cat([x, x.flip(-1)]))
        maps = []
        for tokens, clf in ((out.patch_tokens, self.classifier),
                            (out.aux_tokens, self.aux_classifier)):
            cam = F.conv2d(self._to_2d(tokens, out.grid), clf.weight)
            cam = F.interpolate(cam, size=size, mode='bilinear', align_corners=False)
            maps.append(F.relu(torch.max(cam[:b], cam[b:].flip(-1))))
        return maps[0], maps[1]

    @torch.no_grad()
    def multi_scale_cams(self, x: torch.Tensor,
                         scales: Sequence[float]) -> Tuple[torch.Tensor, torch.Tensor]:
        """ToCo's ``multi_scale_cam2``: final and auxiliary maps at the input size.

        Scale 1 always, then every other scale (the input resized to ``int(s * H)``),
        each with its mirror; summed over scales and min-max normalised per map with
        ToCo's ``1e-5``.

        Args:
            x (Tensor): (B, 3, H, W) normalised images.
            scales (Sequence[float]): Scales.

        Returns:
            tuple[Tensor, Tensor]: (B, C, H, W) final and auxiliary maps in [0, 1).
        """
        h, w = x.shape[-2:]
        cam, cam_aux = self._cams_at(x, (h, w))
        for s in scales:
            if s != 1.0:
                xs = F.interpolate(x, size=(int(s * h), int(s * w)), mode='bilinear',
                                   align_corners=False)
                c, a = self._cams_at(xs, (h, w))
                cam, cam_aux = cam + c, cam_aux + a
        out = []
        for m in (cam, cam_aux):
            m = m + F.adaptive_max_pool2d(-m, (1, 1))
            out.append(m / (F.adaptive_max_pool2d(m, (1, 1)) + 1e-5))
        return out[0], out[1]

    def _denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised RGB inputs back to 0-255 intensities."""
        pre = self.data_preprocessor
        return x * pre.std.to(x) + pre.mean.to(x)

    # ----------------------------------------------------------------------- training
    @staticmethod
    def _meta(data_samples: Sequence[SegDataSample], key: str, device,
              dtype=torch.float32) -> torch.Tensor:
        missing = [i for i, s in enumerate(data_samples) if key not in s]
        if missing:
            raise KeyError(f"ToCo: data sample {missing[0]} has no '{key}'; the train "
                           "pipeline needs dict(type='ToCoViews', ...) and PackClsInputs "
                           f"with '{key}' in meta_keys")
        return torch.as_tensor(np.stack([np.asarray(s.get(key)) for s in data_samples]),
                               dtype=dtype, device=device)

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[SegDataSample]] = None,
                mode: str = 'tensor') -> Union[Dict, List, torch.Tensor]:
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            if inputs.ndim == 5:
                inputs = inputs[:, 0]
            out = self.backbone(inputs)
            return self.decoder(self._to_2d(out.patch_tokens, out.grid))
        raise RuntimeError(f'invalid mode "{mode}": use loss, predict or tensor')

    def loss(self, inputs: torch.Tensor,
             data_samples: List[SegDataSample]) -> Dict[str, torch.Tensor]:
        """ToCo's objective of one iteration (``scripts/dist_train_voc_seg_neg.py``).

        Args:
            inputs (Tensor): (B, 3, 3, H, W) views (see the class docstring).
            data_samples (list[SegDataSample]): With ``img_labels`` and ``img_box``.

        Returns:
            dict[str, Tensor]: The weighted losses.
        """
        if inputs.ndim != 5 or inputs.shape[1] != 3:
            raise ValueError(f'ToCo trains on 3 views per image (B, 3, 3, H, W), got '
                             f"{tuple(inputs.shape)}; use dict(type='ToCoViews') in the train "
                             'pipeline')
        cfg = self.train_cfg
        it = int(self.train_iter)
        st = self.stage(it)
        if self.training:
            self.train_iter += 1
        x, view2, local_src = inputs[:, 0], inputs[:, 1], inputs[:, 2]
        b, _, h, w = x.shape
        dev = x.device
        labels = self._meta(data_samples, 'img_labels', dev)
        box = self._meta(data_samples, 'img_box', dev, torch.long)
        ignore = cfg['ignore_index']
        thr = dict(bkg_thr=cfg['bkg_thr'], high_thr=cfg['high_thr'], low_thr=cfg['low_thr'])

        # Maps without gradients; local crops from the auxiliary maps' uncertain regions.
        cams, cams_aux = self.multi_scale_cams(x, cfg['cam_scales'])
        roi = cam_to_roi_mask(cams_aux, labels, cfg['high_thr'], cfg['low_thr'])
        local, flags = crops_from_roi(local_src, roi, cfg['num_local_crops'],
                                      cfg['local_crop_size'], cfg['neg_ratio'])

        # Both global views in one pass: ToCo's classifier input is its first global view,
        # and its teacher and student encode the same views with the same encoder.
        out: ToCoViTOutput = self.backbone(torch.cat([x, view2]))
        fmap = self._to_2d(out.patch_tokens[:b], out.grid)
        fmap_aux = self._to_2d(out.aux_tokens[:b], out.grid)
        losses = dict(
            loss_cls=F.multilabel_soft_margin_loss(self._classify(fmap, self.classifier),
                                                   labels),
            loss_cls_aux=F.multilabel_soft_margin_loss(
                self._classify(fmap_aux, self.aux_classifier), labels))

        # Class-token contrast: the teacher head follows the student by EMA first.
        ema_update(self.proj_head_t, self.proj_head, self.ema_momentum)
        teacher = self.proj_head_t(out.cls_token.detach())
        local_cls = self.backbone(local).cls_token
        student = self.proj_head(torch.cat([out.cls_token, local_cls]))
        losses['loss_ctc'] = st['ctc'] * self.ctc_loss(student, teacher, flags)

        # Segmentation on the PAR-refined pseudo label of the (final or auxiliary) maps.
        seg = self.decoder(fmap)
        seg_cams = valid_cams(cams if st['seg_cams'] == 'cam' else cams_aux, labels)
        par_images = self._denormalize(x).to(torch.uint8).to(x.dtype) / 255.0
        pseudo = refine_cams_with_background(self.par, par_images, seg_cams, labels,
                                             cfg['high_thr'], cfg['low_thr'], box, ignore,
                                             cfg['par_down_scale'])
        seg = F.interpolate(seg, size=pseudo.shape[1:], mode='bilinear', align_corners=False)
        losses['loss_seg'] = st['seg'] * self.seg_loss(seg, pseudo)
        if self.energy_loss is not None and st['energy'] != 0:
            rois = box_mask(box, (h, w)).to(seg.dtype)
            losses['loss_energy'] = st['energy'] * self.energy_loss(
                self._denormalize(x), seg.softmax(dim=1), rois, pseudo, ignore)

        # Patch-token contrast against the affinity of the auxiliary maps' pseudo label.
        aux_small = F.interpolate(cams_aux, size=out.grid, mode='bilinear',
                                  align_corners=False)
        ptc_box = box
        if cfg['ptc_box_on_grid']:
            scale = torch.tensor([out.grid[0] / h] * 2 + [out.grid[1] / w] * 2, device=dev)
            scaled = box.to(torch.float64) * scale
            ptc_box = torch.cat([scaled[:, 0::2].floor(), scaled[:, 1::2].ceil()], dim=1)
            ptc_box = ptc_box[:, [0, 2, 1, 3]].long()
        aux_label = cam_to_label(aux_small, labels, ignore_mid=True, img_box=ptc_box,
                                 ignore_index=ignore, **thr)
        losses['loss_ptc'] = st['ptc'] * self.ptc_loss(fmap, label_to_aff_mask(aux_label,
                                                                               ignore))

        if self.acr_loss is not None:
            losses.update(self._acr(out, b, data_samples))
        return losses

    def _acr(self, out: ToCoViTOutput, b: int,
             data_samples: List[SegDataSample]) -> Dict[str, torch.Tensor]:
        """ACR between the attention of the two global views, aligned by their geometry."""
        attn = out.mean_attns()  # (2B, L, T, T)
        affine = self._meta(data_samples, 'view_affine', attn.device, attn.dtype)
        return self.acr_loss(attn[:b], attn[b:], None, out.num_prefix_tokens,
                             view_affine=affine, grids=(out.grid, out.grid))

    # ----------------------------------------------------------------------- testing
    def _seg_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Decoder logits at the input size with the test-time scales and flip.

        As ``tools/infer_seg_voc.py``: each scale's logits (the mirror's added) resized to
        the input, the element-wise maximum over scales.
        """
        h, w = x.shape[-2:]
        flip = self.test_cfg['seg_flip']
        merged = None
        for s in self.test_cfg['seg_scales']:
            xs = x if s == 1.0 else F.interpolate(
                x, size=(int(h * s), int(w * s)), mode='bilinear', align_corners=False)
            batch = torch.cat([xs, xs.flip(-1)]) if flip else xs
            out = self.backbone(batch)
            seg = self.decoder(self._to_2d(out.patch_tokens, out.grid))
            seg = F.interpolate(seg, size=(h, w), mode='bilinear', align_corners=False)
            if flip:
                seg = seg[:x.shape[0]] + seg[x.shape[0]:].flip(-1)
            merged = seg if merged is None else torch.max(merged, seg)
        return merged

    @staticmethod
    def _to_original(maps: torch.Tensor, sample: SegDataSample, input_size) -> torch.Tensor:
        """(1, K, Hin, Win) maps of the padded input -> (1, K, H0, W0) of the image."""
        ih, iw = sample.img_shape[:2]
        if (ih, iw) != tuple(input_size):
            maps = maps[..., :ih, :iw]
        oh, ow = sample.ori_shape[:2]
        if (oh, ow) != (ih, iw):
            maps = F.interpolate(maps, size=(oh, ow), mode='bilinear', align_corners=False)
        return maps

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor,
                data_samples: List[SegDataSample]) -> List[SegDataSample]:
        """Class maps and segmentation of each image at its original size.

        Returns:
            list[SegDataSample]: With ``pred_cams`` (C, H0, W0) (the final classifier's
            maps of the annotated classes), ``pred_cams_aux``, ``pred_scores`` (C,),
            ``seg_logits`` (C + 1, H0, W0) and ``pred_sem_seg`` (1, H0, W0), refined by
            the dense CRF when ``test_cfg.crf`` is set.
        """
        if inputs.ndim == 5:
            inputs = inputs[:, 0]
        labels = self._meta(data_samples, 'img_labels', inputs.device)
        out = self.backbone(inputs)
        scores = self._classify(self._to_2d(out.patch_tokens, out.grid),
                                self.classifier).sigmoid()
        cams, cams_aux = self.multi_scale_cams(inputs, self.test_cfg['cam_scales'])
        cams, cams_aux = valid_cams(cams, labels), valid_cams(cams_aux, labels)
        seg = self._seg_logits(inputs)
        crf = self._crf()
        size = inputs.shape[-2:]
        for i, sample in enumerate(data_samples):
            to_orig = lambda m: self._to_original(m[i:i + 1], sample, size)[0]  # noqa: E731
            logits = to_orig(seg)
            sample.set_field(to_orig(cams), 'pred_cams', field_type='data')
            sample.set_field(to_orig(cams_aux), 'pred_cams_aux', field_type='data')
            sample.set_field(scores[i], 'pred_scores', field_type='data')
            sample.seg_logits = PixelData(data=logits)
            if crf is not None:
                image = mmcv.imread(sample.img_path, channel_order='rgb')
                probs = crf(logits.softmax(0).float().cpu().numpy(), image)
                pred = torch.from_numpy(probs).argmax(0).to(logits.device)
            else:
                pred = logits.argmax(0)
            sample.pred_sem_seg = PixelData(data=pred[None])
        return data_samples

    def _crf(self):
        if not self.test_cfg.get('crf'):
            return None
        from projects.acr.pseudo_labels.crf import DenseCRF
        return DenseCRF(**self.test_cfg['crf'])
