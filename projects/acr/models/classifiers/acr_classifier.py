"""The stage-1 model: a ViT classifier trained with ACR, producing GETAM class maps."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from ..backbones.attention_vit import ViTOutput
from ..utils import view_token_index

DEFAULT_TEST_CFG = dict(
    scales=(1.0, ),  # image scales of the test-time augmentation
    flip=True,  # also average the horizontally flipped image
    refine=True,  # propagate the maps along the summed patch attention
    use_gt_labels=True,  # maps for the annotated classes, as usual in WSSS
    score_thr=0.5,  # classes kept when use_gt_labels is False
    batched_backward=True,  # all classes in one vectorised backward pass
    # True: the token-grid maps are upsampled straight to the original image size with
    # align_corners=True, as the official inference does after resizing every image to
    # the crop size (the test pipeline's ResizeImageOnly). False: the maps are upsampled
    # to the network input, cropped to the image and resized to the original size
    # (for inference at the native size, with padding).
    align_corners=False,
    # Min-max normalisation (x - min) / (max - min + norm_eps); the official code adds
    # 1e-6. 0 divides by the range alone (GETAM values can be tiny on small models).
    norm_eps=0.0,
)


@MODELS.register_module()
class ACRClassifier(BaseModel):
    """Image-level classifier whose training adds all-pairs consistency (ACR).

    Training takes two views of each image (inputs (B, 2, 3, H, W) with ``view_flip``
    in the data samples), computes the multilabel loss on both and the ACR loss between
    their attentions. Prediction returns, for each image, GETAM class maps at the
    original image size in ``pred_cams`` (C, H, W), min-max normalised per class, and
    the class probabilities in ``pred_scores`` (C,).

    Args:
        backbone (dict): Config of the backbone (:class:`AttentionViT`).
        head (dict): Config of the head (:class:`CAMHead`); ``in_channels`` is filled in.
        acr_loss (dict, optional): Config of :class:`ACRLoss`; None or ``loss_weight=0``
            trains the classifier alone (then a single view suffices).
        data_preprocessor (dict, optional): Config of the data preprocessor.
        test_cfg (dict, optional): Overrides of ``DEFAULT_TEST_CFG``.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 backbone: Dict,
                 head: Dict,
                 acr_loss: Optional[Dict] = None,
                 data_preprocessor: Optional[Dict] = None,
                 test_cfg: Optional[Dict] = None,
                 init_cfg: Optional[Dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        head = dict(head)
        head.setdefault('in_channels', self.backbone.embed_dim)
        self.head = MODELS.build(head)
        use_acr = acr_loss is not None and acr_loss.get('loss_weight', 1.0) != 0
        self.acr_loss = MODELS.build(acr_loss) if use_acr else None
        self.test_cfg = dict(DEFAULT_TEST_CFG, **(test_cfg or {}))

    @staticmethod
    def _labels(data_samples: Sequence[SegDataSample], device) -> torch.Tensor:
        labels = np.stack([np.asarray(s.img_labels, dtype=np.float32) for s in data_samples])
        return torch.from_numpy(labels).to(device)

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[SegDataSample]] = None,
                mode: str = 'tensor') -> Union[Dict, List, torch.Tensor]:
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.head(self.backbone(inputs).cls_token)
        raise RuntimeError(f'invalid mode "{mode}": use loss, predict or tensor')

    def loss(self, inputs: torch.Tensor,
             data_samples: List[SegDataSample]) -> Dict[str, torch.Tensor]:
        """Classification loss on every view plus the ACR loss between views.

        Args:
            inputs (Tensor): (B, V, 3, H, W) views, or (B, 3, H, W) for one view.
            data_samples (list[SegDataSample]): With ``img_labels`` (C,) and, for two
                views, ``view_flip`` (mirror pairs) or ``view_affine`` (2, 3), the map
                from view one's normalised coordinates to view two's (any crop / scale /
                flip pair; used when every sample has it).

        Returns:
            dict[str, Tensor]: ``loss_cls`` (the views' multilabel losses summed) and,
            with ACR, ``loss_intensity`` and ``loss_affinity``.
        """
        if inputs.ndim == 4:
            inputs = inputs[:, None]
        b, v = inputs.shape[:2]
        out = self.backbone(inputs.flatten(0, 1))  # view index runs fastest
        logits = self.head(out.cls_token)
        labels = self._labels(data_samples, logits.device)
        # Summed over the views, as the official objective: MLSM(view 1) + MLSM(view 2).
        losses = self.head.loss(logits.view(b, v, -1), labels)
        if self.acr_loss is not None:
            if v != 2:
                raise ValueError(f'the ACR loss needs two views per image, got {v}; '
                                 "add dict(type='PairedViews') to the train pipeline")
            attn = out.mean_attns()
            attn = attn.view((b, v) + attn.shape[1:])
            if all('view_affine' in s for s in data_samples):
                # A crop / scale / flip pair: the loss resamples view two through the map.
                affine = torch.as_tensor(
                    np.stack([np.asarray(s.view_affine, np.float32) for s in data_samples]),
                    device=attn.device)
                losses.update(
                    self.acr_loss(attn[:, 0], attn[:, 1], None, out.num_prefix_tokens,
                                  view_affine=affine, grids=(out.grid, out.grid)))
                return losses
            index = view_token_index([s.view_flip for s in data_samples], out.grid,
                                     device=attn.device)
            losses.update(
                self.acr_loss(attn[:, 0], attn[:, 1], index, out.num_prefix_tokens))
        return losses

    def _class_ids(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The classes to map: annotated ones, or predicted ones."""
        if not self.test_cfg['use_gt_labels']:
            labels = (logits.sigmoid() > self.test_cfg['score_thr']).to(labels.dtype)
        return labels

    def _grid_cams(
        self,
        inputs: torch.Tensor,
        labels: torch.Tensor,
        scale: float,
        present: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """GETAM maps at one scale on the token grid, the flipped image's mirrored back.

        One forward pass serves the whole scale: the image and its mirror run as one
        batch, the blocks before ``head.start_layer`` run without an autograd graph
        (GETAM differentiates only the later blocks' attention; the refinement reads
        every block's attention, which needs no history), and the last block runs for
        the class token alone (its attention matrix in full, the rest for one token).
        When ``present`` is None the classes to map are predicted from the logits of the
        un-flipped half of this same pass, so no pass runs for the logits alone.

        Args:
            inputs (Tensor): (B, 3, H, W).
            labels (Tensor): Multi-hot (B, C) annotated classes.
            scale (float): Resize factor.
            present (Tensor, optional): Multi-hot (B, C) of the classes to map; None
                predicts them (``use_gt_labels=False``).

        Returns:
            tuple[Tensor, Tensor, Tensor]: The maps (B, C, h, w) on the patch grid of
            the scaled input, zero for classes not present; the logits (B, C) of the
            un-flipped images at this scale; the classes mapped, multi-hot (B, C).
        """
        b, _, h, w = inputs.shape
        x = inputs
        if scale != 1.0:
            d = self.data_preprocessor.size_divisor
            size = (max(d, round(h * scale / d) * d), max(d, round(w * scale / d) * d))
            x = F.interpolate(x, size=size, mode='bilinear', align_corners=False)
        if self.test_cfg['flip']:
            x = torch.cat([x, x.flip(-1)])
        # A negative start layer counts from the end: then the whole graph is kept.
        grad_from = min(max(self.head.start_layer, 0), self.backbone.num_blocks)
        # Only the class token reaches the scores: the last block runs for it alone.
        out: ViTOutput = self.backbone(x, grad_from_block=grad_from, class_token_only=True)
        logits = self.head(out.cls_token)
        scores = logits[:b].detach()
        if present is None:
            present = self._class_ids(scores, labels)
        class_ids = present.any(0).nonzero()[:, 0]
        cams = inputs.new_zeros((b, present.shape[1]) + tuple(out.grid))
        if class_ids.numel() == 0:
            return cams, scores, present
        cam = self.head.getam(logits, out, class_ids,
                              batched=self.test_cfg['batched_backward'])
        if self.test_cfg['refine']:
            cam = self.head.refine(cam, self.head.affinity(out))
        cam = self.head.to_grid(cam, out.grid)  # (K, B', gh, gw)
        if self.test_cfg['flip']:
            cam = cam[:, :b] + cam[:, b:].flip(-1)
        cams[:, class_ids] = cam.transpose(0, 1) * present[:, class_ids, None, None]
        return cams, scores, present

    def _upsample(self, grid_cams: torch.Tensor, sample: SegDataSample,
                  input_size) -> torch.Tensor:
        """One image's grid maps (1, C, h, w) at its original size (1, C, H0, W0)."""
        oh, ow = sample.ori_shape[:2]
        if self.test_cfg['align_corners']:
            ih, iw = sample.img_shape[:2]
            if (ih, iw) != tuple(input_size):
                raise ValueError(
                    f'test_cfg.align_corners=True maps the whole input to the image, but '
                    f'{sample.get("img_path", "an image")} of size {ih}x{iw} was padded to '
                    f'{input_size[0]}x{input_size[1]}; resize every image to one size '
                    f"(dict(type='ResizeImageOnly', scale=...)) or set align_corners=False")
            return F.interpolate(grid_cams, size=(oh, ow), mode='bilinear', align_corners=True)
        cam = F.interpolate(grid_cams, size=tuple(input_size), mode='bilinear',
                            align_corners=False)
        ih, iw = sample.img_shape[:2]
        cam = cam[..., :ih, :iw]
        if (oh, ow) != (ih, iw):
            cam = F.interpolate(cam, size=(oh, ow), mode='bilinear', align_corners=False)
        return cam

    def predict(self, inputs: torch.Tensor,
                data_samples: List[SegDataSample]) -> List[SegDataSample]:
        """GETAM class maps with test-time augmentation.

        Args:
            inputs (Tensor): (B, 3, H, W), padded.
            data_samples (list[SegDataSample]): With ``img_labels``, ``img_shape``
                and ``ori_shape``.

        Returns:
            list[SegDataSample]: The samples with ``pred_cams`` (C, H0, W0) in [0, 1]
            at the original size and ``pred_scores`` (C,).
        """
        if inputs.ndim == 5:  # views given at test time: use the first
            inputs = inputs[:, 0]
        labels = self._labels(data_samples, inputs.device)
        scales = list(self.test_cfg['scales'])
        present = labels if self.test_cfg['use_gt_labels'] else None
        scores = None
        if 1.0 not in scales:
            # No mapping pass sees the image at its size: one pass without a graph gives
            # its scores and, when they are predicted, the classes every scale maps.
            with torch.no_grad():
                scores = self.head(self.backbone(inputs, class_token_only=True).cls_token)
            if present is None:
                present = self._class_ids(scores, labels)
        # Scale 1 first: the un-flipped half of its pass gives the scores (and classes).
        order = sorted(range(len(scales)), key=lambda i: scales[i] != 1.0)
        grids: List[Optional[torch.Tensor]] = [None] * len(scales)
        # GETAM differentiates the class scores; evaluation loops run under no_grad.
        with torch.enable_grad():
            for i in order:
                grids[i], logits, present = self._grid_cams(inputs, labels, scales[i],
                                                            present)
                if scores is None:
                    scores = logits
        input_size = inputs.shape[-2:]
        for i, sample in enumerate(data_samples):
            # Maps of absent classes are zero and stay zero through upsampling and
            # normalisation: only the present ones are resized.
            ids = present[i].nonzero()[:, 0]
            # Each scale is upsampled to the image before the scales are summed (an
            # image without classes has its size from one zero map).
            sel = ids if ids.numel() else ids.new_zeros(1)
            cam = sum(self._upsample(g[i:i + 1, sel], sample, input_size) for g in grids)
            cams = cam.new_zeros((present.shape[1], ) + tuple(cam.shape[-2:]))
            if ids.numel():
                cams[ids] = normalize_cams(cam[0], eps=self.test_cfg['norm_eps'])
            sample.set_field(cams, 'pred_cams', field_type='data')
            sample.set_field(scores[i].sigmoid(), 'pred_scores', field_type='data')
        return data_samples


def normalize_cams(cams: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    """Min-max normalises each map: ``(x - min) / (max - min + eps)``.

    With ``eps=0`` every non-constant map spans [0, 1] exactly and constant maps become
    zero: GETAM values are products of gradients (and attention) and can be tiny (1e-8 on
    small models), where an additive epsilon would flatten them. The official inference
    uses ``eps=1e-6``.

    Args:
        cams (Tensor): (C, H, W), non-negative.
        eps (float): Added to each map's range.

    Returns:
        Tensor: (C, H, W).
    """
    flat = cams.flatten(1)
    lo = flat.min(dim=1).values[:, None, None]
    span = flat.max(dim=1).values[:, None, None] - lo
    if eps > 0:
        return (cams - lo) / (span + eps)
    tiny = torch.finfo(cams.dtype).tiny
    return (cams - lo) / span.clamp(min=tiny) * (span > 0).to(cams.dtype)
