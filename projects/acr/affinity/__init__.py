"""Learned affinity between class maps and pseudo labels: AffinityNet and its random walk.

PSA (Ahn & Kwak, CVPR 2018): a CNN learns which nearby pixels belong together from the
confident regions of the CRF pseudo labels, and a random walk over its affinities spreads
the class maps within objects. Importing registers ``AffinityNet``, ``AffinityLoss``,
``AffinityLabelDataset``, ``LoadAffinityLabels`` and ``PackAffinityInputs``.
"""
from .affinity_dataset import AffinityLabelDataset
from .affinity_graph import AffinityGraph
from .affinity_labels import (affinity_targets, combine_crf_labels, downsample_labels,
                              pair_affinity_labels)
from .affinity_loss import AffinityLoss
from .affinity_net import AffinityNet
from .label_refiner import (DEFAULT_BETA, DEFAULT_LOGT, DEFAULT_RW_ALPHA, AffinityLabelRefiner,
                            check_refine_settings, split_images)
from .pair_geometry import radius_offsets, radius_pairs
from .random_walk import grid_scores, random_walk, transition_matrix, walk_labels
from .transforms import LoadAffinityLabels, PackAffinityInputs, read_label_png

__all__ = [
    'AffinityLabelDataset', 'AffinityGraph', 'affinity_targets', 'combine_crf_labels',
    'downsample_labels', 'pair_affinity_labels', 'AffinityLoss', 'AffinityNet',
    'AffinityLabelRefiner', 'check_refine_settings', 'split_images', 'DEFAULT_BETA',
    'DEFAULT_LOGT', 'DEFAULT_RW_ALPHA', 'radius_offsets', 'radius_pairs', 'grid_scores',
    'random_walk', 'transition_matrix', 'walk_labels', 'LoadAffinityLabels',
    'PackAffinityInputs', 'read_label_png'
]
