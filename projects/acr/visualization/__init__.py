from .auto_wandb_vis_backend import AutoWandbVisBackend
from .cam_overlay import (OVERLAY_MODES, argmax_overlay, heatmap_overlay, render_cam_overlay,
                          save_overlay)
from .evaluation_report import EvaluationRecord
from .table_logging import TABLE_BACKENDS, log_table
from .wandb_config import config_to_wandb_dict, json_safe
from .wandb_mode import decide_wandb_mode, wandb_online_reason

__all__ = [
    'AutoWandbVisBackend', 'config_to_wandb_dict', 'json_safe', 'decide_wandb_mode',
    'log_table', 'TABLE_BACKENDS', 'wandb_online_reason', 'EvaluationRecord', 'OVERLAY_MODES',
    'argmax_overlay', 'heatmap_overlay', 'render_cam_overlay', 'save_overlay'
]
