"""The whole weakly supervised job as resumable steps."""
from .pipeline_step import PipelineStep
from .wsss_pipeline import (STEP_NAMES, PipelineSettings, build_steps, collect_figures,
                            final_checkpoint, plan, render_report, run_pipeline)

__all__ = [
    'PipelineStep', 'PipelineSettings', 'STEP_NAMES', 'build_steps', 'collect_figures',
    'final_checkpoint', 'plan', 'render_report', 'run_pipeline'
]
