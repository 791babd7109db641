"""A W&B visualization backend that goes offline by itself and logs what an ACR run needs.

What it adds to mmengine's :class:`WandbVisBackend`:

* **Never blocks.** Without an API key or a reachable server the run is logged offline
  under the work dir (``<work_dir>/<timestamp>/vis_data/wandb/offline-run-*``) and can be
  uploaded later with ``wandb sync``. The reachability probe is one TCP connect run in a
  daemon thread with a hard deadline (1 s by default), DNS lookup included. A server that
  accepts the connection but does not start the run within ``init_timeout`` (30 s here)
  also leaves the run offline instead of failing the training.
* **Runs named and grouped by experiment.** Group: the config file's stem
  (``vit_voc``); name: ``<work dir name>/<timestamp>``. ``init_kwargs`` or the
  ``WANDB_NAME`` / ``WANDB_RUN_GROUP`` environment variables win (the sweep runners set
  ``WANDB_NAME`` to the trial's name). Under a W&B sweep agent the run goes to the
  sweep's project and entity.
* **The resolved config as a nested dict.** mmengine's ``add_config`` already logs
  ``Config.to_dict()``, but then calls ``run.log_code()`` on the current directory, which
  in a checkout walks and stages the whole virtual environment (measured: 12,400 files,
  4.3 s before the first iteration). Here the config is made JSON-safe and only the
  package's sources (``projects/acr``, a few hundred kB) are logged as code.
* **Per-class tables**: :meth:`AutoWandbVisBackend.add_table`, reached from hooks through
  :func:`log_table`, which does nothing for backends without tables.
* **Artifacts** (``log_artifacts=True``, off by default): at the end of the run, the best
  checkpoint (``best_*.pth`` in the work dir, type ``model``) and an evaluation report
  (``evaluation_report.md``: validation metrics per epoch and the last per-class tables,
  with the raw ``scalars.json``; type ``evaluation``).

Example config::

    vis_backends = [
        dict(type='LocalVisBackend'),
        dict(type='AutoWandbVisBackend', init_kwargs=dict(project='acr-wsss'),
             log_artifacts=True),
    ]
"""
import glob
import logging
import math
import netrc
import os
import os.path as osp
import socket
import threading
from collections import OrderedDict
from numbers import Number
from typing import Any, Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlparse

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dist import master_only
from mmengine.logging import print_log
from mmengine.visualization import WandbVisBackend
from mmengine.visualization.vis_backend import force_init_env
from mmseg.registry import VISBACKENDS

from projects.acr.utils.atomic_io import atomic_open

# Files of the package logged as the run's code.
_CODE_SUFFIXES = ('.py', '.md')


def _tcp_probe(hostname: str, port: int, timeout: float) -> Optional[str]:
    """One TCP connect with a hard deadline; None when it succeeds, else why not.

    ``socket.create_connection`` bounds each connect by ``timeout`` but not the DNS
    lookup before it, and it tries every resolved address in turn; running it in a daemon
    thread joined with ``timeout`` bounds the whole probe.
    """
    outcome: List[Optional[str]] = []

    def probe() -> None:
        try:
            with socket.create_connection((hostname, port), timeout=timeout):
                pass
            outcome.append(None)
        except OSError as exc:
            outcome.append(f'{hostname}:{port} is unreachable ({exc.__class__.__name__}: {exc})')

    thread = threading.Thread(target=probe, name='wandb-reachability-probe', daemon=True)
    thread.start()
    thread.join(timeout)
    if not outcome:
        return f'{hostname}:{port} did not answer within {timeout:g} s'
    return outcome[0]


def wandb_online_reason(host: Optional[str] = None, timeout: float = 1.0) -> Optional[str]:
    """Why W&B cannot log online here, or None when it can.

    Online logging needs an API key (``WANDB_API_KEY`` or a netrc entry written by
    ``wandb login``) and a reachable server. The key is checked first, so without one
    there is no network access at all.

    Args:
        host (str, optional): W&B server URL; defaults to ``WANDB_BASE_URL`` or
            ``https://api.wandb.ai``.
        timeout (float): Upper bound in seconds for the reachability probe, DNS included.

    Returns:
        str or None: A one-line reason, or None when online logging can work.
    """
    base = host or os.environ.get('WANDB_BASE_URL', 'https://api.wandb.ai')
    parsed = urlparse(base if '://' in base else f'https://{base}')
    hostname = parsed.hostname or 'api.wandb.ai'
    try:
        port = parsed.port or (80 if parsed.scheme == 'http' else 443)
    except ValueError:
        return f'WANDB_BASE_URL "{base}" has an invalid port'
    if not os.environ.get('WANDB_API_KEY'):
        try:
            auth = netrc.netrc(os.environ.get('NETRC')).authenticators(hostname)
        except (FileNotFoundError, netrc.NetrcParseError, OSError):
            auth = None
        if not auth:
            return 'no W&B API key (set WANDB_API_KEY or run `wandb login`)'
    return _tcp_probe(hostname, port, timeout)


def decide_wandb_mode(init_kwargs: Optional[dict] = None,
                      timeout: float = 1.0) -> Tuple[str, str]:
    """The mode a run should use and why.

    ``init_kwargs['mode']`` wins, then the ``WANDB_MODE`` environment variable; otherwise
    the run is online when :func:`wandb_online_reason` finds nothing against it, and
    offline when it does.

    Args:
        init_kwargs (dict, optional): Arguments meant for ``wandb.init``.
        timeout (float): Deadline of the reachability probe in seconds.

    Returns:
        tuple[str, str]: ``(mode, reason)``, e.g. ``('offline', 'no W&B API key ...')``.
    """
    mode = (init_kwargs or {}).get('mode')
    if mode:
        return str(mode), 'init_kwargs["mode"]'
    mode = os.environ.get('WANDB_MODE')
    if mode:
        return mode, 'WANDB_MODE'
    reason = wandb_online_reason(timeout=timeout)
    if reason is not None:
        return 'offline', reason
    return 'online', 'API key present and server reachable'


def _json_safe(value: Any) -> Any:
    """Nested dicts, lists and plain scalars only: what W&B stores as run config."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return _json_safe(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    # Classes, functions and other objects referenced by a config.
    return str(value)


def config_to_wandb_dict(config: Config) -> Dict[str, Any]:
    """The resolved config (``_base_`` files and overrides merged) as a nested plain dict.

    Args:
        config (Config): The runner's config.

    Returns:
        dict: JSON-serialisable nested dict; tuples become lists, objects their string.
    """
    return _json_safe(config.to_dict())


def _plain_cell(value: Any) -> Any:
    if isinstance(value, np.generic) or (isinstance(value, torch.Tensor)
                                         and value.numel() == 1):
        return value.item()
    return value


@master_only
def log_table(visualizer: Any, name: str, columns: Sequence[str],
              rows: Sequence[Sequence[Any]], step: int = 0) -> int:
    """Logs a table to every backend of ``visualizer`` that supports tables.

    Hooks call this with ``runner.visualizer``; backends without an ``add_table`` method
    (e.g. ``LocalVisBackend``) are skipped, so it is safe in any config.

    Args:
        visualizer: An mmengine ``Visualizer`` (or anything with ``_vis_backends``).
        name (str): Table key, e.g. ``'cam/per_class'``.
        columns (Sequence[str]): C column names.
        rows (Sequence[Sequence]): R rows of C cells (str / numbers).
        step (int): Epoch or iteration the table belongs to.

    Returns:
        int: How many backends logged the table.
    """
    logged = 0
    for backend in getattr(visualizer, '_vis_backends', {}).values():
        if callable(getattr(backend, 'add_table', None)):
            backend.add_table(name, columns, rows, step=step)
            logged += 1
    return logged


@VISBACKENDS.register_module()
class AutoWandbVisBackend(WandbVisBackend):
    """:class:`WandbVisBackend` that logs offline when it cannot log online.

    See the module docstring for naming, config, tables and artifacts.

    Args:
        save_dir (str): Where the run files go; mmengine passes
            ``<work_dir>/<timestamp>/vis_data``.
        init_kwargs (dict, optional): Arguments of ``wandb.init``; ``name``, ``group``
            and ``mode`` set here override the automatic ones.
        define_metric_cfg (dict | list, optional): See :class:`WandbVisBackend`.
        commit (bool): See :class:`WandbVisBackend`.
        log_code_name (str, optional): Name of the code artifact.
        watch_kwargs (dict, optional): Arguments of ``wandb.watch``.
        log_code (bool): Log the project's sources with the config. Defaults to True.
        log_artifacts (bool): At the end of the run, log the best checkpoint and an
            evaluation report as artifacts. Defaults to False.
        probe_timeout (float): Deadline in seconds of the reachability probe.
    """

    def __init__(self,
                 save_dir: str,
                 init_kwargs: Optional[dict] = None,
                 define_metric_cfg: Optional[Any] = None,
                 commit: Optional[bool] = True,
                 log_code_name: Optional[str] = None,
                 watch_kwargs: Optional[dict] = None,
                 log_code: bool = True,
                 log_artifacts: bool = False,
                 probe_timeout: float = 1.0):
        super().__init__(save_dir, init_kwargs=dict(init_kwargs or {}),
                         define_metric_cfg=define_metric_cfg, commit=commit,
                         log_code_name=log_code_name, watch_kwargs=watch_kwargs)
        self._log_code = log_code
        self._log_artifacts = log_artifacts
        self._probe_timeout = probe_timeout
        self._config_stem: Optional[str] = None
        # Small in-memory record for the evaluation report: {metric: [(step, value)]}
        # and the last version of each table.
        self._metric_history: Dict[str, List[Tuple[int, float]]] = OrderedDict()
        self._last_tables: Dict[str, Tuple[int, List[str], List[list]]] = OrderedDict()

    @property
    def log_dir(self) -> str:
        """``<work_dir>/<timestamp>``: the directory above ``vis_data``."""
        return osp.dirname(osp.abspath(self._save_dir))

    @property
    def work_dir(self) -> str:
        """The runner's work dir."""
        return osp.dirname(self.log_dir)

    def wandb_init_kwargs(self) -> dict:
        """The arguments :meth:`_init_env` passes to ``wandb.init`` (decides the mode).

        Returns:
            dict: ``init_kwargs`` completed with ``mode``, ``name``, ``group`` and ``dir``.
        """
        kwargs = dict(self._init_kwargs or {})
        mode, reason = decide_wandb_mode(kwargs, timeout=self._probe_timeout)
        kwargs['mode'] = mode
        if mode == 'offline' and reason not in ('WANDB_MODE', 'init_kwargs["mode"]'):
            print_log(f'W&B logs offline: {reason}. Upload later with '
                      f'`wandb sync {osp.join(self._save_dir, "wandb")}/offline-run-*`',
                      logger='current')
        if os.environ.get('WANDB_SWEEP_ID'):
            # The agent exported the sweep's project and entity; a run elsewhere would
            # not be attached to the sweep.
            kwargs.pop('project', None)
            kwargs.pop('entity', None)
        # Read here rather than left to wandb, which reads its environment once per
        # process.
        kwargs.setdefault('name', os.environ.get('WANDB_NAME') or
                          f'{osp.basename(self.work_dir)}/{osp.basename(self.log_dir)}')
        kwargs.setdefault('group', os.environ.get('WANDB_RUN_GROUP') or self._config_stem
                          or osp.basename(self.work_dir))
        kwargs.setdefault('dir', self._save_dir)
        return kwargs

    def _init_env(self) -> None:
        kwargs = self.wandb_init_kwargs()
        # A server that accepts connections but does not answer costs at most
        # init_timeout seconds (W&B's default: 90), then the run goes offline.
        defaults = dict(silent=True, init_timeout=30)
        settings = kwargs.get('settings')
        if settings is None:
            kwargs['settings'] = defaults
        elif isinstance(settings, dict):
            kwargs['settings'] = dict(defaults, **settings)
        self._init_kwargs = kwargs
        try:
            super()._init_env()
        except Exception as exc:  # noqa: BLE001 - a dead server must not stop training
            if kwargs['mode'] != 'online':
                raise
            print_log(f'W&B could not start an online run ({exc.__class__.__name__}: {exc}); '
                      'logging offline instead', logger='current', level=logging.WARNING)
            self._init_kwargs = dict(kwargs, mode='offline')
            super()._init_env()

    def add_config(self, config: Config, **kwargs) -> None:
        """Logs the resolved config as the run config (a nested dict) and the project code.

        The config file's stem becomes the run group when the run has not started yet
        (mmengine's runner calls this first).

        Args:
            config (Config): The runner's config.
        """
        if config.filename and not getattr(self, '_env_initialized', False):
            self._config_stem = osp.splitext(osp.basename(config.filename))[0]
        self._log_config(config)

    @force_init_env
    def _log_config(self, config: Config) -> None:
        # allow_val_change: a resumed run or a sweep may set a key again; logging must
        # not stop training over it.
        self._wandb.config.update(config_to_wandb_dict(config), allow_val_change=True)
        if self._log_code:
            self._log_project_code()

    def _log_project_code(self) -> None:
        package = osp.dirname(osp.dirname(osp.abspath(__file__)))
        name = self._log_code_name or f'source-{self._wandb.run.project}-acr'
        self._wandb.run.log_code(
            root=package, name=name,
            include_fn=lambda path, root: path.endswith(_CODE_SUFFIXES),
            exclude_fn=lambda path, root: '__pycache__' in path)

    @force_init_env
    def add_scalars(self, scalar_dict: dict, step: int = 0, file_path: Optional[str] = None,
                    **kwargs) -> None:
        """Logs scalars; namespaced ones (``cam/mIoU``) are also kept for the report.

        Args:
            scalar_dict (dict): ``{name: value}``.
            step (int): Epoch (validation) or iteration (training).
            file_path (str, optional): Unused, as in :class:`WandbVisBackend`.
        """
        for key, value in scalar_dict.items():
            if '/' in key and isinstance(_plain_cell(value), Number):
                self._metric_history.setdefault(key, []).append(
                    (int(step), float(_plain_cell(value))))
        super().add_scalars(scalar_dict, step=step, file_path=file_path, **kwargs)

    @force_init_env
    def add_table(self, name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                  step: int = 0, **kwargs) -> None:
        """Logs a table (e.g. per-class IoU / precision / recall) as a ``wandb.Table``.

        Args:
            name (str): Table key, e.g. ``'cam/per_class'``.
            columns (Sequence[str]): C column names.
            rows (Sequence[Sequence]): R rows of C cells; numpy / torch scalars are
                converted to Python numbers.
            step (int): Epoch or iteration; kept for the evaluation report (W&B uses its
                own step counter, as for the other ``add_*`` methods).

        Raises:
            ValueError: A row does not have C cells.
        """
        columns = [str(c) for c in columns]
        data = []
        for i, row in enumerate(rows):
            row = [_plain_cell(v) for v in row]
            if len(row) != len(columns):
                raise ValueError(f'table "{name}": row {i} has {len(row)} cells for '
                                 f'{len(columns)} columns {columns}')
            data.append(row)
        self._last_tables[name] = (int(step), columns, data)
        table = self._wandb.Table(columns=columns, data=data)
        self._wandb.log({name: table}, commit=self._commit)

    @force_init_env
    def add_artifact(self, paths: Sequence[str], name: str, type: str,
                     aliases: Optional[Sequence[str]] = None,
                     metadata: Optional[dict] = None) -> None:
        """Logs files as one artifact when ``log_artifacts`` is on; otherwise does nothing.

        Args:
            paths (Sequence[str]): Files to include (missing ones are skipped).
            name (str): Artifact name (made W&B-safe).
            type (str): Artifact type, e.g. ``'model'`` or ``'evaluation'``.
            aliases (Sequence[str], optional): Extra aliases besides ``latest``.
            metadata (dict, optional): Stored with the artifact.
        """
        if not self._log_artifacts:
            return
        files = [p for p in paths if osp.isfile(p)]
        if not files:
            return
        artifact = self._wandb.Artifact(self._wandb.util.make_artifact_name_safe(name),
                                        type=type, metadata=_json_safe(metadata or {}))
        for path in files:
            # 'immutable' references the file instead of copying a checkpoint into the
            # staging cache; these files are final when the run ends.
            artifact.add_file(path, name=osp.basename(path), policy='immutable')
        self._wandb.run.log_artifact(artifact, aliases=list(aliases or []))

    def evaluation_report(self) -> str:
        """Markdown report of the validation metrics per step and the last tables.

        Returns:
            str: The report; lists no metrics when none were logged.
        """
        lines = [f'# Evaluation report: {osp.basename(self.work_dir)}', '']
        if self._metric_history:
            names = list(self._metric_history)
            steps = sorted({s for hist in self._metric_history.values() for s, _ in hist})
            by_step = {n: dict(h) for n, h in self._metric_history.items()}
            lines += ['## Validation metrics', '',
                      '| step | ' + ' | '.join(names) + ' |',
                      '|---:|' + '---:|' * len(names)]
            for s in steps:
                cells = [_fmt(by_step[n].get(s)) for n in names]
                lines.append(f'| {s} | ' + ' | '.join(cells) + ' |')
            lines += ['', '| metric | best (max) | at step | last |', '|---|---:|---:|---:|']
            for n in names:
                finite = [(v, s) for s, v in self._metric_history[n] if math.isfinite(v)]
                best_v, best_s = max(finite, key=lambda t: t[0]) if finite else (None, '')
                lines.append(f'| {n} | {_fmt(best_v)} | {best_s} | '
                             f'{_fmt(self._metric_history[n][-1][1])} |')
        for name, (step, columns, data) in self._last_tables.items():
            lines += ['', f'## {name} (step {step})', '',
                      '| ' + ' | '.join(columns) + ' |', '|' + '---|' * len(columns)]
            lines += ['| ' + ' | '.join(_fmt(v) for v in row) + ' |' for row in data]
        return '\n'.join(lines) + '\n'

    def _log_run_artifacts(self) -> None:
        run_id = self._wandb.run.id
        best = sorted(glob.glob(osp.join(self.work_dir, 'best_*.pth')), key=osp.getmtime)
        if best:
            stem = osp.splitext(osp.basename(best[-1]))[0]
            self.add_artifact([best[-1]], name=f'model-{run_id}', type='model',
                              aliases=['best'], metadata=dict(checkpoint=stem))
        report = osp.join(self.log_dir, 'evaluation_report.md')
        with atomic_open(report, 'w') as f:
            f.write(self.evaluation_report())
        self.add_artifact([report, osp.join(self._save_dir, 'scalars.json')],
                          name=f'eval-{run_id}', type='evaluation')

    def close(self) -> None:
        """Logs the artifacts (when enabled) and finishes the run.

        An artifact that cannot be logged is reported and skipped: it never fails the
        training that has already finished.
        """
        if hasattr(self, '_wandb') and self._log_artifacts and self._wandb.run is not None:
            try:
                self._log_run_artifacts()
            except Exception as exc:  # noqa: BLE001 - logging must not fail the run
                print_log(f'W&B artifacts were not logged: {exc!r}', logger='current',
                          level=logging.WARNING)
        super().close()


def _fmt(value: Any) -> str:
    if value is None:
        return ''
    if isinstance(value, float):
        return f'{value:.2f}' if math.isfinite(value) else str(value)
    return str(value)
