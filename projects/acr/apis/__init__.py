"""Running trained models over datasets: class-map inference to files."""
from .cam_inferencer import (CAMInferencer, InferenceSummary, check_run_settings, image_id,
                             present_class_ids, shard_indices)
from .dist_env import device_of_rank, init_distributed
from .model_init import init_cam_model
from .split_dataset import build_split_dataset, resolve_ann_file, split_dataset_cfg, split_items

__all__ = [
    'CAMInferencer', 'InferenceSummary', 'check_run_settings', 'image_id', 'present_class_ids',
    'shard_indices', 'init_distributed', 'device_of_rank', 'init_cam_model',
    'build_split_dataset', 'split_dataset_cfg', 'resolve_ann_file', 'split_items'
]
