"""Weights trained by ToCo's own code <-> this toolkit's :class:`ToCo` layout."""
from typing import Dict, Mapping

import torch

# ToCo's ``network`` children and ours: the encoder is our backbone's timm model (the same
# parameter names below it); the heads keep their names.
_ENCODER, _BACKBONE = 'encoder.', 'backbone.vit.'
_HEADS = ('classifier.', 'aux_classifier.', 'decoder.', 'proj_head.', 'proj_head_t.')


def _state(obj, src: str) -> Dict[str, torch.Tensor]:
    state = obj
    if isinstance(obj, Mapping):
        for key in ('state_dict', 'model'):
            if isinstance(obj.get(key), Mapping):
                state = obj[key]
                break
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor)
                                                 for v in state.values()):
        raise ValueError(f'{src}: not a state dict (a mapping of names to tensors)')
    return dict(state)


def toco_to_ours(obj, src: str = 'the checkpoint') -> Dict[str, torch.Tensor]:
    """Maps a state dict saved by ToCo's training script to ours.

    Accepts the ``torch.save(model.state_dict())`` of its DDP model (``module.`` prefixes)
    or of the bare network. ToCo's encoder keeps timm's 1000-class ImageNet head, which
    nothing uses: it is left out.

    Raises:
        ValueError: When the keys are not ToCo's layout (the message names ``src``).
    """
    state = _state(obj, src)
    if all(k.startswith('module.') for k in state):
        state = {k[len('module.'):]: v for k, v in state.items()}
    unknown = [k for k in state if not k.startswith((_ENCODER, ) + _HEADS)]
    if unknown or not any(k.startswith(_ENCODER) for k in state):
        raise ValueError(f'{src}: not a ToCo checkpoint (expected encoder.*, classifier, '
                         f'aux_classifier, decoder.*, proj_head*; found {sorted(unknown)[:5]})')
    out = {}
    for key, value in state.items():
        if key.startswith(_ENCODER):
            name = key[len(_ENCODER):]
            if name.startswith('head.'):
                continue
            out[_BACKBONE + name] = value
        else:
            out[key] = value
    out['train_iter'] = torch.zeros((), dtype=torch.long)
    return out


def ours_to_toco(obj, src: str = 'the checkpoint') -> Dict[str, torch.Tensor]:
    """Maps our :class:`ToCo` state dict to what ToCo's ``network.load_state_dict`` takes
    (its inference scripts load with ``strict=False``, so the unused ImageNet head may be
    absent)."""
    state = _state(obj, src)
    if not any(k.startswith(_BACKBONE) for k in state):
        raise ValueError(f'{src}: not a checkpoint of our ToCo model (no {_BACKBONE}* keys)')
    out = {}
    for key, value in state.items():
        if key.startswith(_BACKBONE):
            out[_ENCODER + key[len(_BACKBONE):]] = value
        elif key.startswith(_HEADS):
            out[key] = value
    return out
