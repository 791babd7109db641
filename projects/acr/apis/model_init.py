"""Building a trained class-map model from its config and checkpoint."""
import copy
import os.path as osp
from typing import Dict, Optional, Union

import torch
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmseg.registry import MODELS

from ..utils.checkpoint_safe_globals import allow_mmengine_checkpoints


def init_cam_model(cfg: Config,
                   checkpoint: str,
                   device: Union[str, torch.device] = 'cpu',
                   test_cfg: Optional[Dict] = None) -> BaseModel:
    """Builds ``cfg.model``, loads all its weights from ``checkpoint`` and sets eval mode.

    The backbone's own weight loading (``pretrained`` / ``checkpoint``) is switched off: the
    trained checkpoint replaces every weight, and nothing is fetched from the network.

    Args:
        cfg (Config): Full config with ``model``.
        checkpoint (str): mmengine checkpoint (``state_dict`` of the whole model) or a bare
            state dict. Loaded strictly: a key mismatch means config and checkpoint differ.
        device (str | torch.device): Where the model runs.
        test_cfg (dict, optional): Overrides of ``model.test_cfg`` (e.g. ``scales``,
            ``flip``, ``refine``).

    Returns:
        BaseModel: The model in eval mode on ``device``.
    """
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
    model_cfg = copy.deepcopy(cfg.get('model'))
    if model_cfg is None:
        raise KeyError('the config has no "model"')
    backbone = model_cfg.get('backbone')
    if isinstance(backbone, dict):
        if 'pretrained' in backbone:
            backbone['pretrained'] = False
        if 'checkpoint' in backbone:
            backbone['checkpoint'] = None
    if test_cfg:
        model_cfg['test_cfg'] = dict(model_cfg.get('test_cfg') or {}, **test_cfg)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model = MODELS.build(model_cfg)
    allow_mmengine_checkpoints()
    try:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    except RuntimeError as err:
        raise RuntimeError(f'checkpoint {checkpoint} does not fit the model of the config: '
                           f'{err}') from err
    return model.to(device).eval()
