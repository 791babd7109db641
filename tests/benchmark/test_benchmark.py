import json
import os.path as osp
import subprocess
import sys

import numpy as np
import torch

from projects.acr.benchmark import PeakMemory, count_flops, gemm_peak, paired_ratio, run_interleaved
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


def test_tool_prints_the_table_and_writes_json(tmp_path):
    out = tmp_path / 'bench.json'
    tiny = ['model.backbone.arch=vit_tiny_patch16_224',
            'model.backbone.timm_kwargs.patch_size=8', 'model.backbone.timm_kwargs.depth=2',
            'model.backbone.timm_kwargs.embed_dim=24', 'model.backbone.timm_kwargs.num_heads=2',
            'model.head.start_layer=1', 'model.data_preprocessor.size_divisor=8']
    proc = subprocess.run(
        [sys.executable, 'tools/benchmark.py', '--img-size', '32', '--repeats', '2',
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
