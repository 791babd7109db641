"""Runs a sweep spec's trials as an Optuna study, without a W&B server.

Any number of workers (processes on one machine or on many, ``tools/slurm_sweep.sh``) run
the same study: each asks the study for a trial, trains it with the spec's program in a
subprocess, reports every validation's metric to the study (where the pruner may stop it),
and records the result. Layout of a sweep (``<work_dir_root>/<sweep name>/``)::

    study.db                      the Optuna study (default storage; --storage for another)
    trial_0000/                   a trial's work dir (checkpoints, mmengine logs, W&B run)
        trial_output.log          stdout and stderr of the program, all launches
        optuna_trial.json         which study and parameters the directory belongs to
    results.md, results.json      the trials sorted by the metric (atomic)
    optimization_history.png      the metric per trial and the best so far
    param_importances.png         Optuna's parameter importances (PED-ANOVA)

Which trial runs where, and what happens after a kill:

* Trials are handed out by the study's storage, which gives each trial number (and each
  queued trial) to one worker only. The budget (``--count`` or the spec's ``run_cap``; the
  grid's size for grid search) is the study's total, over all workers and reruns: a trial
  beyond it is not run (it is recorded as failed with the user attribute ``skipped``).
* Finished trials (complete, pruned, failed) are never run again.
* A killed worker's trial is **marked failed and re-queued**: a new trial with the same
  parameters, the same work dir and the re-queued trial's number in its system attribute
  ``failed_trial``; it resumes from the last checkpoint (``tools/train.py --resume``).
  Who does it: a worker stopped by SIGTERM or Ctrl-C re-queues its own trial at once; a
  worker killed outright (SIGKILL, a lost node) stops sending heartbeats, and the next
  worker that starts a trial after the grace period re-queues it, or at once a worker on
  the same machine that finds the killed worker's process gone. A trial is re-queued at
  most ``max_retry`` times (a trial that kills its worker each time then stays failed).
* Every trial logs to W&B like any training run (offline without a server), named
  ``<sweep>/trial_NNNN`` and grouped ``sweep-<sweep>``.
"""
import json
import logging
import math
import os
import os.path as osp
import signal
import socket
import sys
import threading
import warnings
from typing import Any, Dict, List, Optional, Sequence

import optuna
from mmengine.logging import print_log
from optuna.exceptions import ExperimentalWarning, UpdateFinishedTrialError
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState
from tqdm import tqdm

from projects.acr.utils.atomic_io import atomic_open

from ..utils.tool_runner import log_tail, repo_root, run_process
from .optuna_space import constant_params, grid_size, search_space, suggest
from .optuna_study import (STUDY_DB, create_or_load_study, default_storage_url, display_url,
                           open_storage, spec_settings)
from .study_report import study_results, write_study_report
from .sweep_spec import SweepSpec, SweepSpecError, expand_command
from .trial_results import TrialResult, best_of, metric_history, validation_curve

OUTPUT_LOG = 'trial_output.log'
TRIAL_RECORD = 'optuna_trial.json'


def check_trial_options(spec: SweepSpec, config: Optional[str],
                        cfg_options: Sequence[str]) -> Optional[str]:
    """Checks ``--config`` and ``--cfg-options`` against the spec.

    Returns:
        str | None: ``config`` made absolute.

    Raises:
        SweepSpecError: ``config`` is given but the spec's command has none to replace.
        FileNotFoundError: No such config file.
        ValueError: An option is not ``key=value`` or sets a swept key.
    """
    if config is not None:
        if spec.config_file is None:
            raise SweepSpecError(f'{spec.path}: command has no config file after '
                                 '${program} for --config to replace')
        if not osp.isfile(config):
            raise FileNotFoundError(f'config file not found: {config}')
        config = osp.abspath(config)
    for item in cfg_options:
        if '=' not in item:
            raise ValueError(f'cfg option "{item}" is not of the form key=value')
        key = item.split('=', 1)[0]
        if key in spec.parameters:
            raise ValueError(f'cfg option "{item}" sets "{key}", which the sweep '
                             f'{spec.path} varies')
    return config


def trial_argv(spec: SweepSpec, params: Dict[str, Any], python: str, work_dir: str,
               config: Optional[str] = None, cfg_options: Sequence[str] = (),
               resume: bool = False) -> List[str]:
    """The program's command line for one trial.

    Args:
        spec (SweepSpec): The sweep.
        params (dict): ``{config key: value}``.
        python (str): Interpreter for ``${interpreter}``.
        work_dir (str): The trial's work dir (``--work-dir``).
        config (str, optional): Replaces the spec's config file.
        cfg_options (Sequence[str]): Added overrides.
        resume (bool): Add ``--resume`` (continue from the work dir's last checkpoint).
    """
    extra = ['--work-dir', work_dir]
    if resume:
        extra.append('--resume')
    if cfg_options:
        # tools/train.py merges repeated --cfg-options.
        extra += ['--cfg-options'] + list(cfg_options)
    return expand_command(spec, params, python, config=config, extra=extra)


class TrialFailed(Exception):
    """The trial's program failed or logged no metric (the trial is recorded as failed)."""


class TrialSkipped(Exception):
    """The study had its budget of trials when this one was created: it is not run."""


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f'signal {signum}')


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LocalSweepRunner:
    """One worker of a sweep's Optuna study.

    Args:
        spec (SweepSpec): The sweep.
        sweep_dir (str): Directory of the sweep; each trial gets a sub-directory.
        config (str, optional): Config file replacing the one in the spec's command.
        cfg_options (Sequence[str]): ``key=value`` overrides added to every trial (they
            may not set a swept key).
        count (int, optional): The study's number of trials (random / bayes), or a cap
            (grid). Defaults to the spec's ``run_cap``.
        seed (int): Seed of the sampler of the worker that creates the study, and of the
            grid's order.
        storage (str, optional): RDB URL of the study; defaults to
            ``sqlite:///<sweep_dir>/study.db``.
        study_name (str, optional): Name of the study in the storage (the spec's name).
        heartbeat_interval (int): Seconds between a running trial's heartbeats.
        grace_period (int, optional): Seconds without heartbeat after which a trial counts
            as killed (default twice the interval).
        max_retry (int, optional): Times a killed trial is re-queued.
        poll_interval (float): Seconds between reads of a running trial's metric.
        plots (bool): Draw the plots of the report (matplotlib, a few seconds).
        python (str): Interpreter for ``${interpreter}``.
        cwd (str, optional): Where trials run; defaults to :func:`repo_root`, against which
            the spec's ``program`` and config paths are resolved.
        env (dict, optional): Extra environment variables of the trials.
    """

    def __init__(self,
                 spec: SweepSpec,
                 sweep_dir: str,
                 config: Optional[str] = None,
                 cfg_options: Sequence[str] = (),
                 count: Optional[int] = None,
                 seed: int = 0,
                 storage: Optional[str] = None,
                 study_name: Optional[str] = None,
                 heartbeat_interval: int = 60,
                 grace_period: Optional[int] = None,
                 max_retry: Optional[int] = 2,
                 poll_interval: float = 2.0,
                 plots: bool = True,
                 python: str = sys.executable,
                 cwd: Optional[str] = None,
                 env: Optional[Dict[str, str]] = None):
        self.spec = spec
        self.config = check_trial_options(spec, config, cfg_options)
        self.cfg_options = list(cfg_options)
        self.space = search_space(spec)
        self.constants = constant_params(spec)
        if spec.method == 'grid':
            size = grid_size(spec)
            self.budget = min(size, count or spec.run_cap or size)
        else:
            self.budget = count if count is not None else spec.run_cap
            if self.budget is None:
                raise ValueError(f'{spec.path}: {spec.method} search needs a number of trials '
                                 '(--count or run_cap in the spec)')
        if self.budget < 1:
            raise ValueError(f'the number of trials must be at least 1, got {self.budget}')
        self.seed = seed
        self.sweep_dir = osp.abspath(sweep_dir)
        self.storage_url = storage or default_storage_url(self.sweep_dir)
        self.study_name = study_name or spec.name
        self.heartbeat_interval = heartbeat_interval
        self.grace_period = grace_period
        self.max_retry = max_retry
        self.poll_interval = poll_interval
        self.plots = plots
        self.python = python
        self.cwd = cwd or repo_root()
        self.env = dict(env or {})
        self.study: Optional[optuna.Study] = None
        self.created = False
        self._bar: Optional[tqdm] = None

    # -- the study ---------------------------------------------------------------------

    def open_study(self) -> optuna.Study:
        """Creates the study or joins it (idempotent)."""
        if self.study is None:
            if self.storage_url == default_storage_url(self.sweep_dir):
                os.makedirs(self.sweep_dir, exist_ok=True)
            storage = open_storage(self.storage_url, self.heartbeat_interval,
                                   self.grace_period, self.max_retry)
            settings = spec_settings(self.spec, self.config, self.cfg_options, self.seed)
            # A joining worker gets a seed of its own: the same seed would propose the
            # creator's points again.
            worker_seed = int.from_bytes(os.urandom(4), 'little')
            self.study, self.created = create_or_load_study(self.spec, storage,
                                                            self.study_name, settings,
                                                            worker_seed)
        return self.study

    def _retry_callback(self) -> RetryHeartbeatStaleTrialCallback:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', ExperimentalWarning)
            return RetryHeartbeatStaleTrialCallback(max_retry=self.max_retry)

    def _trials(self, states: Optional[Sequence[TrialState]] = None) -> List[FrozenTrial]:
        return self.study.get_trials(deepcopy=False, states=states)

    @staticmethod
    def budget_trials(trials: Sequence[FrozenTrial]) -> List[FrozenTrial]:
        """The trials that count towards the budget: all but re-queued and skipped ones."""
        requeued = set()
        for t in trials:
            requeued.update(t.system_attrs.get('retry_history', []))
        return [t for t in trials if t.number not in requeued and 'skipped' not in t.user_attrs]

    def is_finished(self) -> bool:
        """Whether the study has its budget of trials and none is waiting."""
        trials = self._trials()
        if any(t.state == TrialState.WAITING for t in trials):
            return False
        return len(self.budget_trials(trials)) >= self.budget

    def recover_dead_trials(self) -> List[int]:
        """Fails and re-queues the running trials whose worker is gone.

        A worker of this machine is gone when its process is; a worker elsewhere when its
        trial's heartbeat is older than the grace period (Optuna's ``fail_stale_trials``).

        Returns:
            list[int]: Numbers of the trials re-queued from this machine's dead workers.
        """
        host, recovered = socket.gethostname(), []
        storage = self.study._storage
        for t in self._trials(states=(TrialState.RUNNING, )):
            worker = t.user_attrs.get('worker') or {}
            if (worker.get('trial') != t.number or worker.get('host') != host
                    or worker.get('pid') == os.getpid() or _pid_alive(int(worker['pid']))):
                continue
            try:
                if not storage.set_trial_state_values(t._trial_id, TrialState.FAIL):
                    continue
            except UpdateFinishedTrialError:
                continue  # another worker got there first
            self._retry_callback()(self.study, storage.get_trial(t._trial_id))
            recovered.append(t.number)
            print_log(f'trial {t.number}: its worker (pid {worker["pid"]}) is gone; '
                      'marked failed and re-queued', logger='current', level=logging.WARNING)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', ExperimentalWarning)
            optuna.storages.fail_stale_trials(self.study)
        return recovered

    # -- one trial ---------------------------------------------------------------------

    def trial_dir(self, number: int) -> str:
        """Work dir of the trial ``number`` (and of its re-queued copies)."""
        return osp.join(self.sweep_dir, f'trial_{number:04d}')

    def trial_command(self, work_dir: str, params: Dict[str, Any],
                      resume: bool = False) -> List[str]:
        """The program's command line of a trial (see :func:`trial_argv`)."""
        return trial_argv(self.spec, params, self.python, work_dir, self.config,
                          self.cfg_options, resume)

    def _claim_work_dir(self, work_dir: str, number: int, params: Dict[str, Any]) -> None:
        path = osp.join(work_dir, TRIAL_RECORD)
        uid = self.study.user_attrs['uid']
        record = dict(study=self.study_name, study_uid=uid, storage=display_url(self.storage_url),
                      trial=number, params=params)
        if osp.isfile(path):
            with open(path, encoding='utf-8') as f:
                try:
                    found = json.load(f)
                except json.JSONDecodeError as exc:
                    raise ValueError(f'{path}: not valid JSON ({exc}); delete it') from exc
            if found.get('study_uid') != uid or found.get('params') != params:
                raise ValueError(f'{work_dir} belongs to another study or trial ({path}: '
                                 f'study {found.get("study")!r}, params {found.get("params")}); '
                                 'delete it or use another --work-dir-root')
            return
        with atomic_open(path, 'w') as f:
            json.dump(record, f, indent=2, default=str)

    def _is_surplus(self, frozen: FrozenTrial) -> bool:
        # Queued and re-queued trials always run; a new trial runs when fewer than
        # `budget` trials came before it (two workers may ask at the same moment).
        if 'fixed_params' in frozen.system_attrs or 'failed_trial' in frozen.system_attrs:
            return False
        earlier = [t for t in self._trials() if t.number < frozen.number]
        return len(self.budget_trials(earlier)) >= self.budget

    def objective(self, trial: optuna.Trial) -> float:
        """Trains one trial; the value is the best metric over its validations.

        Raises:
            optuna.TrialPruned: The pruner stopped it.
            TrialFailed: The program failed or logged no metric.
            TrialSkipped: The study already had its budget of trials.
        """
        # Who runs it, first of all: a worker finding this trial running under a dead
        # process re-queues it. A re-queued copy inherits the killed trial's attributes,
        # hence the trial number in the record.
        trial.set_user_attr('worker', dict(host=socket.gethostname(), pid=os.getpid(),
                                           trial=trial.number))
        frozen = next(t for t in self._trials() if t.number == trial.number)
        if self._is_surplus(frozen):
            trial.set_user_attr('skipped', 'the study had all its trials')
            trial.study.stop()
            raise TrialSkipped(f'trial {trial.number} is beyond the {self.budget} trials of '
                               'the study; not run')
        searched = {name: suggest(trial, name, dist) for name, dist in self.space.items()}
        params = {name: searched.get(name, self.constants.get(name))
                  for name in self.spec.parameters}
        number = frozen.system_attrs.get('failed_trial', trial.number)
        work_dir = self.trial_dir(number)
        os.makedirs(work_dir, exist_ok=True)
        try:
            self._claim_work_dir(work_dir, number, params)
        except ValueError as exc:
            trial.set_user_attr('skipped', str(exc))
            raise
        resume = osp.isfile(osp.join(work_dir, 'last_checkpoint'))
        argv = self.trial_command(work_dir, params, resume=resume)
        trial.set_user_attr('work_dir', work_dir)
        trial.set_user_attr('command', argv)
        run_name = f'{self.spec.name}/{osp.basename(work_dir)}'
        env = dict(os.environ, WANDB_NAME=run_name, WANDB_RUN_GROUP=f'sweep-{self.spec.name}',
                   WANDB_JOB_TYPE='sweep-trial', **self.env)
        reported: List[float] = []

        def should_stop() -> bool:
            curve = validation_curve(work_dir, self.spec.metric)
            if len(curve) <= len(reported):
                return False
            for step in range(len(reported), len(curve)):
                reported.append(curve[step])
                if math.isfinite(curve[step]):
                    trial.report(curve[step], step + 1)
            return trial.should_prune()

        try:
            code, stopped = run_process(argv, self.cwd, env, osp.join(work_dir, OUTPUT_LOG),
                                        isolate=True, should_stop=should_stop,
                                        poll_interval=self.poll_interval)
        except KeyboardInterrupt:
            # Re-queue before Optuna marks this trial failed: a rerun resumes it.
            trial.set_user_attr('interrupted', True)
            latest = next(t for t in self._trials() if t.number == trial.number)
            self._retry_callback()(self.study, latest)
            print_log(f'trial {trial.number} interrupted: marked failed and re-queued '
                      f'(work dir {work_dir})', logger='current', level=logging.WARNING)
            raise
        history = metric_history(work_dir, self.spec.metric)
        best, best_step = best_of(history, self.spec.goal)
        trial.set_user_attr('validations', len(reported))
        trial.set_user_attr('best', best)
        trial.set_user_attr('best_step', best_step)
        trial.set_user_attr('last', history[-1][1] if history else None)
        if stopped:
            trial.set_user_attr('pruned_at', len(reported))
            raise optuna.TrialPruned(f'pruned after validation {len(reported)} '
                                     f'({self.spec.metric} {reported[-1]:.4g})')
        log_path = osp.join(work_dir, OUTPUT_LOG)
        if code != 0:
            trial.set_user_attr('exit_code', code)
            raise TrialFailed(f'{self.spec.program} exited with status {code}; last lines '
                              f'of {log_path}:\n{log_tail(log_path)}')
        if best is None:
            trial.set_user_attr('exit_code', 0)
            raise TrialFailed(f'{self.spec.program} finished without logging a finite '
                              f'{self.spec.metric}; see {log_path}')
        return best

    # -- the worker --------------------------------------------------------------------

    def _after_trial(self, study: optuna.Study, frozen: FrozenTrial) -> None:
        self.recover_dead_trials()
        if self._bar is not None:
            done = [t for t in self.budget_trials(self._trials()) if t.state.is_finished()]
            self._bar.n = len(done)
            self._bar.set_postfix_str(f'trial {frozen.number} {frozen.state.name.lower()}')
            self._bar.refresh()
        if self.is_finished():
            study.stop()

    def run(self) -> List[TrialResult]:
        """Runs trials until the study has its budget, then writes the report.

        Returns:
            list[TrialResult]: Every trial of the study, best first.

        Raises:
            KeyboardInterrupt: Ctrl-C or SIGTERM; the running trial was re-queued and the
                report written.
        """
        study = self.open_study()
        print_log(f'sweep {self.spec.name}: {"created" if self.created else "joined"} study '
                  f'"{self.study_name}" in {display_url(self.storage_url)} ({self.spec.method}, '
                  f'{self.budget} trials)', logger='current')
        self.recover_dead_trials()
        previous = None
        main_thread = threading.current_thread() is threading.main_thread()
        if main_thread:
            previous = signal.signal(signal.SIGTERM, _interrupt)
        self._bar = tqdm(total=self.budget, desc=f'sweep {self.spec.name}', unit='trial')
        optuna_verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        try:
            if not self.is_finished():
                study.optimize(self.objective, catch=(TrialFailed, TrialSkipped),
                               callbacks=[self._after_trial])
        finally:
            optuna.logging.set_verbosity(optuna_verbosity)
            self._bar.close()
            self._bar = None
            if main_thread:
                signal.signal(signal.SIGTERM, previous)
            table = self.report()
        results = study_results(study, self.spec)
        print(f'\nSweep {self.spec.name}: {self.spec.metric} ({self.spec.goal}), '
              f'{osp.join(self.sweep_dir, "results.md")}\n\n{table}')
        return results

    def report(self) -> str:
        """Writes ``results.md``, ``results.json`` and the plots from the study.

        Returns:
            str: The markdown table.

        Raises:
            FileNotFoundError: There is no such study yet.
        """
        if self.study is None:
            default_db = osp.join(self.sweep_dir, STUDY_DB)
            if self.storage_url == default_storage_url(self.sweep_dir) and \
                    not osp.isfile(default_db):
                raise FileNotFoundError(f'no study at {default_db}; run the sweep first')
            storage = open_storage(self.storage_url, self.heartbeat_interval,
                                   self.grace_period, self.max_retry)
            try:
                self.study = optuna.load_study(study_name=self.study_name, storage=storage)
            except KeyError as exc:
                raise FileNotFoundError(f'no study "{self.study_name}" in '
                                        f'{display_url(self.storage_url)}; run the sweep '
                                        'first') from exc
        return write_study_report(self.sweep_dir, self.study, self.spec, plots=self.plots)
