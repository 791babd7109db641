"""AffinityNet (PSA, Ahn & Kwak, CVPR 2018): features whose L1 distance is the affinity."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmseg.registry import MODELS

from .affinity_graph import AffinityGraph
from .affinity_labels import affinity_targets
from .pair_geometry import radius_pairs


@MODELS.register_module()
class AffinityNet(BaseModel):
    """A dilated CNN and PSA's feature head; affinity ``exp(-mean |f_i - f_j|)``.

    The head projects three backbone stages at output stride 8 by 1x1 convolutions
    (PSA: 64, 128 and 256 channels), concatenates them and mixes them with a 1x1
    convolution (448 channels), each followed by an ELU. The affinity of two grid
    positions closer than ``radius`` is ``exp(-mean_c |f_i,c - f_j,c|)`` in (0, 1].

    Training samples carry ``gt_sem_seg`` of shape (2, H, W), the low-alpha and
    high-alpha CRF labels (``PackAffinityInputs``), or (1, H, W), a combined label; they
    are turned into pair labels on the feature grid (:func:`affinity_targets`).

    Args:
        backbone (dict): Config of an mmseg backbone with output stride ``stride``, e.g. a
            ``ResNetV1c`` with strides (1, 2, 1, 1) and dilations (1, 1, 2, 4).
        in_index (Sequence[int]): Backbone outputs the head reads. Defaults to (1, 2, 3).
        in_channels (Sequence[int]): Their channels. Defaults to (512, 1024, 2048).
        proj_channels (Sequence[int]): Channels of their projections. Defaults to
            (64, 128, 256) (PSA).
        feat_channels (int): Channels of the affinity features. Defaults to 448 (PSA).
        radius (int): Pair radius on the feature grid. Defaults to 5 (PSA).
        stride (int): Output stride of the features. Defaults to 8.
        ignore_index (int): Unknown label value. Defaults to 255.
        loss (dict): Loss config. Defaults to ``dict(type='AffinityLoss')``.
        data_preprocessor (dict, optional): Normalisation and batching, e.g. mmseg's
            ``SegDataPreProcessor`` with ``seg_pad_val=255``.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 in_index: Sequence[int] = (1, 2, 3),
                 in_channels: Sequence[int] = (512, 1024, 2048),
                 proj_channels: Sequence[int] = (64, 128, 256),
                 feat_channels: int = 448,
                 radius: int = 5,
                 stride: int = 8,
                 ignore_index: int = 255,
                 loss: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if not len(in_index) == len(in_channels) == len(proj_channels):
            raise ValueError(f'in_index {tuple(in_index)}, in_channels {tuple(in_channels)} '
                             f'and proj_channels {tuple(proj_channels)} must have one length')
        self.backbone = MODELS.build(backbone)
        self.in_index = tuple(int(i) for i in in_index)
        self.radius = int(radius)
        self.stride = int(stride)
        self.ignore_index = int(ignore_index)
        self.head = nn.ModuleDict(dict(
            proj=nn.ModuleList(nn.Conv2d(c, p, 1, bias=False)
                               for c, p in zip(in_channels, proj_channels)),
            fuse=nn.Conv2d(sum(proj_channels), feat_channels, 1, bias=False)))
        for conv in self.head['proj']:
            nn.init.kaiming_normal_(conv.weight)
        # PSA's gain 4: features start spread out, so initial affinities are not all ~1.
        nn.init.xavier_uniform_(self.head['fuse'].weight, gain=4)
        self.loss_module = MODELS.build(loss or dict(type='AffinityLoss'))
        self._pair_cache: Dict[Tuple[int, int, str], Tuple[torch.Tensor, torch.Tensor]] = {}

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """Affinity features.

        Args:
            inputs (torch.Tensor): (B, 3, H, W) normalised images.

        Returns:
            torch.Tensor: (B, feat_channels, h, w), h = H / stride (rounded up).
        """
        outs = self.backbone(inputs)
        feats = [outs[i] for i in self.in_index]
        size = feats[0].shape[2:]
        proj = [F.elu(conv(f if f.shape[2:] == size else
                           F.interpolate(f, size=size, mode='bilinear', align_corners=False)))
                for conv, f in zip(self.head['proj'], feats)]
        return F.elu(self.head['fuse'](torch.cat(proj, dim=1)))

    def pairs(self, height: int, width: int,
              device: torch.device) -> Tuple[torch.Tensor, torch.Tensor]:
        """The (cached) pair indices of a grid; see :func:`radius_pairs`."""
        key = (int(height), int(width), str(device))
        if key not in self._pair_cache:
            self._pair_cache[key] = radius_pairs(height, width, self.radius, device)
        return self._pair_cache[key]

    @staticmethod
    def pair_affinity(feats: torch.Tensor, index_from: torch.Tensor,
                      index_to: torch.Tensor) -> torch.Tensor:
        """``exp(-mean |f_i - f_j|)`` of the given pairs.

        Args:
            feats (torch.Tensor): (B, D, h, w) features.
            index_from (torch.Tensor): (P,) flat indices.
            index_to (torch.Tensor): (P,) flat indices.

        Returns:
            torch.Tensor: (B, P) affinities in (0, 1].
        """
        flat = feats.flatten(2)
        return torch.exp(-(flat[:, :, index_from] - flat[:, :, index_to]).abs().mean(dim=1))

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[list] = None,
                mode: str = 'tensor') -> Union[Dict[str, torch.Tensor], List[AffinityGraph],
                                               torch.Tensor]:
        """``loss``: the loss terms; ``predict``: one :class:`AffinityGraph` per image;
        ``tensor``: the features (B, D, h, w)."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs)
        if mode == 'tensor':
            return self.extract_feat(inputs)
        raise ValueError(f'invalid mode {mode!r}, expected "loss", "predict" or "tensor"')

    def loss(self, inputs: torch.Tensor, data_samples: list) -> Dict[str, torch.Tensor]:
        """Loss of a batch against the affinity labels of its CRF label maps.

        Args:
            inputs (torch.Tensor): (B, 3, H, W) normalised images.
            data_samples (list[SegDataSample]): ``gt_sem_seg`` (2, H, W) low/high-alpha
                labels or (1, H, W) combined labels.

        Returns:
            dict[str, torch.Tensor]: Loss terms and pair counts.
        """
        if not data_samples or 'gt_sem_seg' not in data_samples[0]:
            raise ValueError('AffinityNet training needs data samples with gt_sem_seg '
                             '(the CRF label maps; see PackAffinityInputs)')
        labels = torch.stack([s.gt_sem_seg.data for s in data_samples]).long()  # (B, L, H, W)
        feats = self.extract_feat(inputs)
        size = tuple(feats.shape[2:])
        high = labels[:, 1] if labels.shape[1] > 1 else None
        targets = affinity_targets(labels[:, 0], high, size, self.radius, self.stride,
                                   self.ignore_index)
        aff = self.pair_affinity(feats, targets['index_from'], targets['index_to'])
        return self.loss_module(aff, targets['bg'], targets['fg'], targets['neg'])

    def predict(self, inputs: torch.Tensor) -> List[AffinityGraph]:
        """Pair affinities of each image on its stride-``stride`` grid.

        The images are zero-padded (after normalisation, as PSA does) to a multiple of the
        stride, so the grid has ``ceil(H / stride) x ceil(W / stride)`` positions.

        Args:
            inputs (torch.Tensor): (B, 3, H, W) normalised images.

        Returns:
            list[AffinityGraph]: One graph per image (on the inputs' device).
        """
        h, w = inputs.shape[2:]
        pad_h, pad_w = -h % self.stride, -w % self.stride
        feats = self.extract_feat(F.pad(inputs, (0, pad_w, 0, pad_h)))
        gh, gw = (h + pad_h) // self.stride, (w + pad_w) // self.stride
        if tuple(feats.shape[2:]) != (gh, gw):
            raise RuntimeError(f'the backbone gives a {tuple(feats.shape[2:])} grid for a '
                               f'{h + pad_h}x{w + pad_w} input, expected {(gh, gw)}: its '
                               f'output stride is not {self.stride}')
        index_from, index_to = self.pairs(gh, gw, feats.device)
        aff = self.pair_affinity(feats, index_from, index_to)
        return [AffinityGraph(gh, gw, index_from, index_to, a) for a in aff]
