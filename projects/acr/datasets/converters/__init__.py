"""Converters from the official dataset downloads to the trees the configs read, and a check.

- :mod:`.voc_aug`: PASCAL VOC 2012 + SBD -> ``SegmentationClassAug`` and the lists.
- :mod:`.coco_wsss`: COCO 2014 instance annotations -> class-id masks and the lists.
- :mod:`.dataset_check`: a config's data checked against the canonical counts and for
  missing, unreadable and inconsistent files.
"""
from .class_masks import check_class_ids, read_palette_mask, read_sbd_mask
from .coco_masks import (COCO_CATEGORY_IDS, DEFAULT_OVERLAP, OVERLAP_RULES, category_map,
                         instance_mask, render_class_mask)
from .coco_wsss import COCOSummary, COCOWSSSConverter, convert_coco_wsss, load_instances
from .dataset_check import DatasetChecker, DatasetReport, check_item, format_reports
from .dataset_input import (ArchiveError, ChecksumError, DatasetInput, SourceFile, check_md5,
                            file_md5)
from .id_lists import parse_id_list, write_id_list
from .task_pool import TaskPool
from .voc_aug import (SBD_MD5, VOC_TRAINVAL_MD5, VOCAugConverter, VOCAugSummary, convert_voc_aug,
                      make_train_aug)

__all__ = [
    'ArchiveError', 'ChecksumError', 'DatasetInput', 'SourceFile', 'check_md5', 'file_md5',
    'TaskPool', 'check_class_ids', 'read_palette_mask', 'read_sbd_mask', 'VOCAugConverter',
    'VOCAugSummary', 'convert_voc_aug', 'make_train_aug', 'VOC_TRAINVAL_MD5', 'SBD_MD5',
    'parse_id_list', 'write_id_list', 'COCO_CATEGORY_IDS', 'DEFAULT_OVERLAP', 'OVERLAP_RULES',
    'category_map', 'instance_mask', 'render_class_mask', 'COCOSummary', 'COCOWSSSConverter',
    'convert_coco_wsss', 'load_instances', 'DatasetChecker', 'DatasetReport', 'check_item',
    'format_reports'
]
