"""ACR: all-pairs consistency regularization for weakly supervised segmentation.

Importing the package registers its components in mmsegmentation's registries.
"""
from . import datasets, engine, evaluation, models, pseudo_labels, visualization  # noqa: F401

__version__ = '0.1.0'
