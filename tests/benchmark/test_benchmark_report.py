import glob
import json
import os.path as osp
import subprocess
import sys

import pytest

from projects.acr.benchmark import BenchmarkSettings, run_benchmark, write_json
from projects.acr.benchmark.report import command_line, format_report, load_record

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = {
    'model.backbone.arch': 'vit_tiny_patch16_224', 'model.head.start_layer': 1,
    'model.data_preprocessor.size_divisor': 8,
    'model.backbone.timm_kwargs': dict(patch_size=8, depth=2, embed_dim=24, num_heads=2)}


@pytest.fixture(scope='module')
def record_file(tmp_path_factory):
    from mmengine.registry import init_default_scope

    import projects.acr  # noqa: F401
    init_default_scope('mmseg')
    settings = BenchmarkSettings(img_size=32, repeats=2, warmup=0, gemm_size=64,
                                 workloads=('train_fp32', 'maps'), cfg_options=TINY)
    path = tmp_path_factory.mktemp('bench') / 'tiny.json'
    write_json(run_benchmark(settings), str(path))
    return str(path)


@pytest.mark.slow  # trains tiny models
def test_the_page_is_rendered_from_the_record(record_file):
    record = load_record(record_file)
    page = format_report([('docs/benchmarks/tiny.json', record)], 'docs/performance.md')
    assert page.startswith('# Performance\n')
    assert ('tools/analysis_tools/benchmark_report.py docs/benchmarks/tiny.json '
            '--out docs/performance.md') in page
    cap = record['machine']['cpu_capability']['summary']
    heading = [line for line in page.splitlines() if line.startswith('## ')]
    assert len(heading) == 1 and heading[0].endswith(f': {cap}')
    assert ('python tools/analysis_tools/benchmark.py --workloads train_fp32 maps --img-size 32 '
            '--repeats 2') in page
    for name, row in record['workloads'].items():
        assert f"| {row['description']} | fp32 |" in page
        assert f'`{name}` ' + ' / '.join(f'{s:.2f}' for s in row['seconds']) in page
    ratio = record['ratios']['class maps / training step']['value']
    assert f'class maps / training step: **{ratio:.2f}x**' in page


def test_command_line_names_only_what_differs_from_the_defaults():
    assert command_line(vars(BenchmarkSettings())) == 'python tools/analysis_tools/benchmark.py'
    settings = vars(BenchmarkSettings(workloads=('train_fp32', 'timm_fp32', 'maps'),
                                      repeats=5, device='cuda', batch=4))
    assert command_line(settings) == ('python tools/analysis_tools/benchmark.py --workloads '
                                      'train_fp32 timm_fp32 maps --device cuda --batch 4 '
                                      '--repeats 5')


def test_a_file_that_is_no_record_is_named(tmp_path):
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(dict(machine={})))
    with pytest.raises(ValueError, match=r'bad.json: not a benchmark record, missing'):
        load_record(str(bad))
    broken = tmp_path / 'broken.json'
    broken.write_text('{')
    with pytest.raises(ValueError, match='broken.json: not a readable'):
        load_record(str(broken))


def _report_tool(monkeypatch, *argv):
    """Runs tools/analysis_tools/benchmark_report.py in this process; returns its exit status."""
    import runpy
    tool = runpy.run_path(osp.join(REPO, 'tools', 'analysis_tools', 'benchmark_report.py'))
    monkeypatch.setattr(sys, 'argv', ['benchmark_report.py', *argv])
    try:
        tool['main']()
    except SystemExit as exc:
        return 1 if exc.code else 0
    return 0


@pytest.mark.slow  # launches the tool
def test_tool_writes_and_checks_the_page(record_file, tmp_path, monkeypatch):
    page = str(tmp_path / 'performance.md')
    assert _report_tool(monkeypatch, record_file, '--check', page) == 1  # no page yet
    proc = subprocess.run([sys.executable, 'tools/analysis_tools/benchmark_report.py', record_file,
                           '--out', page], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert _report_tool(monkeypatch, record_file, '--check', page) == 0
    with open(page) as f:
        text = f.read()
    with open(page, 'w') as f:  # a hand edit
        f.write(text.replace('| fp32 |', '| fp16 |'))
    assert _report_tool(monkeypatch, record_file, '--check', page) == 1


def test_committed_page_is_generated_from_the_committed_records(monkeypatch):
    records = sorted(glob.glob(osp.join(REPO, 'docs', 'benchmarks', '*.json')))
    if not records:
        pytest.skip('no benchmark records committed')
    assert _report_tool(monkeypatch, *records, '--check',
                        osp.join(REPO, 'docs', 'performance.md')) == 0
