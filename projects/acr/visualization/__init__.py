from .auto_wandb_vis_backend import (AutoWandbVisBackend, config_to_wandb_dict, decide_wandb_mode,
                                     log_table, wandb_online_reason)
from .cam_overlay import (OVERLAY_MODES, argmax_overlay, heatmap_overlay, render_cam_overlay,
                          save_overlay)

__all__ = [
    'AutoWandbVisBackend', 'config_to_wandb_dict', 'decide_wandb_mode', 'log_table',
    'wandb_online_reason', 'OVERLAY_MODES', 'argmax_overlay',
    'heatmap_overlay', 'render_cam_overlay', 'save_overlay'
]
