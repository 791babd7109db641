"""bfloat16 autocast on any device, including CPU."""
from contextlib import contextmanager

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper
from mmseg.registry import OPTIM_WRAPPERS


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
    """

    @contextmanager
    def optim_context(self, model: nn.Module):
        device = next(model.parameters()).device.type
        with super().optim_context(model), torch.autocast(device_type=device,
                                                          dtype=torch.bfloat16):
            yield
