import torch
import torch.nn as nn

from projects.acr.engine import BF16OptimWrapper


def test_forward_runs_in_bf16_and_weights_stay_fp32():
    torch.manual_seed(0)
    model = nn.Linear(8, 4)
    wrapper = BF16OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    x = torch.randn(5, 8)
    reference = model(x).detach()
    with wrapper.optim_context(model):
        y = model(x)
    assert y.dtype == torch.bfloat16
    # bf16 keeps about three significant digits of the fp32 result
    torch.testing.assert_close(y.float(), reference, rtol=2e-2, atol=2e-2)
    before = model.weight.detach().clone()
    wrapper.update_params(y.float().pow(2).mean())
    assert model.weight.dtype == torch.float32
    assert not torch.equal(before, model.weight)
