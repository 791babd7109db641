"""Configs and metadata as W&B stores them: nested dicts, lists and plain scalars."""
from typing import Any, Dict

import numpy as np
import torch
from mmengine.config import Config


def json_safe(value: Any) -> Any:
    """Nested dicts, lists and plain scalars only: what W&B stores as run config.

    Tuples and sets become lists, arrays and tensors nested lists, numpy scalars Python
    numbers, and other objects (classes, functions referenced by a config) their string.
    """
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [json_safe(v) for v in value]
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def config_to_wandb_dict(config: Config) -> Dict[str, Any]:
    """The resolved config (``_base_`` files and overrides merged) as a nested plain dict.

    Args:
        config (Config): The runner's config.

    Returns:
        dict: JSON-serialisable nested dict; tuples become lists, objects their string.
    """
    return json_safe(config.to_dict())
