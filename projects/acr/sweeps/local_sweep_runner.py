"""Runs a sweep spec's trials one after another on this machine, without a W&B server.

Layout of a sweep (``<work_dir_root>/<sweep name>/``)::

    <trial name>/                 the trial's work dir (checkpoints, mmengine logs)
        trial_output.log          stdout and stderr of tools/train.py, all launches
        sweep_trial.json          completion marker with the final metric (atomic)
    results.md                    trials sorted by the metric (atomic)
    results.json

A rerun skips the trials that have a marker, resumes unfinished ones from their last
checkpoint (``tools/train.py --resume``) or restarts them when they have none.
"""
import logging
import os
import os.path as osp
import subprocess
import sys
import time
from collections import deque
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mmengine.logging import print_log
from tqdm import tqdm

from .sweep_spec import SweepSpec, SweepSpecError, expand_command
from .trial_results import TrialResult, read_marker, read_metric, write_marker, write_results
from .trial_sampling import sample_trials, trial_name

OUTPUT_LOG = 'trial_output.log'


def repo_root() -> str:
    """The checkout that holds ``tools/train.py`` (trials run from there)."""
    return osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


class LocalSweepRunner:
    """Runs and summarises the trials of one sweep.

    Args:
        spec (SweepSpec): The sweep.
        sweep_dir (str): Directory of the sweep; each trial gets a sub-directory.
        config (str, optional): Config file replacing the one in the spec's command.
        cfg_options (Sequence[str]): ``key=value`` overrides added to every trial (they
            may not set a swept key).
        count (int, optional): Number of trials (random / bayes), or a cap (grid).
        seed (int): Seed of random sampling.
        python (str): Interpreter for ``${interpreter}``.
        cwd (str, optional): Where trials run; defaults to the repository root, against
            which the spec's ``program`` and config paths are resolved.
        env (dict, optional): Extra environment variables of the trials.
    """

    def __init__(self,
                 spec: SweepSpec,
                 sweep_dir: str,
                 config: Optional[str] = None,
                 cfg_options: Sequence[str] = (),
                 count: Optional[int] = None,
                 seed: int = 0,
                 python: str = sys.executable,
                 cwd: Optional[str] = None,
                 env: Optional[Dict[str, str]] = None):
        if config is not None:
            if spec.config_file is None:
                raise SweepSpecError(f'{spec.path}: command has no config file after '
                                     '${program} for --config to replace')
            if not osp.isfile(config):
                raise FileNotFoundError(f'config file not found: {config}')
            config = osp.abspath(config)
        for item in cfg_options:
            key = item.split('=', 1)[0]
            if '=' not in item:
                raise ValueError(f'cfg option "{item}" is not of the form key=value')
            if key in spec.parameters:
                raise ValueError(f'cfg option "{item}" sets "{key}", which the sweep '
                                 f'{spec.path} varies')
        self.spec = spec
        self.sweep_dir = osp.abspath(sweep_dir)
        self.config = config
        self.cfg_options = list(cfg_options)
        self.count = count
        self.seed = seed
        self.python = python
        self.cwd = cwd or repo_root()
        self.env = dict(env or {})

    def trials(self) -> List[Tuple[str, Dict[str, Any]]]:
        """``(name, params)`` of every trial, in run order."""
        trials = sample_trials(self.spec, self.count, self.seed)
        named = [(trial_name(self.spec, t), t) for t in trials]
        seen: Dict[str, Dict[str, Any]] = {}
        unique = []
        for name, params in named:
            # Random search can draw a discrete combination twice: run it once.
            if name not in seen:
                seen[name] = params
                unique.append((name, params))
        return unique

    def trial_dir(self, name: str) -> str:
        """Work dir of a trial."""
        return osp.join(self.sweep_dir, name)

    def trial_command(self, name: str, params: Dict[str, Any],
                      resume: bool = False) -> List[str]:
        """The ``tools/train.py`` command line of a trial.

        Args:
            name (str): Trial name.
            params (dict): ``{config key: value}``.
            resume (bool): Add ``--resume`` (continue from the work dir's last checkpoint).
        """
        extra = ['--work-dir', self.trial_dir(name)]
        if resume:
            extra.append('--resume')
        if self.cfg_options:
            # tools/train.py merges repeated --cfg-options.
            extra += ['--cfg-options'] + self.cfg_options
        return expand_command(self.spec, params, self.python, config=self.config,
                              extra=extra)

    def _result(self, name: str, params: Dict[str, Any], status: str,
                command: List[str]) -> TrialResult:
        metric = read_metric(self.trial_dir(name), self.spec.metric, self.spec.goal)
        return TrialResult(name=name, params=params, status=status, best=metric['best'],
                           last=metric['last'], best_step=metric['best_step'],
                           command=command)

    def run_trial(self, name: str, params: Dict[str, Any],
                  skip_finished: bool = True) -> TrialResult:
        """Runs one trial to completion (or returns its recorded result).

        Args:
            name (str): Trial name (its work dir under the sweep dir).
            params (dict): ``{config key: value}``.
            skip_finished (bool): Return the marker's result when the trial has one.

        Returns:
            TrialResult: ``status`` ``'done'`` or ``'failed'``.
        """
        work_dir = self.trial_dir(name)
        command = self.trial_command(name, params)
        done = read_marker(work_dir)
        if done is not None and skip_finished:
            if done.params != params:
                raise ValueError(f'{osp.join(work_dir, "sweep_trial.json")} was written '
                                 f'for {done.params}, not {params}; delete the directory')
            if [c for c in done.command[1:] if c != '--resume'] != command[1:]:
                print_log(f'trial {name} finished with another command line; keeping its '
                          f'result (delete {work_dir} to rerun it)', logger='current')
            return done
        resume = osp.isfile(osp.join(work_dir, 'last_checkpoint'))
        argv = self.trial_command(name, params, resume=resume)
        os.makedirs(work_dir, exist_ok=True)
        env = dict(os.environ, WANDB_NAME=name, **self.env)
        log_path = osp.join(work_dir, OUTPUT_LOG)
        with open(log_path, 'a', encoding='utf-8') as log:
            log.write(f'\n# {time.strftime("%Y-%m-%d %H:%M:%S")} $ {" ".join(argv)}\n')
            log.flush()
            returncode = subprocess.call(argv, cwd=self.cwd, env=env, stdout=log,
                                         stderr=subprocess.STDOUT)
        if returncode != 0:
            with open(log_path, encoding='utf-8', errors='replace') as f:
                tail = ''.join(deque(f, maxlen=15))
            print_log(f'trial {name} failed (exit code {returncode}); last lines of '
                      f'{log_path}:\n{tail}', logger='current', level=logging.ERROR)
            return self._result(name, params, 'failed', argv)
        result = self._result(name, params, 'done', argv)
        write_marker(work_dir, result)
        return result

    def summarize(self, results: Sequence[TrialResult]) -> str:
        """Writes ``results.md`` / ``results.json`` and returns the markdown table."""
        names = [n for n, p in self.spec.parameters.items() if p.varies]
        return write_results(self.sweep_dir, results, self.spec.metric, self.spec.goal,
                             names, title=self.spec.name)

    def run(self) -> List[TrialResult]:
        """Runs every trial not yet finished, then writes and prints the table.

        Returns:
            list[TrialResult]: One per trial, in run order.
        """
        trials = self.trials()
        os.makedirs(self.sweep_dir, exist_ok=True)
        results = []
        bar = tqdm(trials, desc=f'sweep {self.spec.name}', unit='trial')
        for name, params in bar:
            bar.set_postfix_str(name)
            results.append(self.run_trial(name, params))
        bar.close()
        table = self.summarize(results)
        print(f'\nSweep {self.spec.name}: {self.spec.metric} ({self.spec.goal}), '
              f'{osp.join(self.sweep_dir, "results.md")}\n\n{table}')
        return results

    def collect(self) -> List[TrialResult]:
        """Results of the finished trials found in the sweep dir (any order)."""
        if not osp.isdir(self.sweep_dir):
            return []
        results = [read_marker(osp.join(self.sweep_dir, d))
                   for d in sorted(os.listdir(self.sweep_dir))]
        return [r for r in results if r is not None]
