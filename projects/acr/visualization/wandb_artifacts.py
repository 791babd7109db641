"""Files of a finished run as W&B artifacts: the reported checkpoint, the evaluation report."""
import glob
import os.path as osp
from typing import Any, Optional, Sequence, Tuple

from ..utils.atomic_io import atomic_open
from ..utils.latest_checkpoint import find_latest_complete_checkpoint
from .wandb_config import json_safe

REPORT_FILE = 'evaluation_report.md'


def log_files_artifact(wandb: Any, paths: Sequence[str], name: str, type: str,
                       aliases: Optional[Sequence[str]] = None,
                       metadata: Optional[dict] = None) -> bool:
    """Logs files as one artifact of the current run.

    Args:
        wandb: The ``wandb`` module of a started run.
        paths (Sequence[str]): Files to include (missing ones are skipped).
        name (str): Artifact name (made W&B-safe).
        type (str): Artifact type, e.g. ``'model'`` or ``'evaluation'``.
        aliases (Sequence[str], optional): Extra aliases besides ``latest``.
        metadata (dict, optional): Stored with the artifact.

    Returns:
        bool: Whether an artifact was logged (False when no file exists).
    """
    files = [p for p in paths if osp.isfile(p)]
    if not files:
        return False
    artifact = wandb.Artifact(wandb.util.make_artifact_name_safe(name), type=type,
                              metadata=json_safe(metadata or {}))
    for path in files:
        # 'immutable' references the file instead of copying a checkpoint into the
        # staging cache; these files are final when the run ends.
        artifact.add_file(path, name=osp.basename(path), policy='immutable')
    wandb.run.log_artifact(artifact, aliases=list(aliases or []))
    return True


def reported_checkpoint(work_dir: str) -> Tuple[Optional[str], str]:
    """The checkpoint whose figures a run reports, and its alias.

    The last complete checkpoint, as the official runs report; the newest ``best_*.pth``
    instead when the config asked mmengine to keep the best epoch (``save_best``).

    Returns:
        tuple: (path or None, ``'best'`` or ``'last'``).
    """
    best = sorted(glob.glob(osp.join(work_dir, 'best_*.pth')), key=osp.getmtime)
    if best:
        return best[-1], 'best'
    return find_latest_complete_checkpoint(work_dir), 'last'


def log_run_artifacts(wandb: Any, work_dir: str, log_dir: str, vis_dir: str,
                      report: str) -> None:
    """Logs the reported checkpoint (type ``model``, see :func:`reported_checkpoint`) and the
    evaluation report (``evaluation``).

    Args:
        wandb: The ``wandb`` module of a started run.
        work_dir (str): The runner's work dir, where ``best_*.pth`` lie.
        log_dir (str): ``<work_dir>/<timestamp>``: the report is written there.
        vis_dir (str): ``<log_dir>/vis_data``, holding ``scalars.json``.
        report (str): The markdown report.
    """
    run_id = wandb.run.id
    ckpt, alias = reported_checkpoint(work_dir)
    if ckpt:
        stem = osp.splitext(osp.basename(ckpt))[0]
        log_files_artifact(wandb, [ckpt], name=f'model-{run_id}', type='model',
                           aliases=[alias], metadata=dict(checkpoint=stem))
    path = osp.join(log_dir, REPORT_FILE)
    with atomic_open(path, 'w') as f:
        f.write(report)
    log_files_artifact(wandb, [path, osp.join(vis_dir, 'scalars.json')],
                       name=f'eval-{run_id}', type='evaluation')
