import os

import pytest
import torch
from mmengine.config import Config

from projects.acr.utils import adapt_config, join_cpu_process_group, torch_env_from_slurm


def _cfg(**extra):
    return Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl')),
                       optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='SGD')),
                       **extra))


def test_gloo_without_gpu_and_mixed_precision_wrapper():
    from projects.acr.utils import NoNativeBF16Error, detect_cpu_capability
    if not torch.cuda.is_available() and not detect_cpu_capability().native_bf16:
        with pytest.raises(NoNativeBF16Error):  # this CPU only emulates bf16
            adapt_config(_cfg(), amp=True)
        return
    cfg = adapt_config(_cfg(), amp=True)
    if torch.cuda.is_available():
        assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    else:
        assert cfg.env_cfg.dist_cfg.backend == 'gloo'
        assert cfg.optim_wrapper.type == 'BF16OptimWrapper'


@pytest.mark.parametrize('bf16, wrapper', [(True, 'BF16OptimWrapper'),
                                           (False, 'AmpOptimWrapper')])
def test_amp_on_gpus_is_bf16_where_they_have_it(monkeypatch, bf16, wrapper):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda including_emulation=True: bf16)
    cfg = adapt_config(_cfg(), amp=True)
    assert cfg.optim_wrapper.type == wrapper
    assert ('loss_scale' in cfg.optim_wrapper) == (not bf16)


def test_without_amp_the_wrapper_is_untouched():
    cfg = adapt_config(_cfg(), amp=False)
    assert cfg.optim_wrapper.type == 'OptimWrapper'


def test_launched_cpu_config_is_adapted_without_joining_a_group():
    model = dict(type='M', backbone=dict(norm_cfg=dict(type='SyncBN')))
    cfg = adapt_config(_cfg(launcher='pytorch', model=model))
    # Adapting only edits the config: the process group is joined by its own call.
    assert not torch.distributed.is_initialized()
    if not torch.cuda.is_available():
        assert cfg.model.backbone.norm_cfg.type == 'BN'
        assert cfg.model_wrapper_cfg.device_ids is None


def test_single_process_joins_no_group():
    assert join_cpu_process_group(_cfg()) is False
    assert not torch.distributed.is_initialized()


def test_slurm_task_variables_become_torchrun_ones(monkeypatch):
    for key in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.setenv(key, 'x')  # records the value to restore after the test
        monkeypatch.delenv(key)
    monkeypatch.setenv('LOCAL_RANK', '0')  # as a tool's --local-rank default leaves it
    monkeypatch.setenv('SLURM_PROCID', '5')
    monkeypatch.setenv('SLURM_NTASKS', '8')
    monkeypatch.setenv('SLURM_LOCALID', '1')
    monkeypatch.setenv('MASTER_ADDR', 'node-a')
    torch_env_from_slurm(port=29600)
    assert (os.environ['RANK'], os.environ['WORLD_SIZE'], os.environ['LOCAL_RANK']) == \
        ('5', '8', '1')
    assert (os.environ['MASTER_ADDR'], os.environ['MASTER_PORT']) == ('node-a', '29600')
    monkeypatch.delenv('SLURM_PROCID')
    with pytest.raises(KeyError, match='SLURM_PROCID'):
        torch_env_from_slurm()


def test_amp_is_refused_on_a_cpu_without_native_bf16(monkeypatch, tmp_path):
    from projects.acr.utils import NoNativeBF16Error, cpu_capability
    path = tmp_path / 'cpuinfo'
    path.write_text('processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n')
    real = cpu_capability.detect_cpu_capability
    monkeypatch.setattr(cpu_capability, 'detect_cpu_capability',
                        lambda probe='auto', cpuinfo=None: real(probe, str(path)))
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(NoNativeBF16Error, match=r'no native bf16.*without --amp'):
        adapt_config(_cfg(), amp=True)
    # Without --amp, or with bf16 named by the config itself, nothing is refused.
    assert adapt_config(_cfg(), amp=False).optim_wrapper.type == 'OptimWrapper'
    cfg = _cfg()
    cfg.optim_wrapper.type = 'BF16OptimWrapper'
    assert adapt_config(cfg, amp=True).optim_wrapper.type == 'BF16OptimWrapper'
    # With native bf16 the same request gives the bf16 wrapper.
    path.write_text('processor\t: 0\nflags\t\t: avx2 avx512f avx512_bf16\n')
    assert adapt_config(_cfg(), amp=True).optim_wrapper.type == 'BF16OptimWrapper'


@pytest.mark.slow
@pytest.mark.parametrize('tool', ['train.py', 'test.py'])
def test_train_and_test_tools_stop_at_start_without_native_bf16(tool, tmp_path):
    import subprocess
    import sys
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    # The tool reads the CPU flags through this module; a wrapper script points it at an
    # AVX2 CPU's flags before running the tool as __main__.
    cpuinfo = tmp_path / 'cpuinfo'
    cpuinfo.write_text('processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n')
    runner = tmp_path / 'run_train.py'
    runner.write_text(
        'import runpy, sys\n'
        f'sys.path.insert(0, {repo!r})\n'
        'from projects.acr.utils import cpu_capability\n'
        'real = cpu_capability.detect_cpu_capability\n'
        'cpu_capability.detect_cpu_capability = '
        f'lambda probe="auto", cpuinfo=None: real(probe, {str(cpuinfo)!r})\n'
        f'sys.argv = ["tools/{tool}", "configs/acr/vit-tiny_toy.py", '
        f'{"" if tool == "train.py" else repr(str(cpuinfo)) + ", "}"--amp", '
        f'"--work-dir", {str(tmp_path / "work")!r}]\n'
        f'runpy.run_path("tools/{tool}", run_name="__main__")\n')
    env = dict(os.environ, CUDA_VISIBLE_DEVICES='', WANDB_MODE='disabled')
    proc = subprocess.run([sys.executable, str(runner)], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert f'tools/{tool}: mixed precision (--amp) asks for bf16' in proc.stderr
    assert 'Run without --amp' in proc.stderr
    assert not (tmp_path / 'work').exists()  # stopped before the runner was built
