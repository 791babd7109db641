"""Keeps the ground-truth masks out of the training labels of stage 2 and AffinityNet."""
import os.path as osp
from typing import Optional

# The annotation folders of VOC (SBD-augmented) and of the COCO tree COCOClsDataset reads.
GT_MASK_DIRS = ('SegmentationClassAug', 'SegmentationClass', 'SegmentationObject')


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(osp.sep) + osp.sep)


def check_not_ground_truth(label_dir: str, data_root: Optional[str], key: str) -> None:
    """Refuses a training-label folder that holds the dataset's own masks.

    Training a weakly supervised segmenter on the masks it is scored against gives figures
    of full supervision under the name of weak supervision; pointing the pseudo-label
    folder at the dataset is an easy mistake (the pseudo labels have the same file names
    and format). A folder is refused when it is, or lies inside, one of the mask folders
    of ``data_root`` (symbolic links resolved), or is itself named like one.

    Args:
        label_dir (str): The training-label folder.
        data_root (str, optional): The dataset's root.
        key (str): The config key of ``label_dir``, named in the error.

    Raises:
        ValueError: ``label_dir`` is a ground-truth mask folder.
    """
    real = osp.realpath(label_dir)
    named = osp.basename(osp.normpath(label_dir)) in GT_MASK_DIRS
    inside = [d for d in GT_MASK_DIRS
              if data_root and _inside(real, osp.realpath(osp.join(data_root, d)))]
    if named or inside:
        where = osp.join(data_root, inside[0]) if inside else label_dir
        raise ValueError(
            f'{key}={label_dir!r} is the ground-truth mask folder {where}: training on it '
            'would report fully supervised figures as weakly supervised. Point it at the '
            'pseudo labels (tools/make_pseudo_labels.py --out-dir, tools/refine_labels.py '
            '--out-dir), e.g. work_dirs/<experiment>/pseudo_labels')
