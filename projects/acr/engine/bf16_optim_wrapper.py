"""bfloat16 autocast on any device, including CPU."""
import logging
from contextlib import contextmanager

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper
from mmseg.registry import OPTIM_WRAPPERS

from ..utils import cpu_capability


@OPTIM_WRAPPERS.register_module()
class BF16OptimWrapper(OptimWrapper):
    """Runs forward passes under ``torch.autocast(dtype=torch.bfloat16)``.

    What ``tools/train.py --amp`` selects on CPUs and on GPUs with bf16. mmengine's
    ``AmpOptimWrapper`` requires an accelerator; this wrapper works on any device,
    including CPUs whose bf16 matrix products run at several times the fp32 rate.
    bf16 has fp32's range, so no loss scaling is needed; weights and optimizer state
    stay fp32.

    Autocast runs the matrix products (and the attention softmax that follows them) in
    bf16 and keeps layer norms and the residual stream in fp32. What the ACR loss
    compares stays fp32: :meth:`ViTOutput.mean_attns` returns the head-averaged
    attention in fp32 and :meth:`CAMHead.loss` takes fp32 logits.

    On a CPU without native bf16 (no AVX512-BF16, AMX or Arm BF16) the first step logs a
    warning: bf16 products are emulated there and run many times slower than fp32
    (``tools/train.py --amp`` refuses such a CPU; a config that names this wrapper
    itself runs as written).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._device_checked = False

    def _warn_without_native_bf16(self, device: str) -> None:
        self._device_checked = True
        if device != 'cpu':
            return
        cap = cpu_capability.detect_cpu_capability()
        if not cap.native_bf16:
            print_log(cpu_capability.no_native_bf16_message(
                cap, 'BF16OptimWrapper', 'Use OptimWrapper (fp32) for speed on this CPU.'),
                logger='current', level=logging.WARNING)

    @contextmanager
    def optim_context(self, model: nn.Module):
        device = next(model.parameters()).device.type
        if not self._device_checked:
            self._warn_without_native_bf16(device)
        with super().optim_context(model), torch.autocast(device_type=device,
                                                          dtype=torch.bfloat16):
            yield
