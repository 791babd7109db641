"""Runs the variants x seeds of an ablation spec one after another, resumably.

Layout (``<work_dir_root>/<spec name>/``)::

    <variant>/seed<S>/            the run's work dir (checkpoints, mmengine logs)
        run_output.log            stdout and stderr of every command of the run
        eval_<name>.json          metrics of each evaluation of the last checkpoint
        ablation_run.json         completion marker with the run's numbers (atomic)
    results.md, results.json      the tables (atomic)
    results.png                   bars with the per-seed points

A rerun skips runs with a marker, resumes an unfinished training from its last
checkpoint and only runs the evaluations that are missing.
"""
import json
import logging
import os
import os.path as osp
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from mmengine.logging import print_log
from tqdm import tqdm

from ..sweeps import format_cfg_options, read_metric
from ..utils.atomic_io import atomic_open
from ..utils.latest_checkpoint import find_latest_complete_checkpoint
from ..utils.tool_runner import log_tail, repo_root, run_process
from .ablation_spec import AblationSpec

MARKER_NAME = 'ablation_run.json'
OUTPUT_LOG = 'run_output.log'


@dataclass
class RunRecord:
    """One training run of one variant with one seed.

    Attributes:
        variant (str): Variant name.
        seed (int): Training seed.
        options (dict): Every config override of the run (budget, variant, seed).
        config (str): The config file it trained with.
        status (str): ``'done'``, ``'failed'`` or ``'pending'``.
        values (dict): ``{metric name: value}`` of the spec's metrics and diagnostics.
        seconds (float): Wall time of the run's commands (summed over launches).
    """
    variant: str
    seed: int
    options: Dict[str, Any]
    config: str = ''
    status: str = 'pending'
    values: Dict[str, Optional[float]] = field(default_factory=dict)
    seconds: float = 0.0


class AblationRunner:
    """Trains and evaluates every run of a spec and summarises them.

    Args:
        spec (AblationSpec): The ablation.
        work_dir_root (str): Runs go to ``<root>/<spec name>/<variant>/seed<S>``.
        variants (Sequence[str], optional): Only these variants (default: all).
        seeds (Sequence[int], optional): Only these seeds (default: the spec's).
        cfg_options (Sequence[str]): ``key=value`` overrides added to every run.
        python (str): Interpreter of the tools.
        cwd (str, optional): Where the tools run (the repository root by default); the
            spec's config and ``requires`` paths are relative to it.
    """

    def __init__(self,
                 spec: AblationSpec,
                 work_dir_root: str = 'work_dirs/ablations',
                 variants: Optional[Sequence[str]] = None,
                 seeds: Optional[Sequence[int]] = None,
                 cfg_options: Sequence[str] = (),
                 python: str = sys.executable,
                 cwd: Optional[str] = None) -> None:
        unknown = [v for v in (variants or []) if v not in spec.variants]
        if unknown:
            raise ValueError(f'{spec.path}: no variants {unknown} (has {list(spec.variants)})')
        for item in cfg_options:
            if '=' not in item:
                raise ValueError(f'cfg option "{item}" is not of the form key=value')
        self.spec = spec
        self.cwd = cwd or repo_root()
        self.root = osp.join(osp.abspath(osp.join(self.cwd, work_dir_root)), spec.name)
        self.variants = list(variants or spec.variants)
        self.seeds = list(seeds if seeds is not None else spec.seeds)
        self.cfg_options = list(cfg_options)
        self.python = python
        self._failed = set()  # (variant, seed) of runs that failed in this process

    # -- layout -----------------------------------------------------------------------
    def run_dir(self, variant: str, seed: int) -> str:
        """Work dir of one run."""
        return osp.join(self.root, variant, f'seed{seed}')

    def run_options(self, variant: str, seed: int) -> Dict[str, Any]:
        """The run's config overrides: budget, then variant, then the seed."""
        options = dict(self.spec.options)
        options.update(self.spec.variants[variant])
        options[self.spec.seed_key] = seed
        return options

    def train_command(self, variant: str, seed: int, resume: bool = False) -> List[str]:
        """The ``tools/train.py`` command line of a run."""
        argv = [self.python, 'tools/train.py', self.spec.config_of(variant),
                '--work-dir', self.run_dir(variant, seed)]
        if resume:
            argv.append('--resume')
        argv += ['--cfg-options'] + format_cfg_options(self.run_options(variant, seed))
        # tools/train.py merges repeated --cfg-options, so these come last and win.
        if self.cfg_options:
            argv += ['--cfg-options'] + self.cfg_options
        return argv

    def eval_command(self, variant: str, seed: int, name: str, checkpoint: str) -> List[str]:
        """The ``tools/test.py`` command line of one evaluation of a run."""
        work_dir = self.run_dir(variant, seed)
        options = dict(self.run_options(variant, seed))
        options.update(self.spec.evaluations[name])
        argv = [self.python, 'tools/test.py', self.spec.config_of(variant), checkpoint,
                '--work-dir', osp.join(work_dir, f'eval_{name}'),
                '--out-json', osp.join(work_dir, f'eval_{name}.json'),
                '--cfg-options'] + format_cfg_options(options)
        if self.cfg_options:
            argv += ['--cfg-options'] + self.cfg_options
        return argv

    # -- running ----------------------------------------------------------------------
    def ensure_requirements(self) -> None:
        """Runs the spec's ``requires`` commands whose target is missing."""
        for target, command in self.spec.requires.items():
            if osp.exists(osp.join(self.cwd, target)):
                continue
            argv = [self.python if c == 'python' else c for c in command]
            print_log(f'{target} is missing: running {" ".join(argv)}', logger='current')
            code, _ = run_process(argv, cwd=self.cwd, env=self._env())
            if code != 0 or not osp.exists(osp.join(self.cwd, target)):
                raise RuntimeError(f'{self.spec.path}: requires.{target}: "{" ".join(argv)}" '
                                   f'exited with {code} without making {target}')

    def _env(self) -> Dict[str, str]:
        return dict(os.environ, **self.spec.env)

    def _call(self, argv: List[str], work_dir: str) -> int:
        os.makedirs(work_dir, exist_ok=True)
        log_path = osp.join(work_dir, OUTPUT_LOG)
        code, _ = run_process(argv, cwd=self.cwd, env=self._env(), log_path=log_path)
        if code != 0:
            print_log(f'{argv[1]} failed (exit code {code}); last lines of {log_path}:\n'
                      f'{log_tail(log_path)}', logger='current', level=logging.ERROR)
        return code

    @staticmethod
    def _last_checkpoint(work_dir: str) -> Optional[str]:
        # Not work_dir/last_checkpoint: it names a file that may be truncated or gone
        # after a kill; the latest checkpoint that loads completely is the one to trust.
        return find_latest_complete_checkpoint(work_dir) if osp.isdir(work_dir) else None

    def read_values(self, variant: str, seed: int) -> Dict[str, Optional[float]]:
        """The run's metrics and diagnostics from its logs and evaluation files."""
        work_dir = self.run_dir(variant, seed)
        values: Dict[str, Optional[float]] = {}
        for metric in self.spec.metrics + self.spec.diagnostics:
            if metric.scalar is not None:
                values[metric.name] = read_metric(work_dir, metric.scalar)['last']
                continue
            path = osp.join(work_dir, f'eval_{metric.evaluation}.json')
            value = None
            if osp.isfile(path):
                with open(path, encoding='utf-8') as f:
                    found = json.load(f)['metrics'].get(metric.key)
                value = None if found is None else float(found)
            values[metric.name] = value
        return values

    def run_one(self, variant: str, seed: int) -> RunRecord:
        """Trains and evaluates one run unless its marker says it is done."""
        work_dir = self.run_dir(variant, seed)
        options = self.run_options(variant, seed)
        done = read_record(work_dir)
        if done is not None:
            if (done.options != json.loads(json.dumps(options))
                    or done.config != self.spec.config_of(variant)):
                raise ValueError(f'{osp.join(work_dir, MARKER_NAME)} was written for '
                                 f'{done.config} with {done.options}, not for '
                                 f'{self.spec.config_of(variant)} with {options}; delete '
                                 f'{work_dir} to rerun')
            return done
        record = RunRecord(variant=variant, seed=seed, options=options,
                           config=self.spec.config_of(variant))
        start = time.time()
        ckpt = self._last_checkpoint(work_dir)
        if ckpt is None or not self._training_finished(work_dir):
            code = self._call(self.train_command(variant, seed, resume=ckpt is not None),
                              work_dir)
            ckpt = self._last_checkpoint(work_dir)
            if code != 0 or ckpt is None:
                record.status = 'failed'
                self._failed.add((variant, seed))
                return record
            self._mark_trained(work_dir)
        for name in self.spec.evaluations:
            if osp.isfile(osp.join(work_dir, f'eval_{name}.json')):
                continue
            if self._call(self.eval_command(variant, seed, name, ckpt), work_dir) != 0:
                record.status = 'failed'
                self._failed.add((variant, seed))
                return record
        record.seconds = time.time() - start
        record.values = self.read_values(variant, seed)
        record.status = 'done'
        with atomic_open(osp.join(work_dir, MARKER_NAME), 'w') as f:
            json.dump(asdict(record), f, indent=2)
        return record

    @staticmethod
    def _training_finished(work_dir: str) -> bool:
        return osp.isfile(osp.join(work_dir, '.trained'))

    @staticmethod
    def _mark_trained(work_dir: str) -> None:
        with atomic_open(osp.join(work_dir, '.trained'), 'w') as f:
            f.write('training exited cleanly\n')

    def records(self) -> List[RunRecord]:
        """What each selected run has produced so far (finished or not)."""
        out = []
        for variant in self.variants:
            for seed in self.seeds:
                done = read_record(self.run_dir(variant, seed))
                status = 'failed' if (variant, seed) in self._failed else 'pending'
                out.append(done or RunRecord(variant=variant, seed=seed,
                                             options=self.run_options(variant, seed),
                                             config=self.spec.config_of(variant),
                                             status=status))
        return out

    def run(self) -> List[RunRecord]:
        """Runs every selected run not yet finished, then writes the report.

        Runs go seed by seed (every variant of seed 0 first), so an interrupted study
        still has complete seeds to compare.
        """
        self.ensure_requirements()
        os.makedirs(self.root, exist_ok=True)
        plan = [(v, s) for s in self.seeds for v in self.variants]
        bar = tqdm(plan, desc=f'ablation {self.spec.name}', unit='run')
        records = []
        for variant, seed in bar:
            bar.set_postfix_str(f'{variant} seed {seed}')
            records.append(self.run_one(variant, seed))
        bar.close()
        self.report()
        return records

    def report(self) -> str:
        """Writes ``results.md``, ``results.json`` and ``results.png`` from the finished
        runs and returns the markdown."""
        from .ablation_report import write_report
        return write_report(self.root, self.spec, self.records(), self.variants, self.seeds)


def read_record(work_dir: str) -> Optional[RunRecord]:
    """The completion marker of a run, or None when it has none."""
    path = osp.join(work_dir, MARKER_NAME)
    if not osp.isfile(path):
        return None
    with open(path, encoding='utf-8') as f:
        try:
            raw = json.load(f)
        except json.JSONDecodeError as exc:
            raise ValueError(f'{path}: not JSON ({exc}); delete it to rerun the run') from exc
    return RunRecord(**raw)
