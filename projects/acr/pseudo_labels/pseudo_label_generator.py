"""Pseudo labels of one image from its class maps: background rule, dense CRF, ignore band.

Two label maps are made from the same class maps with two background strengths, each
refined by the dense CRF:

* the **confident** map uses a strong background (power rule with the low alpha, or the
  high threshold): what it calls foreground is reliable foreground;
* the **permissive** map uses a weak background (high alpha, or the low threshold): what
  it still calls background is reliable background.

Pixels where the two agree keep that label; pixels where they disagree (mostly the band
that only the permissive map calls foreground, plus the rare pixels given two different
classes) are set to ``ignore_index`` (255), so the segmenter trained on them ignores them.
This is AffinityNet's la/ha CRF pairing, which the ACR pipeline runs with alpha 1 and 12
(its PSA step reads ``crf_1`` and ``crf_12``, as MCTformer's defaults ``low_alpha=1``,
``high_alpha=12``); ToCo does the same with background thresholds 0.7 and 0.25. Where the
two maps name different foreground classes, AffinityNet and ToCo keep the class of one of
them; here such pixels are ignored too, which only changes a handful of boundary pixels.

With a single threshold (or equal alphas) one map is made and no pixel is ignored.

The generator works on arrays only; :mod:`.label_writer` does the file side.
"""
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from .background import background_stack, check_class_ids, labels_from_stack
from .crf import DenseCRF

# The ACR / MCTformer pairing for ViT class maps (AffinityNet used 4 / 32 for ResNet-38).
DEFAULT_ALPHA_LOW = 1.0
DEFAULT_ALPHA_HIGH = 12.0


def _to_numpy(x: Any, dtype: Optional[type] = None) -> np.ndarray:
    """Arrays as they are, torch tensors (any device) copied to host memory."""
    if hasattr(x, 'detach'):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


class PseudoLabelGenerator:
    """Turns the class maps of one image into a pseudo label.

    Args:
        mode (str): Background rule, ``'power'`` (``(1 - max cam) ** alpha``) or
            ``'threshold'`` (constant background score). Defaults to ``'power'``.
        bg_thr (float | Sequence[float], optional): Threshold mode only: one background
            score, or two (low, high) for a permissive and a confident map with an ignore
            band between them. Required in threshold mode, where the best value is the one
            the CAM evaluation sweep reports.
        alpha_low (float): Power mode: exponent of the confident map (strong background).
            Defaults to 1.
        alpha_high (float): Power mode: exponent of the permissive map (weak background).
            Defaults to 12. Equal alphas give a single map without ignored pixels.
        crf (bool | dict | DenseCRF): Dense CRF refinement of each map: True for
            :class:`DenseCRF` with its defaults, a dict of its arguments, an instance, or
            False for the plain argmax. Defaults to True.
        ignore_index (int): Value of disagreeing pixels. Defaults to 255.

    Example:
        >>> gen = PseudoLabelGenerator(mode='power', alpha_low=1, alpha_high=12)
        >>> label = gen(cams, class_ids, image)         # stored (K, H, W) maps
        >>> label = gen.from_dense(cams, image, labels)  # dense (C, H, W) maps
    """

    def __init__(self,
                 mode: str = 'power',
                 bg_thr: Optional[Union[float, Sequence[float]]] = None,
                 alpha_low: float = DEFAULT_ALPHA_LOW,
                 alpha_high: float = DEFAULT_ALPHA_HIGH,
                 crf: Union[bool, dict, DenseCRF] = True,
                 ignore_index: int = 255) -> None:
        if mode == 'threshold':
            if bg_thr is None:
                raise ValueError('pseudo-label mode "threshold" needs bg_thr (one value, or '
                                 'two for an ignore band), e.g. the best threshold of the '
                                 'CAM evaluation')
            thrs = sorted(float(t) for t in np.atleast_1d(np.asarray(bg_thr, dtype=float)))
            if len(thrs) not in (1, 2):
                raise ValueError(f'bg_thr takes one or two values, got {bg_thr}')
            # Confident (strong background) first.
            self._bg_args: List[dict] = [dict(bg_thr=t) for t in reversed(thrs)]
        elif mode == 'power':
            alpha_low, alpha_high = float(alpha_low), float(alpha_high)
            if not (alpha_low > 0 and alpha_high > 0):
                raise ValueError(f'alphas must be > 0, got alpha_low={alpha_low}, '
                                 f'alpha_high={alpha_high}')
            if alpha_low > alpha_high:
                raise ValueError(f'alpha_low ({alpha_low}) must not exceed alpha_high '
                                 f'({alpha_high}): the low alpha gives the stronger background')
            alphas = [alpha_low] if alpha_low == alpha_high else [alpha_low, alpha_high]
            self._bg_args = [dict(alpha=a) for a in alphas]
        else:
            raise ValueError(f'unknown pseudo-label mode {mode!r}, expected "power" or '
                             '"threshold"')
        if not 0 <= int(ignore_index) <= 255:
            raise ValueError(f'ignore_index must fit in uint8, got {ignore_index}')
        self.mode = mode
        self.ignore_index = int(ignore_index)
        if isinstance(crf, DenseCRF):
            self.crf: Optional[DenseCRF] = crf
        elif isinstance(crf, dict):
            self.crf = DenseCRF(**crf)
        elif crf is True:
            self.crf = DenseCRF()
        elif crf is False or crf is None:
            self.crf = None
        else:
            raise TypeError(f'crf must be a bool, a dict of DenseCRF arguments or a DenseCRF, '
                            f'got {type(crf).__name__}')

    @property
    def has_ignore_band(self) -> bool:
        """Whether two maps are made, so that disagreeing pixels are ignored."""
        return len(self._bg_args) == 2

    def settings(self) -> Dict[str, Any]:
        """JSON-serialisable settings that determine the labels (recorded with them)."""
        crf = None if self.crf is None else {
            k: getattr(self.crf, k) for k in ('n_iters', 'gaussian_sxy', 'gaussian_compat',
                                              'bilateral_sxy', 'bilateral_srgb',
                                              'bilateral_compat', 'clip')}
        return dict(mode=self.mode, background=[dict(a) for a in self._bg_args], crf=crf,
                    ignore_index=self.ignore_index)

    def __repr__(self) -> str:
        key = 'bg_thr' if self.mode == 'threshold' else 'alpha'
        values = ', '.join(str(args[key]) for args in self._bg_args)
        return (f'{type(self).__name__}(mode={self.mode!r}, {key} (confident first)=[{values}], '
                f'crf={self.crf!r}, ignore_index={self.ignore_index})')

    def stacks(self, cams: np.ndarray) -> List[np.ndarray]:
        """Background-first score stacks, the confident one first.

        Args:
            cams (np.ndarray): (K, H, W) class maps in [0, 1].

        Returns:
            list[np.ndarray]: One or two float32 (K + 1, H, W) stacks.
        """
        return [background_stack(cams, self.mode, **args) for args in self._bg_args]

    def label_maps(self, cams: np.ndarray, class_ids: Sequence[int],
                   image: Optional[np.ndarray] = None) -> List[np.ndarray]:
        """The confident and (if any) permissive label maps before they are combined.

        Args:
            cams (np.ndarray): (K, H, W) class maps in [0, 1].
            class_ids (Sequence[int]): (K,) foreground class indices (mask value - 1).
            image (np.ndarray, optional): (H, W, 3) uint8 image; required with the CRF.
                The CRF's colour kernel treats the channels alike, so RGB and BGR give the
                same result.

        Returns:
            list[np.ndarray]: One or two uint8 (H, W) maps with values 0 and
            ``class_ids + 1``.
        """
        cams = _to_numpy(cams, np.float32)
        if cams.ndim != 3:
            raise ValueError(f'class maps must have shape (K, H, W), got {cams.shape}')
        class_ids = check_class_ids(_to_numpy(class_ids), cams.shape[0], self.ignore_index)
        if self.crf is not None and image is None:
            raise ValueError('the CRF needs the image; pass it or use crf=False')
        maps = []
        for stack in self.stacks(cams):
            if self.crf is None:
                maps.append(labels_from_stack(stack, class_ids, self.ignore_index))
            else:
                maps.append(self.crf.labels(stack, _to_numpy(image), class_ids,
                                            self.ignore_index))
        return maps

    def combine(self, maps: Sequence[np.ndarray]) -> np.ndarray:
        """One pseudo label from the confident and permissive maps.

        Args:
            maps (Sequence[np.ndarray]): One or two uint8 (H, W) maps, confident first.

        Returns:
            np.ndarray: uint8 (H, W): the agreed label, ``ignore_index`` where they differ.
        """
        label = np.array(maps[0], dtype=np.uint8, copy=True)
        for other in maps[1:]:
            label[label != other] = self.ignore_index
        return label

    def __call__(self, cams: np.ndarray, class_ids: Sequence[int],
                 image: Optional[np.ndarray] = None) -> np.ndarray:
        """Pseudo label from the maps of the present classes (the stored format).

        Args:
            cams (np.ndarray): (K, H, W) maps in [0, 1] of the K classes in ``class_ids``.
            class_ids (Sequence[int]): (K,) foreground class indices (mask value - 1).
            image (np.ndarray, optional): (H, W, 3) uint8 image; required with the CRF.

        Returns:
            np.ndarray: uint8 (H, W) with values in ``{0, class_ids + 1, ignore_index}``.
        """
        return self.combine(self.label_maps(cams, class_ids, image))

    def from_dense(self, cams: np.ndarray, image: Optional[np.ndarray] = None,
                   img_labels: Optional[np.ndarray] = None) -> np.ndarray:
        """Pseudo label from maps of all C foreground classes.

        Args:
            cams (np.ndarray | torch.Tensor): (C, H, W) maps in [0, 1], one per foreground
                class (no background channel).
            image (np.ndarray, optional): (H, W, 3) uint8 image; required with the CRF.
            img_labels (np.ndarray, optional): (C,) image-level labels (multi-hot); only the
                classes marked present compete with the background. Defaults to the
                classes whose map is nonzero somewhere.

        Returns:
            np.ndarray: uint8 (H, W) with values in ``{0, present ids + 1, ignore_index}``.
        """
        cams = _to_numpy(cams, np.float32)
        if cams.ndim != 3:
            raise ValueError(f'class maps must have shape (C, H, W), got {cams.shape}')
        if img_labels is None:
            present = np.flatnonzero(cams.reshape(cams.shape[0], -1).max(axis=1, initial=0) > 0)
        else:
            img_labels = _to_numpy(img_labels).reshape(-1)
            if img_labels.shape[0] != cams.shape[0]:
                raise ValueError(f'{img_labels.shape[0]} image labels for {cams.shape[0]} '
                                 'class maps')
            present = np.flatnonzero(img_labels > 0)
        return self(cams[present], present, image)


def make_pseudo_label(cams: np.ndarray,
                      image: Optional[np.ndarray] = None,
                      img_labels: Optional[np.ndarray] = None,
                      **kwargs: Any) -> np.ndarray:
    """One-call form of :meth:`PseudoLabelGenerator.from_dense`.

    Args:
        cams (np.ndarray | torch.Tensor): (C, H, W) maps in [0, 1] of all foreground classes.
        image (np.ndarray, optional): (H, W, 3) uint8 image; required with the CRF.
        img_labels (np.ndarray, optional): (C,) multi-hot image-level labels.
        **kwargs: :class:`PseudoLabelGenerator` arguments (mode, bg_thr, alpha_low,
            alpha_high, crf, ignore_index).

    Returns:
        np.ndarray: uint8 (H, W) with values in ``{0, class ids + 1, ignore_index}``.
    """
    return PseudoLabelGenerator(**kwargs).from_dense(cams, image, img_labels)
