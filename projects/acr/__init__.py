"""ACR: all-pairs consistency regularization for weakly supervised segmentation.

Importing the package registers its components in mmsegmentation's registries.
"""
from . import datasets, engine, evaluation, models, pseudo_labels, visualization  # noqa: F401

from . import affinity  # noqa: F401,E402  isort: skip (after datasets/models: it builds on them)

__version__ = '0.1.0'
