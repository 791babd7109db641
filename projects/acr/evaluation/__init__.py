"""Metrics of class activation maps and pseudo labels."""
from .cam_file_evaluator import (DEFAULT_THRESHOLDS, CAMEvalResult, CAMFileEvaluator,
                                 thresholds_from_range)
from .cam_metric import CAMMetric
from .label_evaluator import LabelEvalResult, LabelEvaluator
from .prediction_files import PredictionPair, match_prediction_files
from .segmentation_report import SegmentationReport
from .threshold_curve import ThresholdCurve
from .threshold_sweep import (confusion_from_histogram, iou_from_confusion, miou_from_confusion,
                              precision_from_confusion, recall_from_confusion, sweep_confusion,
                              threshold_histogram)

__all__ = [
    'CAMMetric', 'sweep_confusion', 'threshold_histogram', 'confusion_from_histogram',
    'iou_from_confusion', 'precision_from_confusion', 'recall_from_confusion',
    'miou_from_confusion', 'CAMFileEvaluator', 'CAMEvalResult', 'DEFAULT_THRESHOLDS',
    'thresholds_from_range', 'LabelEvaluator', 'LabelEvalResult', 'SegmentationReport',
    'PredictionPair', 'match_prediction_files', 'ThresholdCurve'
]
