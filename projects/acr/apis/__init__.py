"""Running trained models: class maps of dataset splits (to files) and of any image."""
from ..datasets.split_dataset import (build_split_dataset, resolve_ann_file, split_dataset_cfg,
                                      split_items, test_dataset_cfg)
from ..utils.sharded_job import InferenceSummary, image_id, shard_indices
from .cam_inferencer import CAMInferencer, check_run_settings
from .cam_predictor import (CAMPrediction, CAMPredictor, override_test_cfg, pipeline_image_loader,
                            present_class_ids)
from .dist_env import device_of_rank, init_distributed
from .image_cam_inferencer import ImageCAMInferencer, list_images
from .model_init import init_cam_model, state_dict_mismatch

__all__ = [
    'CAMInferencer', 'InferenceSummary', 'check_run_settings', 'image_id', 'present_class_ids',
    'shard_indices', 'init_distributed', 'device_of_rank', 'init_cam_model',
    'build_split_dataset', 'split_dataset_cfg', 'resolve_ann_file', 'split_items',
    'test_dataset_cfg', 'ImageCAMInferencer', 'CAMPrediction', 'list_images',
    'state_dict_mismatch', 'CAMPredictor', 'pipeline_image_loader', 'override_test_cfg'
]
