"""A markdown report of a run's validation metrics per step and its last tables."""
import math
from collections import OrderedDict
from numbers import Number
from typing import Any, Dict, List, Optional, Sequence, Tuple


def _fmt(value: Any) -> str:
    if value is None:
        return ''
    if isinstance(value, float):
        return f'{value:.2f}' if math.isfinite(value) else str(value)
    return str(value)


class EvaluationRecord:
    """What a run logged that the report shows, kept small in memory.

    Namespaced scalars (``cam/mIoU``: validation metrics, unlike ``loss``) are kept per
    step; of each table only the last version is kept.
    """

    def __init__(self) -> None:
        self.metrics: Dict[str, List[Tuple[int, float]]] = OrderedDict()
        self.tables: Dict[str, Tuple[int, List[str], List[list]]] = OrderedDict()

    def add_scalars(self, scalars: Dict[str, Any], step: int) -> None:
        """Records the namespaced numeric scalars of ``{name: value}`` at ``step``."""
        for key, value in scalars.items():
            if '/' in key and isinstance(value, Number):
                self.metrics.setdefault(key, []).append((int(step), float(value)))

    def add_table(self, name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                  step: int) -> None:
        """Keeps the table (plain cells) as the last version of ``name``."""
        self.tables[name] = (int(step), list(columns), [list(r) for r in rows])

    def to_markdown(self, title: str) -> str:
        """Markdown report: metrics per step, best and last value, the last tables.

        Args:
            title (str): Shown in the heading (e.g. the work dir's name).

        Returns:
            str: The report; lists no metrics when none were logged.
        """
        lines = [f'# Evaluation report: {title}', '']
        if self.metrics:
            names = list(self.metrics)
            steps = sorted({s for hist in self.metrics.values() for s, _ in hist})
            by_step = {n: dict(h) for n, h in self.metrics.items()}
            lines += ['## Validation metrics', '',
                      '| step | ' + ' | '.join(names) + ' |',
                      '|---:|' + '---:|' * len(names)]
            for s in steps:
                cells = [_fmt(by_step[n].get(s)) for n in names]
                lines.append(f'| {s} | ' + ' | '.join(cells) + ' |')
            lines += ['', '| metric | best (max) | at step | last |', '|---|---:|---:|---:|']
            for n in names:
                finite = [(v, s) for s, v in self.metrics[n] if math.isfinite(v)]
                best: Tuple[Optional[float], Any] = (max(finite, key=lambda t: t[0])
                                                     if finite else (None, ''))
                lines.append(f'| {n} | {_fmt(best[0])} | {best[1]} | '
                             f'{_fmt(self.metrics[n][-1][1])} |')
        for name, (step, columns, data) in self.tables.items():
            lines += ['', f'## {name} (step {step})', '',
                      '| ' + ' | '.join(columns) + ' |', '|' + '---|' * len(columns)]
            lines += ['| ' + ' | '.join(_fmt(v) for v in row) + ' |' for row in data]
        return '\n'.join(lines) + '\n'
