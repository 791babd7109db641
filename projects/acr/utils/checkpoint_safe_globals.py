"""Lets mmengine resume its own checkpoints under torch's ``weights_only`` loading."""
from typing import List

import numpy as np
import torch


def mmengine_checkpoint_globals() -> List[type]:
    """Classes and functions that mmengine checkpoints pickle besides tensors.

    A checkpoint's ``message_hub`` holds :class:`HistoryBuffer` objects with numpy arrays
    and numpy scalars, which torch >= 2.6 refuses to unpickle by default.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [type(np.dtype(t)) for t in (
        np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
        np.uint8, np.uint16, np.uint32, np.uint64, np.bool_)]
    return [HistoryBuffer, _reconstruct, scalar, np.ndarray, np.dtype] + dtype_classes


def allow_mmengine_checkpoints() -> None:
    """Allow-lists exactly those globals for ``torch.load(weights_only=True)``.

    Loading stays restricted for everything else; ``weights_only`` is not switched
    off. Safe to call more than once.
    """
    if hasattr(torch.serialization, 'add_safe_globals'):
        torch.serialization.add_safe_globals(mmengine_checkpoint_globals())
