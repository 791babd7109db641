"""Building a trained class-map model from its config and checkpoint."""
import copy
import os.path as osp
from typing import Dict, List, Mapping, Optional, Union

import torch
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import _load_checkpoint
from mmseg.registry import MODELS

from ..utils.checkpoint_safe_globals import allow_mmengine_checkpoints


def state_dict_mismatch(model_state: Mapping[str, torch.Tensor],
                        ckpt_state: Mapping[str, torch.Tensor],
                        limit: int = 5) -> List[str]:
    """What keeps a checkpoint's weights from loading into a model, one line per kind.

    Args:
        model_state (Mapping): The model's ``state_dict()``.
        ckpt_state (Mapping): The checkpoint's state dict (``module.`` prefixes removed).
        limit (int): Keys named per kind.

    Returns:
        list[str]: Lines on the keys missing from the checkpoint, the keys the model does
        not have, and the weights whose shapes differ (e.g. another number of classes);
        empty when the checkpoint fits.
    """

    def named(keys: List[str]) -> str:
        more = f' and {len(keys) - limit} more' if len(keys) > limit else ''
        return ', '.join(keys[:limit]) + more

    missing = [k for k in model_state if k not in ckpt_state]
    unexpected = [k for k in ckpt_state if k not in model_state]
    shapes = [f'{k} {tuple(ckpt_state[k].shape)} in the checkpoint, '
              f'{tuple(model_state[k].shape)} in the model' for k in model_state
              if k in ckpt_state and hasattr(ckpt_state[k], 'shape')
              and tuple(ckpt_state[k].shape) != tuple(model_state[k].shape)]
    lines = []
    if shapes:
        lines.append(f'{len(shapes)} weight(s) of another shape: {named(shapes)}')
    if missing:
        lines.append(f'{len(missing)} weight(s) missing from the checkpoint: {named(missing)}')
    if unexpected:
        lines.append(f'{len(unexpected)} weight(s) the model does not have: '
                     f'{named(unexpected)}')
    return lines


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
        raw = _load_checkpoint(checkpoint, map_location='cpu')
    except Exception as err:  # pickle, zip and weights-only errors mean the same here
        raise RuntimeError(f'checkpoint {checkpoint} is not a readable checkpoint: '
                           f'{err}') from err
    state = raw.get('state_dict', raw) if isinstance(raw, dict) else raw
    if not isinstance(state, Mapping):
        raise RuntimeError(f'checkpoint {checkpoint} does not fit the model of the config: '
                           f'it holds no state dict ({type(state).__name__})')
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    problems = state_dict_mismatch(model.state_dict(), state)
    if problems:
        raise RuntimeError(f'checkpoint {checkpoint} does not fit the model of the config '
                           f'(a checkpoint of another model?): ' + '; '.join(problems))
    model.load_state_dict(state, strict=True)
    return model.to(device).eval()
