"""Weights trained by the official ACR code (OpenNLPLab/ACR_WSSS) and ours, both ways.

The official model (``DPT/ACR.py``) keeps the timm ViT under ``pretrained.model`` and the
classifier as ``cls_head``; it also carries DPT decoder layers (``scratch.*``,
``pretrained.act_postprocess*``) that the classifier never uses, and timm's ImageNet
head. DDP checkpoints may prefix every key with ``module.``. Ours keeps the ViT under
``backbone.vit`` and the classifier as ``head.fc``.
"""
from typing import Dict, List, Mapping, NamedTuple, Tuple

import torch

OFFICIAL_VIT_PREFIX = 'pretrained.model.'
OFFICIAL_HEAD_PREFIX = 'cls_head.'
OUR_VIT_PREFIX = 'backbone.vit.'
OUR_HEAD_PREFIX = 'head.fc.'

#: The official ``--backbone`` names, our config for VOC and the timm arch it uses.
OFFICIAL_BACKBONES: Dict[str, Tuple[str, str]] = {
    'vitb_hybrid': ('configs/acr/vit-r50_voc.py', 'vit_base_r50_s16_384.orig_in21k_ft_in1k'),
    'vitb': ('configs/acr/vit_voc.py', 'vit_base_patch16_384.orig_in21k_ft_in1k'),
    'deit': ('configs/acr/deit_voc.py', 'deit_base_patch16_384.fb_in1k'),
    'deit_distilled': ('configs/acr/deit-distilled_voc.py',
                       'deit_base_distilled_patch16_384.fb_in1k'),
}
# timm's own classifiers, which neither model uses (ours builds the ViT without one).
_TIMM_HEADS = ('head.', 'head_dist.', 'pre_logits.')


class ConvertedCheckpoint(NamedTuple):
    """What :func:`official_to_ours` returns.

    Attributes:
        state_dict (dict): Our keys.
        backbone (str): The official backbone name the weights fit (``'vitb'`` stands for
            DeiT-B too: the two have the same tensors).
        num_classes (int): Rows of the classifier.
        dropped (list[str]): Official keys that have no counterpart here.
    """

    state_dict: Dict[str, torch.Tensor]
    backbone: str
    num_classes: int
    dropped: List[str]


def unwrap_state_dict(obj: Mapping, source: str = 'checkpoint') -> Dict[str, torch.Tensor]:
    """The state dict inside a loaded checkpoint, ``module.`` prefixes removed.

    Args:
        obj (Mapping): What ``torch.load`` returned: a state dict, or a dict holding one
            under ``state_dict`` or ``model``.
        source (str): Names the file in errors.
    """
    state = obj
    for key in ('state_dict', 'model'):
        if isinstance(state, Mapping) and isinstance(state.get(key), Mapping):
            state = state[key]
    if not isinstance(state, Mapping) or not state or not all(
            torch.is_tensor(v) for v in state.values()):
        raise ValueError(f'{source}: no state dict of tensors found (top-level keys: '
                         f'{list(obj)[:8] if isinstance(obj, Mapping) else type(obj).__name__})')
    if all(k.startswith('module.') for k in state):
        state = {k[len('module.'):]: v for k, v in state.items()}
    return dict(state)


def _layout_error(state: Mapping, source: str, expected: str) -> ValueError:
    keys = sorted(state)[:6]
    return ValueError(f'{source}: not a checkpoint in the {expected} layout (first keys: '
                      f'{keys}); expected keys "{OFFICIAL_VIT_PREFIX}*" and '
                      f'"{OFFICIAL_HEAD_PREFIX}weight" (official) or "{OUR_VIT_PREFIX}*" and '
                      f'"{OUR_HEAD_PREFIX}weight" (ours)')


def detect_official_backbone(vit_state: Mapping[str, torch.Tensor]) -> str:
    """The official backbone name of a ViT state dict (keys without prefix)."""
    if any(k.startswith('patch_embed.backbone.') for k in vit_state):
        return 'vitb_hybrid'
    if 'dist_token' in vit_state:
        return 'deit_distilled'
    return 'vitb'


def official_to_ours(obj: Mapping, source: str = 'checkpoint') -> ConvertedCheckpoint:
    """Maps an official ACR checkpoint to our classifier's keys.

    Args:
        obj (Mapping): The loaded official checkpoint.
        source (str): Names the file in errors.

    Returns:
        ConvertedCheckpoint: Our state dict and what was found.

    Raises:
        ValueError: When the keys are not the official layout (naming the file).
    """
    state = unwrap_state_dict(obj, source)
    if f'{OFFICIAL_HEAD_PREFIX}weight' not in state or not any(
            k.startswith(OFFICIAL_VIT_PREFIX) for k in state):
        raise _layout_error(state, source, 'official')
    ours, dropped, vit_state = {}, [], {}
    for key, value in state.items():
        if key.startswith(OFFICIAL_VIT_PREFIX):
            name = key[len(OFFICIAL_VIT_PREFIX):]
            if name.startswith(_TIMM_HEADS):
                dropped.append(key)
                continue
            vit_state[name] = value
            ours[OUR_VIT_PREFIX + name] = value
        elif key.startswith(OFFICIAL_HEAD_PREFIX):
            ours[OUR_HEAD_PREFIX + key[len(OFFICIAL_HEAD_PREFIX):]] = value
        else:
            dropped.append(key)
    return ConvertedCheckpoint(ours, detect_official_backbone(vit_state),
                               int(state[f'{OFFICIAL_HEAD_PREFIX}weight'].shape[0]),
                               sorted(dropped))


def ours_to_official(obj: Mapping, source: str = 'checkpoint') -> Dict[str, torch.Tensor]:
    """Maps our classifier's checkpoint to the official keys (what ``ACR.load_state_dict``
    takes; the official loader is not strict, so the unused DPT layers may be absent).

    Args:
        obj (Mapping): The loaded checkpoint of an :class:`ACRClassifier`.
        source (str): Names the file in errors.

    Raises:
        ValueError: When the keys are not our layout (naming the file).
    """
    state = unwrap_state_dict(obj, source)
    if f'{OUR_HEAD_PREFIX}weight' not in state or not any(
            k.startswith(OUR_VIT_PREFIX) for k in state):
        raise _layout_error(state, source, 'our')
    out = {}
    for key, value in state.items():
        if key.startswith(OUR_VIT_PREFIX):
            out[OFFICIAL_VIT_PREFIX + key[len(OUR_VIT_PREFIX):]] = value
        elif key.startswith(OUR_HEAD_PREFIX):
            out[OFFICIAL_HEAD_PREFIX + key[len(OUR_HEAD_PREFIX):]] = value
    return out
