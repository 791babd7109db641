"""The layout of ``tools/``: the daily jobs at the top, the rest grouped in sub-folders.

A tool that moved still runs from its old path until the next release: the old file prints
one notice on stderr and runs the tool at its new path with the same arguments, so its
``--help``, its outputs and its exit status are the new tool's. Every tool answers
``--help``.
"""
import ast
import glob
import json
import os.path as osp
import subprocess
import sys
from typing import Dict

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# old path -> new path, both relative to the repository root
MOVED = {
    'tools/benchmark.py': 'tools/analysis_tools/benchmark.py',
    'tools/benchmark_report.py': 'tools/analysis_tools/benchmark_report.py',
    'tools/check_dataset.py': 'tools/analysis_tools/check_dataset.py',
    'tools/compare_sweeps.py': 'tools/analysis_tools/compare_sweeps.py',
    'tools/plot_pipeline_examples.py': 'tools/analysis_tools/plot_pipeline_examples.py',
    'tools/make_toy_dataset.py': 'tools/dataset_converters/make_toy_dataset.py',
    'tools/convert_official_checkpoint.py': 'tools/model_converters/acr_official.py',
    'tools/convert_toco_checkpoint.py': 'tools/model_converters/toco_official.py',
    'tools/pretrain_toy.py': 'tools/misc/pretrain_toy.py',
}
# what users run day to day stays directly under tools/
DAILY = {
    'train.py', 'test.py', 'dist_train.sh', 'dist_test.sh', 'slurm_train.sh', 'infer_cam.py',
    'eval_cam.py', 'make_pseudo_labels.py', 'refine_labels.py', 'run_pipeline.py', 'demo.py',
    'sweep.py', 'slurm_sweep.sh', 'ablate.py',
}
FOLDERS = {'dataset_converters', 'model_converters', 'analysis_tools', 'misc'}

# Runs each tool given as ``__main__`` with --help in one interpreter (one start for all),
# keeping stdout and stderr apart; the new path of a moved tool goes before its old one.
HELP_PROBE = r'''
import contextlib, io, json, runpy, sys
results = {}
for path in sys.argv[1:]:
    out, err = io.StringIO(), io.StringIO()
    sys.argv = [path, '--help']
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            runpy.run_path(path, run_name='__main__')
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException as exc:  # reported, not raised: the other tools still run
        code = 1
        err.write(f'{type(exc).__name__}: {exc}')
    results[path] = dict(code=code, out=out.getvalue(), err=err.getvalue())
sys.stdout.write(json.dumps(results))
'''


def notice(old: str) -> str:
    return f'{old} moved to {MOVED[old]}; the old path goes in the next release'


def python_tools() -> list:
    """Every Python script under tools/, relative to the repository root, new paths first."""
    paths = sorted(glob.glob('tools/**/*.py', root_dir=REPO, recursive=True))
    return [p for p in paths if p not in MOVED] + [p for p in paths if p in MOVED]


@pytest.fixture(scope='module')
def tool_help() -> Dict[str, Dict[str, object]]:
    proc = subprocess.run([sys.executable, '-c', HELP_PROBE, *python_tools()], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_top_level_holds_the_daily_jobs_the_groups_and_the_old_paths():
    top = {osp.basename(p) for p in glob.glob(osp.join(REPO, 'tools', '*'))
           if osp.basename(p) != '__pycache__'}
    expected = DAILY | FOLDERS | {osp.basename(p) for p in MOVED}
    assert top == expected, ('tools/ should hold the daily jobs, the groups and the old paths '
                             f'of moved tools; extra: {sorted(top - expected)}, missing: '
                             f'{sorted(expected - top)}')


@pytest.mark.parametrize('old', sorted(MOVED))
def test_old_path_names_itself_and_a_real_tool(old):
    """The old file is a small forwarder to the new one, which holds the tool itself."""
    with open(osp.join(REPO, old), encoding='utf-8') as f:
        tree = ast.parse(f.read())
    names = {t.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
             for t in node.targets if isinstance(t, ast.Name)}
    assert names == {'OLD': old, 'NEW': MOVED[old]}
    new = osp.join(REPO, MOVED[old])
    assert osp.isfile(new)
    with open(new, encoding='utf-8') as f:
        assert 'runpy.run_path' not in f.read(), f'{MOVED[old]} is itself a forwarder'


@pytest.mark.parametrize('tool', python_tools())
def test_every_python_tool_answers_help(tool, tool_help):
    result = tool_help[tool]
    assert result['code'] == 0, result['err'][-2000:]
    assert result['out'].startswith('usage: '), result['out'][:500]


@pytest.mark.parametrize('old', sorted(MOVED))
def test_old_path_prints_the_notice_and_gives_the_new_help(old, tool_help):
    new, moved = tool_help[MOVED[old]], tool_help[old]
    assert moved['code'] == new['code'] == 0
    # the same text, program name included: the tool runs with argv[0] set to its new path
    assert moved['out'] == new['out']
    assert moved['out'].startswith(f'usage: {osp.basename(MOVED[old])} ')
    assert moved['err'].splitlines().count(notice(old)) == 1
    assert 'moved to' not in new['err']


@pytest.mark.parametrize('script', sorted(glob.glob('tools/**/*.sh', root_dir=REPO,
                                                    recursive=True)))
def test_every_shell_tool_answers_help(script):
    proc = subprocess.run(['bash', script, '--help'], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert script in proc.stdout
    bare = subprocess.run(['bash', script], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert bare.returncode == 2 and bare.stdout == proc.stdout  # too few arguments


def test_old_path_passes_the_arguments_through(tmp_path):
    out = tmp_path / 'toy'
    proc = subprocess.run([sys.executable, 'tools/make_toy_dataset.py', str(out),
                           '--num-train', '3', '--num-val', '2', '--img-size', '32'],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert notice('tools/make_toy_dataset.py') in proc.stderr.splitlines()
    with open(out / 'ImageSets' / 'Segmentation' / 'train.txt') as f:
        assert len(f.read().split()) == 3
    with open(out / 'ImageSets' / 'Segmentation' / 'val.txt') as f:
        assert len(f.read().split()) == 2


def test_old_path_keeps_the_exit_status(tmp_path):
    records = sorted(glob.glob('docs/benchmarks/*.json', root_dir=REPO))
    page = tmp_path / 'performance.md'
    results = {}
    for path in ('tools/benchmark_report.py', MOVED['tools/benchmark_report.py']):
        proc = subprocess.run([sys.executable, path, *records, '--check', str(page)],
                              cwd=REPO, capture_output=True, text=True, timeout=300)
        results[path] = proc
    old, new = results['tools/benchmark_report.py'], results[MOVED['tools/benchmark_report.py']]
    assert old.returncode == new.returncode == 1
    assert f'{page} is not what the records give' in old.stderr
    assert old.stderr.replace(notice('tools/benchmark_report.py') + '\n', '') == new.stderr
