"""tools/sweep.py as a command on a fake trainer found through ACR_TOOLS_DIR."""
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
FAKE_TRAIN = '''
import json, os, sys
argv = sys.argv[1:]
work_dir = argv[argv.index('--work-dir') + 1]
x = float([a for a in argv if a.startswith('x=')][0][2:])
os.makedirs(os.path.join(work_dir, '20260101_000000', 'vis_data'))
with open(os.path.join(work_dir, '20260101_000000', 'vis_data', 'scalars.json'), 'w') as f:
    f.write(json.dumps({'cam/mIoU': 10 * x, 'step': 1}) + '\\n')
'''


def _spec(tmp_path, name, parameters):
    spec = dict(program='tools/train.py', method='grid',
                metric={'name': 'cam/mIoU', 'goal': 'maximize'}, parameters=parameters,
                command=['${env}', '${interpreter}', '${program}', '--cfg-options',
                         '${args_no_hyphens}'])
    path = tmp_path / f'{name}.yaml'
    path.write_text(yaml.safe_dump(spec))
    return str(path)


def _sweep(tmp_path, *args):
    env = dict(os.environ, ACR_TOOLS_DIR=str(tmp_path / 'checkout' / 'tools'),
               WANDB_MODE='offline')
    cmd = [sys.executable, str(ROOT / 'tools' / 'sweep.py'), *args, '--work-dir-root',
           str(tmp_path / 'sweeps'), '--no-plots']
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)


def test_sweep_command_runs_reports_and_refuses_bad_specs(tmp_path):
    (tmp_path / 'checkout' / 'tools').mkdir(parents=True)
    (tmp_path / 'checkout' / 'tools' / 'train.py').write_text(FAKE_TRAIN)
    good = _spec(tmp_path, 'good', {'x': {'values': [1, 3, 2]}})
    # No W&B key in the environment: the sweep runs as an Optuna study by itself.
    proc = _sweep(tmp_path, good)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [ln for ln in (tmp_path / 'sweeps' / 'good' / 'results.md').read_text().splitlines()
            if ln.startswith('| ') and 'rank' not in ln]
    assert [float(r.split('|')[3]) for r in rows] == [3, 2, 1]
    assert sorted(os.listdir(tmp_path / 'sweeps' / 'good' / 'trial_0000')) == [
        '20260101_000000', 'optuna_trial.json', 'trial_output.log']
    bad = _spec(tmp_path, 'bad', {'x': {'distribution': 'normal', 'mu': 1, 'sigma': 1}})
    proc = _sweep(tmp_path, bad, '--local', '--method', 'random', '--count', '2')
    assert proc.returncode == 2
    assert 'bad.yaml: parameters.x: the distribution "normal" has no Optuna' in proc.stderr
