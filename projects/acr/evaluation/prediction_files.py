"""Pairing the images of a split with their prediction files (class maps, label PNGs)."""
import logging
import os.path as osp
from typing import List, NamedTuple, Sequence, Tuple

from mmengine.logging import print_log

ON_MISSING = ('raise', 'skip')
# Missing files named one by one in the log before a single count takes over.
_MAX_LISTED = 10


class PredictionPair(NamedTuple):
    """An image of the split with its ground truth and its prediction file."""

    img_id: str
    gt_path: str
    pred_path: str


def match_prediction_files(pred_dir: str,
                           items: Sequence[Tuple[str, str]],
                           suffix: str,
                           on_missing: str = 'raise',
                           kind: str = 'prediction') -> Tuple[List[PredictionPair], List[str]]:
    """Finds ``<pred_dir>/<img_id><suffix>`` for every image, before any is read.

    Checking all files up front makes a run with missing files fail at once rather than
    after most of the split has been read.

    Args:
        pred_dir (str): Directory of the prediction files.
        items (Sequence[tuple[str, str]]): ``(img_id, gt_path)`` of every image.
        suffix (str): File suffix, e.g. ``'.npz'`` or ``'.png'``.
        on_missing (str): ``'raise'``: a missing file is an error naming it; ``'skip'``: it
            is logged as a warning and the image is left out.
        kind (str): What the files are, for the messages.

    Returns:
        tuple: The pairs found (``PredictionPair``) and the ids of the images without file.

    Raises:
        FileNotFoundError: ``pred_dir`` does not exist, or a file is missing and
            ``on_missing`` is ``'raise'``, or no file at all is found.
    """
    if on_missing not in ON_MISSING:
        raise ValueError(f'on_missing must be one of {ON_MISSING}, got {on_missing!r}')
    if not osp.isdir(pred_dir):
        raise FileNotFoundError(f'{kind} directory not found: {pred_dir}')
    pairs, missing = [], []
    for img_id, gt_path in items:
        path = osp.join(pred_dir, img_id + suffix)
        if osp.isfile(path):
            pairs.append(PredictionPair(img_id, gt_path, path))
            continue
        if on_missing == 'raise':
            raise FileNotFoundError(
                f'{kind} file missing for image {img_id!r}: {path} (pass --on-missing skip / '
                "on_missing='skip' to evaluate the images that have one)")
        missing.append(img_id)
        if len(missing) <= _MAX_LISTED:
            print_log(f'{kind} file missing, image skipped: {path}', logger='current',
                      level=logging.WARNING)
    if missing:
        print_log(f'{len(missing)} of {len(items)} images have no {kind} file in {pred_dir} '
                  'and are left out of the evaluation', logger='current', level=logging.WARNING)
    if not pairs:
        raise FileNotFoundError(f'no {kind} files (*{suffix}) for any of the {len(items)} '
                                f'images found in {pred_dir}')
    return pairs, missing
