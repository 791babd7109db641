from .auto_wandb_vis_backend import AutoWandbVisBackend, wandb_online_reason

__all__ = ['AutoWandbVisBackend', 'wandb_online_reason']
