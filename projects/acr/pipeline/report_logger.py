"""Logs a pipeline report to W&B (offline when there is no key or no network)."""
import os.path as osp
from typing import Dict, Optional

from mmengine.logging import print_log

from ..visualization.auto_wandb_vis_backend import AutoWandbVisBackend
from .wsss_pipeline import PipelineSettings


def log_report_to_wandb(settings: PipelineSettings, figures: Dict[str, Optional[float]],
                        project: str = 'acr-wsss') -> None:
    """One W&B run holding the pipeline's figures as a summary and the report as a table.

    The run lands in ``<work_dir>/vis_data/wandb`` when offline. Logging problems are
    reported and never raise: the pipeline's results are already on disk.

    Args:
        settings (PipelineSettings): The pipeline that produced the figures.
        figures (dict): Output of :func:`run_pipeline`.
        project (str): W&B project.
    """
    backend = AutoWandbVisBackend(
        save_dir=settings.path('vis_data'),
        init_kwargs=dict(project=project, job_type='pipeline',
                         name=f'{osp.basename(osp.abspath(settings.work_dir))}/pipeline',
                         group=osp.splitext(osp.basename(settings.stage1_config))[0]),
        log_code=False)
    try:
        scalars = {f'pipeline/{k}': v for k, v in figures.items() if v is not None}
        backend.add_scalars(scalars, step=0)
        rows = [[k, v] for k, v in figures.items()]
        backend.add_table('pipeline/figures', ['figure', 'value'], rows, step=0)
        backend.close()
    except Exception as exc:  # noqa: BLE001 - the report is on disk already
        print_log(f'the pipeline report was not logged to W&B: {exc!r}', logger='current')
