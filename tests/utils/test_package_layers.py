"""The lower layers of projects.acr never import the layer that runs trained models.

``apis`` builds on datasets, models, evaluation, pseudo labels and affinity; an import the
other way round makes a cycle that only the import order happens to break. The shared
helpers (sharded jobs, split datasets) live in ``utils`` and ``datasets`` instead.
"""
import ast
import glob
import os.path as osp
from typing import Iterator, Tuple

import pytest

PACKAGE = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
                   'projects', 'acr')
LOWER = ('datasets', 'models', 'evaluation', 'pseudo_labels', 'affinity', 'utils')
UPPER = 'projects.acr.apis'


def imported_modules(path: str) -> Iterator[Tuple[int, str]]:
    """(line, absolute module name) of every import of a file of projects.acr."""
    rel = osp.relpath(path, osp.dirname(osp.dirname(PACKAGE)))
    package = osp.dirname(rel).replace(osp.sep, '.')
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')[:len(package.split('.')) - node.level + 1]
                module = '.'.join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ''
            yield node.lineno, module
            for alias in node.names:  # from .. import apis
                yield node.lineno, f'{module}.{alias.name}'


def test_resolves_relative_imports() -> None:
    path = osp.join(PACKAGE, 'pseudo_labels', 'label_images.py')
    modules = {m for _, m in imported_modules(path)}
    assert 'projects.acr.datasets.split_dataset' in modules
    assert 'projects.acr.utils.sharded_job' in modules


@pytest.mark.parametrize('layer', LOWER)
def test_lower_layer_does_not_import_apis(layer: str) -> None:
    offending = []
    for path in sorted(glob.glob(osp.join(PACKAGE, layer, '**', '*.py'), recursive=True)):
        for line, module in imported_modules(path):
            if module == UPPER or module.startswith(UPPER + '.'):
                offending.append(f'{osp.relpath(path, PACKAGE)}:{line} imports {module}')
    assert not offending, f'{layer} imports apis: {offending}'
