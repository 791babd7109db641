"""Files of a finished run as W&B artifacts: the best checkpoint, the evaluation report."""
import glob
import os.path as osp
from typing import Any, Optional, Sequence

from ..utils.atomic_io import atomic_open
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


def best_checkpoint(work_dir: str) -> Optional[str]:
    """The newest ``best_*.pth`` of a work dir (mmengine's ``save_best``), or None."""
    best = sorted(glob.glob(osp.join(work_dir, 'best_*.pth')), key=osp.getmtime)
    return best[-1] if best else None


def log_run_artifacts(wandb: Any, work_dir: str, log_dir: str, vis_dir: str,
                      report: str) -> None:
    """Logs the best checkpoint (type ``model``) and the evaluation report (``evaluation``).

    Args:
        wandb: The ``wandb`` module of a started run.
        work_dir (str): The runner's work dir, where ``best_*.pth`` lie.
        log_dir (str): ``<work_dir>/<timestamp>``: the report is written there.
        vis_dir (str): ``<log_dir>/vis_data``, holding ``scalars.json``.
        report (str): The markdown report.
    """
    run_id = wandb.run.id
    best = best_checkpoint(work_dir)
    if best:
        stem = osp.splitext(osp.basename(best))[0]
        log_files_artifact(wandb, [best], name=f'model-{run_id}', type='model',
                           aliases=['best'], metadata=dict(checkpoint=stem))
    path = osp.join(log_dir, REPORT_FILE)
    with atomic_open(path, 'w') as f:
        f.write(report)
    log_files_artifact(wandb, [path, osp.join(vis_dir, 'scalars.json')],
                       name=f'eval-{run_id}', type='evaluation')
