import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

from projects.acr.benchmark import (DEFAULT_WORKLOADS, BenchmarkSettings, PeakMemory, count_flops,
                                    format_markdown, gemm_peak, paired_ratio, run_benchmark,
                                    run_interleaved, runner, select_workloads)
from projects.acr.benchmark.workloads import cam_evaluation, synthetic_cam_images

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_flops_are_two_per_multiply_add_forward_and_backward():
    lin = torch.nn.Linear(16, 8, bias=False)
    x = torch.randn(4, 16, requires_grad=True)
    assert count_flops(lambda: lin(x)) == 2 * 4 * 16 * 8
    # Backward: gradients w.r.t. the input and the weight, one product each.
    assert count_flops(lambda: lin(x).sum().backward()) == 3 * 2 * 4 * 16 * 8


def test_workloads_run_in_turns_and_ratios_pair_rounds():
    calls = []
    fns = {'a': lambda: calls.append('a'), 'b': lambda: calls.append('b')}
    after = []
    res = run_interleaved(fns, torch.device('cpu'), repeats=3, warmup=1,
                          after_round=lambda: after.append(len(calls)))
    assert calls == ['a', 'b'] * 4
    assert after == [4, 6, 8]
    assert all(len(r['seconds']) == 3 for r in res.values())
    assert paired_ratio([2.0, 4.0, 9.0], [1.0, 2.0, 3.0]) == 2.0


def test_peak_memory_sees_a_temporary_allocation():
    with PeakMemory(torch.device('cpu')) as mem:
        block = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
        del block
    if mem.exact:  # Linux: the resident-set peak of the block alone
        assert mem.peak - mem.before >= 60 * 2**20
    assert mem.peak > 0


def test_gemm_peak_is_a_positive_rate():
    assert gemm_peak(torch.device('cpu'), torch.float32, size=128, samples=2,
                     min_seconds=0.01) > 0


def test_synthetic_cam_images_look_like_class_map_files():
    images = synthetic_cam_images(3, num_classes=20)
    for item in images:
        k = item['class_ids'].size
        assert item['cams'].dtype == np.float16 and item['cams'].shape[0] == k
        assert item['cams'].shape[1:] == item['gt'].shape
        assert set(np.unique(item['gt'])) <= {0, 255} | set((item['class_ids'] + 1).tolist())
    cam_evaluation(num_images=4, num_thresholds=10, num_classes=20, num_distinct=2)()


@pytest.mark.slow  # launches the tool
def test_tool_prints_the_table_and_writes_json(tmp_path):
    out = tmp_path / 'bench.json'
    tiny = ['model.backbone.arch=vit_tiny_patch16_224',
            'model.backbone.timm_kwargs.patch_size=8', 'model.backbone.timm_kwargs.depth=2',
            'model.backbone.timm_kwargs.embed_dim=24', 'model.backbone.timm_kwargs.num_heads=2',
            'model.head.start_layer=1', 'model.data_preprocessor.size_divisor=8']
    proc = subprocess.run(
        [sys.executable, 'tools/analysis_tools/benchmark.py', '--img-size', '32', '--repeats', '2',
         '--warmup', '0', '--eval-images', '4', '--eval-thresholds', '10', '--gemm-size',
         '64', '--workloads', 'train_fp32', 'train_bf16', 'maps', 'cam_eval', 'timm_fp32',
         '--json', str(out), '--cfg-options'] + tiny,
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '| workload |' in proc.stdout and 'bf16 training speed-up' in proc.stdout
    record = json.loads(out.read_text())
    assert set(record['workloads']) == {'train_fp32', 'train_bf16', 'maps', 'cam_eval',
                                        'timm_fp32'}
    train = record['workloads']['train_fp32']
    assert train['flops_per_call'] > 0 and 0 < train['mfu']
    assert train['flops_per_call'] == record['workloads']['train_bf16']['flops_per_call']
    assert record['workloads']['cam_eval']['flops_per_call'] is None
    assert record['gemm_peak_flops']['fp32'] > 0
    assert set(record['ratios']) == {'bf16 training speed-up', 'class maps / training step',
                                     'ACR step / plain timm'}
    cap = record['machine']['cpu_capability']
    assert cap['isa'] == torch.backends.cpu.get_cpu_capability()
    assert isinstance(cap['native_bf16'], bool) and cap['summary'] in proc.stdout
    assert 'round 2: maps' in proc.stdout + proc.stderr  # progress is logged


TINY_OPTIONS = {
    'model.backbone.arch': 'vit_tiny_patch16_224', 'model.head.start_layer': 1,
    'model.data_preprocessor.size_divisor': 8,
    'model.backbone.timm_kwargs': dict(patch_size=8, depth=2, embed_dim=24, num_heads=2)}


def test_default_set_leaves_bf16_out_without_native_bf16():
    why = 'CPU: AVX2, no native bf16 (cpu flags)'
    names, skipped = select_workloads(BenchmarkSettings(), native_bf16=False, reason=why)
    assert names == tuple(w for w in DEFAULT_WORKLOADS if w != 'train_bf16')
    assert list(skipped) == ['train_bf16'] and why in skipped['train_bf16']
    assert '--workloads' in skipped['train_bf16']
    names, skipped = select_workloads(BenchmarkSettings(), native_bf16=True, reason='')
    assert names == DEFAULT_WORKLOADS and skipped == {}
    # Named workloads are measured as asked, bf16 or not.
    asked = BenchmarkSettings(workloads=('train_bf16', 'maps'))
    assert select_workloads(asked, native_bf16=False, reason=why) == (('train_bf16', 'maps'), {})


@pytest.mark.slow  # trains tiny models
def test_only_the_precisions_in_use_are_measured(monkeypatch):
    # The CPU under test is what it is: the verdict stands for a CPU without native bf16.
    monkeypatch.setattr(runner, 'device_bf16',
                        lambda device: (False, 'CPU: AVX2, no native bf16 (cpu flags)'))
    measured = []
    real_peak = runner.gemm_peak
    monkeypatch.setattr(runner, 'gemm_peak',
                        lambda device, dtype, *a, **k: measured.append(dtype) or
                        real_peak(device, dtype, 64, samples=1, min_seconds=0.001))
    settings = BenchmarkSettings(img_size=32, repeats=1, warmup=0, eval_images=2,
                                 eval_thresholds=4, eval_workers=1, gemm_size=64,
                                 cfg_options=TINY_OPTIONS)
    record = run_benchmark(settings)
    assert set(record['workloads']) == {'train_fp32', 'maps', 'cam_eval'}
    assert list(record['skipped']) == ['train_bf16']
    assert set(measured) == {torch.float32} and list(record['gemm_peak_flops']) == ['fp32']
    assert tuple(record['settings']['workloads']) == ('train_fp32', 'maps', 'cam_eval')
    assert record['machine']['native_bf16']['value'] is False
    text = format_markdown(record)
    assert 'train_bf16 skipped: no native bf16' in text and 'bf16 GFLOP/s' not in text
    assert 'CPU capability:' in text
    # Only the evaluation: no model, no GEMM peak.
    measured.clear()
    only_eval = run_benchmark(BenchmarkSettings(**dict(vars(settings), workloads=('cam_eval', ))))
    assert measured == [] and only_eval['gemm_peak_flops'] == {}
    assert '| CAM evaluation' in format_markdown(only_eval)


def test_fused_attention_counts_as_its_products_on_cpu():
    q, k, v = (torch.randn(2, 3, 17, 8, requires_grad=True) for _ in range(3))

    def explicit():
        attn = (q @ k.transpose(-2, -1) * 8**-0.5).softmax(-1)
        (attn @ v).sum().backward()

    def fused():
        torch.nn.functional.scaled_dot_product_attention(q, k, v).sum().backward()

    product = 2 * 2 * 3 * 17 * 17 * 8  # one (17 x 8) @ (8 x 17) per batch and head
    assert count_flops(lambda: (q @ k.transpose(-2, -1) @ v)) == 2 * product
    assert count_flops(explicit) == 6 * product  # 2 forward, 4 backward
    # torch's formula for fused kernels also counts the scores their backward recomputes.
    assert count_flops(fused) == 7 * product
