"""bf16 against fp32 on the same short training run: how far the loss curves part.

Two copies of one freshly initialised model are trained side by side on the same
batches, one with the config's optimizer wrapper in fp32, one with
:class:`BF16OptimWrapper` (what ``tools/train.py --amp`` selects); every step's losses
are recorded. The curves are compared raw and smoothed over a window, since single steps
of a noisy loss can differ by more than the trend does.
"""
import copy
from typing import Dict, List

import numpy as np
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from .workloads import build_model


def compare_loss_curves(cfg: Config,
                        steps: int,
                        window: int = 10,
                        seed: int = 0) -> Dict[str, object]:
    """Trains fp32 and bf16 copies on the same batches and compares their losses.

    Args:
        cfg (Config): A stage-1 config with a ``train_dataloader`` (e.g. the toy one).
        steps (int): Training steps.
        window (int): Steps per window of the smoothed comparison.
        seed (int): Seed of the weights and the data order.

    Returns:
        dict: ``fp32`` and ``bf16`` (per step, the total loss), ``max_rel_diff`` (largest
        step-wise ``|bf16 - fp32| / fp32``), ``max_rel_diff_smoothed`` (the same for the
        window means), ``final_rel_diff`` (last window), ``steps`` and ``window``.
    """
    # The package's import (this module's parent) registered the datasets and transforms.
    init_default_scope('mmseg')
    torch.manual_seed(seed)
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    loader_cfg.num_workers = 0
    loader_cfg.pop('persistent_workers', None)
    loader = Runner.build_dataloader(loader_cfg, seed=seed)
    batches: List[dict] = []
    while len(batches) < steps:
        for batch in loader:
            batches.append(batch)
            if len(batches) == steps:
                break

    device = torch.device('cpu')
    curves: Dict[str, List[float]] = {}
    base = build_model(cfg, device)
    for name, wrapper_type in (('fp32', 'OptimWrapper'), ('bf16', 'BF16OptimWrapper')):
        model = copy.deepcopy(base)
        wrapper_cfg = copy.deepcopy(cfg.optim_wrapper)
        wrapper_cfg.type = wrapper_type
        wrapper = build_optim_wrapper(model, wrapper_cfg)
        torch.manual_seed(seed)
        losses = []
        for batch in batches:
            log_vars = model.train_step(copy.deepcopy(batch), wrapper)
            losses.append(float(torch.as_tensor(log_vars['loss']).detach()))
        curves[name] = losses

    fp32, bf16 = np.array(curves['fp32']), np.array(curves['bf16'])
    rel = np.abs(bf16 - fp32) / np.abs(fp32)
    n = len(fp32) // window * window
    smooth32 = fp32[:n].reshape(-1, window).mean(1)
    smooth16 = bf16[:n].reshape(-1, window).mean(1)
    rel_smooth = np.abs(smooth16 - smooth32) / np.abs(smooth32)
    return dict(steps=steps, window=window, fp32=curves['fp32'], bf16=curves['bf16'],
                max_rel_diff=float(rel.max()), median_rel_diff=float(np.median(rel)),
                max_rel_diff_smoothed=float(rel_smooth.max()) if n else None,
                final_rel_diff=float(rel_smooth[-1]) if n else None,
                fp32_window_means=smooth32.tolist(), bf16_window_means=smooth16.tolist())


def format_loss_curves(result: Dict[str, object]) -> str:
    """The comparison as a few markdown lines."""
    lines = [
        f"bf16 vs fp32, {result['steps']} steps on the same batches: step-wise relative "
        f"difference of the total loss median {100 * result['median_rel_diff']:.2f}%, "
        f"max {100 * result['max_rel_diff']:.2f}%; means over {result['window']} steps "
        f"max {100 * result['max_rel_diff_smoothed']:.2f}%, last window "
        f"{100 * result['final_rel_diff']:.2f}%.",
        '',
        '| steps | fp32 loss | bf16 loss |',
        '|---|---:|---:|',
    ]
    w = result['window']
    for i, (a, b) in enumerate(zip(result['fp32_window_means'], result['bf16_window_means'])):
        lines.append(f'| {i * w + 1}-{(i + 1) * w} | {a:.4f} | {b:.4f} |')
    return '\n'.join(lines)
