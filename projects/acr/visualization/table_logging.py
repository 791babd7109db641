"""Tables (e.g. per-class IoU) logged from hooks to the visualizer backends that take them."""
from typing import Any, List, Sequence

import numpy as np
import torch
from mmengine.dist import master_only

# Names under which table-capable backends are found in a visualizer: mmengine names a
# backend after its type unless the config gives it a ``name``.
TABLE_BACKENDS = ('AutoWandbVisBackend', )


def plain_cell(value: Any) -> Any:
    """numpy / one-element torch scalars as Python numbers; other values unchanged."""
    if isinstance(value, np.generic) or (isinstance(value, torch.Tensor)
                                         and value.numel() == 1):
        return value.item()
    return value


def table_rows(name: str, columns: Sequence[str],
               rows: Sequence[Sequence[Any]]) -> List[List[Any]]:
    """Rows with plain cells, each checked to have one cell per column.

    Raises:
        ValueError: A row does not have ``len(columns)`` cells (naming the table).
    """
    data = []
    for i, row in enumerate(rows):
        row = [plain_cell(v) for v in row]
        if len(row) != len(columns):
            raise ValueError(f'table "{name}": row {i} has {len(row)} cells for '
                             f'{len(columns)} columns {list(columns)}')
        data.append(row)
    return data


@master_only
def log_table(visualizer: Any, name: str, columns: Sequence[str],
              rows: Sequence[Sequence[Any]], step: int = 0,
              backends: Sequence[str] = TABLE_BACKENDS) -> int:
    """Logs a table to the backends of ``visualizer`` that support tables.

    Hooks call this with ``runner.visualizer``. Backends are looked up by name with the
    visualizer's public ``get_backend``; absent names and backends without an
    ``add_table`` method (e.g. ``LocalVisBackend``) are skipped, so it is safe in any
    config.

    Args:
        visualizer: An mmengine ``Visualizer``.
        name (str): Table key, e.g. ``'cam/per_class'``.
        columns (Sequence[str]): C column names.
        rows (Sequence[Sequence]): R rows of C cells (str / numbers).
        step (int): Epoch or iteration the table belongs to.
        backends (Sequence[str]): Backend names to try; pass the ``name`` given to a
            backend in the config when it is not its type.

    Returns:
        int: How many backends logged the table.
    """
    logged = 0
    get_backend = getattr(visualizer, 'get_backend', None)
    if get_backend is None:
        return 0
    for backend_name in dict.fromkeys(backends):
        backend = get_backend(backend_name)
        if callable(getattr(backend, 'add_table', None)):
            backend.add_table(name, columns, rows, step=step)
            logged += 1
    return logged
