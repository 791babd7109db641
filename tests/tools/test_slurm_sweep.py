"""tools/slurm_sweep.sh with stand-ins of sbatch and python: the array job it submits."""
import os
import stat
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / 'tools' / 'slurm_sweep.sh'


def _executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_submits_an_array_of_workers_on_one_study(tmp_path):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    # sbatch: keep the options and the batch script it was given.
    _executable(bin_dir / 'sbatch', f'#!/usr/bin/env bash\nprintf "%s\\n" "$@" > {tmp_path}/'
                f'sbatch_args\ncat > {tmp_path}/batch.sh\n')
    _executable(tmp_path / 'python', f'#!/usr/bin/env bash\nprintf "%s\\n" "$@" > '
                f'{tmp_path}/worker_args\npwd > {tmp_path}/worker_cwd\n')
    env = dict(os.environ, PATH=f'{bin_dir}:{os.environ["PATH"]}', PYTHON=str(tmp_path / 'python'),
               SBATCH_ARGS='--time=1:00:00 --qos=low', LOG_DIR=str(tmp_path / 'logs'))
    spec = 'configs/sweeps/acr_alpha_startlayer_toy.yaml'
    cmd = [str(SCRIPT), 'gpu', 'acr-sweep', spec, '4', '--storage',
           'postgresql://u:p@db/sweeps', '--cfg-options', 'work_dir=a b']
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)
    args = (tmp_path / 'sbatch_args').read_text().splitlines()
    assert '--array=0-3' in args and '--job-name=acr-sweep' in args and '--gres=gpu:1' in args
    assert args[args.index('-p') + 1] == 'gpu' and '--qos=low' in args
    # The batch script runs one worker with the arguments as given (spaces kept).
    subprocess.run(['bash', str(tmp_path / 'batch.sh')], env=env, check=True)
    assert (tmp_path / 'worker_args').read_text().splitlines() == [
        '-u', 'tools/sweep.py', spec, '--local', '--storage', 'postgresql://u:p@db/sweeps',
        '--cfg-options', 'work_dir=a b']
    assert (tmp_path / 'worker_cwd').read_text().strip() == str(ROOT)


def test_bad_arguments_are_refused(tmp_path):
    out = subprocess.run([str(SCRIPT), 'gpu', 'job', 'missing.yaml', '2'], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 2 and 'sweep spec not found: missing.yaml' in out.stderr
    out = subprocess.run([str(SCRIPT), 'gpu', 'job', 'configs/sweeps/acr_alpha_startlayer_toy.yaml',
                          'many'], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 2 and 'WORKERS must be a positive number' in out.stderr
