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
* **Artifacts** (``log_artifacts=True``, off by default): at the end of the run, the
  reported checkpoint (the last complete one, or ``best_*.pth`` when the config keeps the
  best epoch; type ``model``) and an evaluation report
  (``evaluation_report.md``: validation metrics per epoch and the last per-class tables,
  with the raw ``scalars.json``; type ``evaluation``).

The parts live in their own modules: the mode decision in :mod:`.wandb_mode`, config
conversion in :mod:`.wandb_config`, table rows and :func:`log_table` in
:mod:`.table_logging`, artifacts in :mod:`.wandb_artifacts`, the markdown report in
:mod:`.evaluation_report`; this class wires them into mmengine's backend.

Example config::

    vis_backends = [
        dict(type='LocalVisBackend'),
        dict(type='AutoWandbVisBackend', init_kwargs=dict(project='acr-wsss'),
             log_artifacts=True),
    ]
"""
import logging
import os
import os.path as osp
from typing import Any, Optional, Sequence

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.visualization import WandbVisBackend
from mmengine.visualization.vis_backend import force_init_env
from mmseg.registry import VISBACKENDS

from .evaluation_report import EvaluationRecord
from .table_logging import plain_cell, table_rows
from .wandb_artifacts import log_files_artifact, log_run_artifacts
from .wandb_config import config_to_wandb_dict
from .wandb_mode import EXPLICIT_MODE_SOURCES, decide_wandb_mode

# Files of the package logged as the run's code.
_CODE_SUFFIXES = ('.py', '.md')


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
        log_artifacts (bool): At the end of the run, log the reported checkpoint and an
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
        self._record = EvaluationRecord()  # what the evaluation report shows

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
        if mode == 'offline' and reason not in EXPLICIT_MODE_SOURCES:
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
        self._record.add_scalars({k: plain_cell(v) for k, v in scalar_dict.items()}, step)
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
        data = table_rows(name, columns, rows)
        self._record.add_table(name, columns, data, step)
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
        if self._log_artifacts:
            log_files_artifact(self._wandb, paths, name, type, aliases, metadata)

    def evaluation_report(self) -> str:
        """Markdown report of the validation metrics per step and the last tables.

        Returns:
            str: The report; lists no metrics when none were logged.
        """
        return self._record.to_markdown(osp.basename(self.work_dir))

    def _log_run_artifacts(self) -> None:
        log_run_artifacts(self._wandb, self.work_dir, self.log_dir, self._save_dir,
                          self.evaluation_report())

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
