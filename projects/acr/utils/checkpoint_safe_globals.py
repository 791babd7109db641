"""Lets mmengine resume its own checkpoints under torch's ``weights_only`` loading.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True`` and refuses every global
that is not a tensor type or explicitly allow-listed. mmengine 0.10.7 resumes with that
default, and its checkpoints pickle more than tensors: the ``message_hub`` holds
:class:`~mmengine.logging.HistoryBuffer` objects (numpy arrays and scalars inside), and
each buffer pickles its statistics methods (``HistoryBuffer.min`` ...). Pickle protocol 2,
which ``torch.save`` uses, stores such a method as ``builtins.getattr(HistoryBuffer,
'min')``.

Allow-listing ``builtins.getattr`` itself would let a checkpoint reach any attribute of any
allowed object (``getattr(getattr, '__self__')`` is the builtins module), and
``HistoryBuffer.__setstate__`` copies whatever it receives into a class-level table that
mmengine calls later. So ``builtins.getattr`` is mapped to :func:`history_buffer_method`
instead, which resolves exactly ``HistoryBuffer.{min,max,current,mean}`` and rejects
everything else. ``weights_only`` is never switched off.
"""
import pickle
from typing import Any, Callable, List, Tuple, Union

import numpy as np
import torch

# Statistics that mmengine registers on every HistoryBuffer; their pickled form is
# ``getattr(HistoryBuffer, name)``.
HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')

SafeGlobal = Union[Callable, Tuple[Callable, str]]


def history_buffer_method(owner: Any, name: str) -> Callable:
    """Restricted ``getattr`` used while unpickling mmengine checkpoints.

    Args:
        owner: Object the checkpoint asks an attribute of.
        name (str): Attribute name.

    Returns:
        Callable: ``getattr(HistoryBuffer, name)`` for the default statistics methods.

    Raises:
        pickle.UnpicklingError: For any other object or attribute.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    if owner is HistoryBuffer and name in HISTORY_BUFFER_STATISTICS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'weights_only checkpoint loading allows getattr only for HistoryBuffer.'
        f'{{{",".join(HISTORY_BUFFER_STATISTICS)}}}, but the checkpoint asks for '
        f'{getattr(owner, "__name__", type(owner).__name__)}.{name}; load it with '
        'weights_only=False only if you trust its source')


def mmengine_checkpoint_globals() -> List[SafeGlobal]:
    """Globals that mmengine checkpoints pickle besides tensors.

    Returns:
        list: Items for :func:`torch.serialization.add_safe_globals`: classes and
        functions, or ``(object, 'module.name')`` pairs for objects stored under another
        name (numpy 1.x and 2.x name their array reconstructors differently, so
        checkpoints from either load under both).
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [type(np.dtype(t)) for t in (
        np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
        np.uint8, np.uint16, np.uint32, np.uint64, np.bool_)]
    numpy_aliases = [(fn, f'{module}.{fn.__name__}') for fn in (_reconstruct, scalar)
                     for module in ('numpy.core.multiarray', 'numpy._core.multiarray')]
    return ([HistoryBuffer, _reconstruct, scalar, np.ndarray, np.dtype] + dtype_classes +
            numpy_aliases + [(history_buffer_method, 'builtins.getattr')])


def allow_mmengine_checkpoints() -> None:
    """Allow-lists :func:`mmengine_checkpoint_globals` for ``torch.load(weights_only=True)``.

    Loading stays restricted for everything else. Safe to call more than once (torch keeps
    the allow-list as a set). A no-op on torch < 2.4, which has no allow-list.
    """
    if hasattr(torch.serialization, 'add_safe_globals'):
        torch.serialization.add_safe_globals(mmengine_checkpoint_globals())
