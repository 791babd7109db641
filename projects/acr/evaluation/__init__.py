"""Metrics of class activation maps and pseudo labels."""
from .cam_metric import CAMMetric
from .threshold_sweep import (confusion_from_histogram, iou_from_confusion, miou_from_confusion,
                              precision_from_confusion, recall_from_confusion, sweep_confusion,
                              threshold_histogram)

__all__ = [
    'CAMMetric', 'sweep_confusion', 'threshold_histogram', 'confusion_from_histogram',
    'iou_from_confusion', 'precision_from_confusion', 'recall_from_confusion',
    'miou_from_confusion'
]
