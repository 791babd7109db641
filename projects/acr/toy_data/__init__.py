"""Writing the synthetic toy dataset (VOC layout); imported by the tools that generate it.

Reading the dataset needs only :mod:`projects.acr.datasets.toy_meta` (class names and
palette), so the package does not load the generator.
"""
from .generator import COMPLETE_MARKER, GENERATOR_VERSION, make_toy_dataset, read_complete_marker
from .preview import save_preview
from .sample import render_toy_sample

__all__ = [
    'COMPLETE_MARKER', 'GENERATOR_VERSION', 'make_toy_dataset', 'read_complete_marker',
    'render_toy_sample', 'save_preview'
]
