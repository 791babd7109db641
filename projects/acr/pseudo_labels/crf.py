"""Fully connected CRF (Krähenbühl & Koltun, 2011) over a score stack, with pydensecrf.

The unary of label ``l`` at a pixel is ``-log(max(p_l, clip))`` of the given scores. The
scores need not sum to one: scaling all labels of a pixel by the same factor adds the same
constant to their unaries, which mean-field inference ignores, so a background-plus-classes
stack can be passed as it is (as AffinityNet and its successors do).

Pairwise terms: a Gaussian smoothness kernel over position and a bilateral appearance
kernel over position and RGB colour, both with Potts compatibility. The defaults are the
ones of AffinityNet's ``crf_inference`` (10 iterations; Gaussian sxy 3, compat 3; bilateral
sxy 80, srgb 13, compat 10), which the PSA refinement in the ACR and MCTformer pipelines
uses on their alpha-1/12 maps. ToCo's pseudo-label CRF is a tighter variant (bilateral sxy
36, srgb 3, compat 4; Gaussian compat 3) and can be chosen through the arguments.

``pydensecrf`` comes from the ``pydensecrf2`` package (``pip install pydensecrf2``, or
``pip install -r requirements/optional.txt``); it is imported on first use only.
"""
from typing import Any, Dict, Sequence

import numpy as np

from .background import check_class_ids, index_to_label

INSTALL_HINT = ('the dense CRF needs pydensecrf: install it with `pip install pydensecrf2` '
                '(or `pip install -r requirements/optional.txt`), or turn the CRF off '
                '(make_pseudo_labels.py --no-crf, PseudoLabelGenerator(crf=False))')


def import_densecrf() -> Any:
    """Imports ``pydensecrf.densecrf`` or raises an ImportError that says how to install it."""
    try:
        import pydensecrf.densecrf as dcrf
    except ImportError as err:
        raise ImportError(f'{INSTALL_HINT} ({err})') from err
    return dcrf


class DenseCRF:
    """Mean-field inference of a dense CRF on an RGB image.

    Args:
        n_iters (int): Mean-field iterations. Defaults to 10.
        gaussian_sxy (float): Spatial std (pixels) of the smoothness kernel. Defaults to 3.
        gaussian_compat (float): Weight of the smoothness kernel. Defaults to 3.
        bilateral_sxy (float): Spatial std (pixels) of the appearance kernel. Defaults to 80.
        bilateral_srgb (float): Colour std (0-255 units) of the appearance kernel.
            Defaults to 13.
        bilateral_compat (float): Weight of the appearance kernel. Defaults to 10.
        clip (float): Smallest score before the log, so that zero scores give a large but
            finite unary. Defaults to 1e-5 (pydensecrf's own default).
    """

    def __init__(self,
                 n_iters: int = 10,
                 gaussian_sxy: float = 3.0,
                 gaussian_compat: float = 3.0,
                 bilateral_sxy: float = 80.0,
                 bilateral_srgb: float = 13.0,
                 bilateral_compat: float = 10.0,
                 clip: float = 1e-5) -> None:
        if int(n_iters) < 1:
            raise ValueError(f'n_iters must be >= 1, got {n_iters}')
        for name, value in (('gaussian_sxy', gaussian_sxy), ('bilateral_sxy', bilateral_sxy),
                            ('bilateral_srgb', bilateral_srgb), ('clip', clip)):
            if not value > 0:
                raise ValueError(f'{name} must be > 0, got {value}')
        for name, value in (('gaussian_compat', gaussian_compat),
                            ('bilateral_compat', bilateral_compat)):
            if value < 0:
                raise ValueError(f'{name} must be >= 0, got {value}')
        self.n_iters = int(n_iters)
        self.gaussian_sxy = float(gaussian_sxy)
        self.gaussian_compat = float(gaussian_compat)
        self.bilateral_sxy = float(bilateral_sxy)
        self.bilateral_srgb = float(bilateral_srgb)
        self.bilateral_compat = float(bilateral_compat)
        self.clip = float(clip)
        import_densecrf()  # fail at construction, not in the middle of a run

    def params(self) -> Dict[str, float]:
        """The settings, as keyword arguments of the constructor."""
        return dict(n_iters=self.n_iters, gaussian_sxy=self.gaussian_sxy,
                    gaussian_compat=self.gaussian_compat, bilateral_sxy=self.bilateral_sxy,
                    bilateral_srgb=self.bilateral_srgb, bilateral_compat=self.bilateral_compat,
                    clip=self.clip)

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v}' for k, v in self.params().items())
        return f'{type(self).__name__}({args})'

    @staticmethod
    def _check_image(image: np.ndarray, size: tuple) -> np.ndarray:
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f'CRF image must be RGB with shape (H, W, 3), got {image.shape}')
        if image.shape[:2] != tuple(size):
            raise ValueError(f'CRF image of size {image.shape[:2]} does not match the score '
                             f'maps of size {tuple(size)}')
        if image.dtype != np.uint8:
            if np.issubdtype(image.dtype, np.floating) and image.size and image.max() <= 1.0:
                raise ValueError('CRF image must hold 0-255 colours (uint8), got floats in '
                                 '[0, 1]; multiply by 255 first')
            image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
        if not (image.flags.c_contiguous and image.flags.writeable):
            # pydensecrf takes a writable C-contiguous buffer (PIL arrays are read-only).
            image = np.array(image, order='C', copy=True)
        return image

    def __call__(self, scores: np.ndarray, image: np.ndarray) -> np.ndarray:
        """Posterior marginals of the CRF.

        Args:
            scores (np.ndarray): (N, H, W) non-negative scores of N labels.
            image (np.ndarray): (H, W, 3) RGB image, uint8 (other dtypes are rounded).

        Returns:
            np.ndarray: float32 (N, H, W) marginals, summing to 1 over N.
        """
        scores = np.asarray(scores, dtype=np.float32)
        if scores.ndim != 3 or scores.shape[0] < 1:
            raise ValueError(f'CRF scores must have shape (N, H, W), got {scores.shape}')
        n, h, w = scores.shape
        image = self._check_image(image, (h, w))
        if n == 1:
            return np.ones_like(scores)
        dcrf = import_densecrf()
        unary = -np.log(np.clip(scores, self.clip, None)).reshape(n, -1)
        crf = dcrf.DenseCRF2D(w, h, n)
        crf.setUnaryEnergy(np.ascontiguousarray(unary, dtype=np.float32))
        crf.addPairwiseGaussian(sxy=self.gaussian_sxy, compat=self.gaussian_compat)
        crf.addPairwiseBilateral(sxy=self.bilateral_sxy, srgb=self.bilateral_srgb,
                                 rgbim=image, compat=self.bilateral_compat)
        q = crf.inference(self.n_iters)
        return np.asarray(q, dtype=np.float32).reshape(n, h, w)

    def labels(self, stack: np.ndarray, image: np.ndarray, class_ids: Sequence[int],
               ignore_index: int = 255) -> np.ndarray:
        """Label map after CRF refinement of a background-first score stack.

        Args:
            stack (np.ndarray): (K + 1, H, W) scores, background first.
            image (np.ndarray): (H, W, 3) RGB image.
            class_ids (Sequence[int]): (K,) foreground class indices of maps 1..K.
            ignore_index (int): Reserved mask value (checked against the class ids).

        Returns:
            np.ndarray: uint8 (H, W) with values 0 and ``class_ids + 1`` only.
        """
        stack = np.asarray(stack)
        if stack.ndim != 3 or stack.shape[0] < 1:
            raise ValueError(f'score stack must have shape (K + 1, H, W), got {stack.shape}')
        class_ids = check_class_ids(class_ids, stack.shape[0] - 1, ignore_index)
        return index_to_label(self(stack, image).argmax(axis=0), class_ids)
