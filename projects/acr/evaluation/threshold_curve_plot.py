"""The plot of mIoU against the background threshold."""
import os.path as osp
from typing import Optional

import numpy as np

from ..utils.atomic_io import atomic_open


def save_threshold_curve(path: str, thresholds: np.ndarray, miou: np.ndarray, best: int,
                         title: Optional[str] = None) -> None:
    """Plots ``miou`` (percent) against ``thresholds`` with the best one marked.

    Args:
        path (str): Output file; the format follows the suffix (PNG without one). Written
            atomically.
        thresholds (np.ndarray): (T,) background thresholds.
        miou (np.ndarray): (T,) mIoU in percent.
        best (int): Index of the best threshold.
        title (str, optional): Plot title.
    """
    # The object-oriented API with the Agg canvas leaves pyplot's global state and the
    # process-wide backend untouched.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 3.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(thresholds, miou, marker='o', markersize=3)
    ax.axvline(thresholds[best], color='tab:red', linestyle='--', linewidth=1,
               label=f'best t={thresholds[best]:.2f}, mIoU={miou[best]:.1f}')
    ax.set_xlabel('background threshold')
    ax.set_ylabel('mIoU (%)')
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc='best')
    fig.tight_layout()
    fmt = osp.splitext(path)[1].lstrip('.').lower() or 'png'
    with atomic_open(path, 'wb') as f:
        fig.savefig(f, format=fmt, dpi=120)
