"""COCO instance annotations -> one class-id mask per image, the WSSS way.

Class ids: 0 background, 1-80 for the 80 categories in the order of their COCO ids
(1 person ... 90 toothbrush -> 80; :data:`COCO_CATEGORY_IDS`), 255 where only a crowd
region is (``iscrowd=1`` annotations mark groups of objects drawn as one region: neither
background nor a clean instance, so they are ignored unless an instance covers them).

Overlapping instances of different classes (``overlap``):

- ``'smaller-on-top'`` (default): instances are drawn from the largest to the smallest,
  so a smaller instance covers a larger one where they overlap. Small objects in COCO
  mostly lie in front of larger ones (a cup on a table, a person on a bed), and drawing
  the large one last would erase small objects, and with them their classes from the
  image-level labels derived from the masks. coco2voc, the one public rendering script,
  lets the smaller instance win too.
- ``'larger-on-top'``: the reverse order.
- ``'ignore'``: pixels claimed by instances of two or more classes become 255.

Segmentations are polygons, uncompressed RLE (``counts`` a list) or compressed RLE
(``counts`` a string), decoded with pycocotools. Polygons with fewer than three points
have no area and are left out (pycocotools would read a 4-number polygon as a box).
"""
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

from ..coco_cls import COCO_CLASSES

OVERLAP_RULES = ('smaller-on-top', 'larger-on-top', 'ignore')
DEFAULT_OVERLAP = 'smaller-on-top'
IGNORE_INDEX = 255

# The 80 category ids of COCO 2014/2017 (1..90 without the ten unused ones), in id order:
# COCO_CATEGORY_IDS[k - 1] is the category written as class id k.
COCO_CATEGORY_IDS = (tuple(range(1, 12)) + tuple(range(13, 26)) + (27, 28)
                     + tuple(range(31, 45)) + tuple(range(46, 66)) + (67, 70)
                     + tuple(range(72, 83)) + tuple(range(84, 91)))

Instance = Tuple[int, bool, Any]  # (class id 1..80, is crowd, segmentation)


def category_map(categories: Sequence[dict], source: str) -> Dict[int, int]:
    """COCO category id -> class id 1..80, checked against the standard 80 categories.

    Args:
        categories (Sequence[dict]): The ``categories`` of an instances json.
        source (str): The json file, for messages.

    Returns:
        dict: ``{category_id: class_id}``.

    Raises:
        ValueError: The categories are not COCO's 80 (ids or names differ).
    """
    try:
        cats = sorted((int(c['id']), str(c['name'])) for c in categories)
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f'{source}: categories must be objects with "id" and "name": {e}') \
            from e
    ids = tuple(cid for cid, _ in cats)
    if ids != COCO_CATEGORY_IDS:
        extra = sorted(set(ids) - set(COCO_CATEGORY_IDS))
        missing = sorted(set(COCO_CATEGORY_IDS) - set(ids))
        raise ValueError(f'{source}: {len(ids)} categories, not the 80 of COCO 2014 (ids not '
                         f'in COCO: {extra}; COCO ids missing: {missing})')
    wrong = [(cid, name, want) for (cid, name), want in zip(cats, COCO_CLASSES[1:])
             if name != want]
    if wrong:
        cid, name, want = wrong[0]
        raise ValueError(f'{source}: category {cid} is named {name!r}, COCO calls it '
                         f'{want!r} ({len(wrong)} names differ)')
    return {cid: k + 1 for k, cid in enumerate(ids)}


def instance_mask(segmentation: Any, height: int, width: int, source: str) -> np.ndarray:
    """One annotation's pixels.

    Args:
        segmentation: Polygons (list of flat coordinate lists) or an RLE dict.
        height (int): Image height.
        width (int): Image width.
        source (str): Where the annotation is, for messages.

    Returns:
        np.ndarray: (height, width) bool.
    """
    from pycocotools import mask as mask_utils

    if isinstance(segmentation, list):
        polygons = [[float(v) for v in p] for p in segmentation
                    if isinstance(p, (list, tuple)) and len(p) >= 6]
        if not polygons:
            return np.zeros((height, width), bool)
        rle = mask_utils.merge(mask_utils.frPyObjects(polygons, height, width))
    elif isinstance(segmentation, dict) and 'counts' in segmentation and 'size' in segmentation:
        size = [int(v) for v in segmentation['size']]
        if size != [height, width]:
            raise ValueError(f'{source}: RLE size {size} differs from the image size '
                             f'{[height, width]}')
        if isinstance(segmentation['counts'], list):
            rle = mask_utils.frPyObjects(segmentation, height, width)
        else:
            counts = segmentation['counts']
            rle = dict(size=size, counts=counts.encode('ascii') if isinstance(counts, str)
                       else counts)
    else:
        raise ValueError(f'{source}: segmentation is neither polygons nor RLE '
                         f'(got {type(segmentation).__name__})')
    return mask_utils.decode(rle).astype(bool)


def render_class_mask(height: int, width: int, instances: Sequence[Instance],
                      overlap: str = DEFAULT_OVERLAP, source: str = '') -> np.ndarray:
    """The class-id mask of one image.

    Args:
        height (int): Image height.
        width (int): Image width.
        instances (Sequence[tuple]): ``(class_id, is_crowd, segmentation)`` in annotation
            order (which breaks ties of equal area).
        overlap (str): One of :data:`OVERLAP_RULES`; see the module docstring.
        source (str): Where the annotations are, for messages.

    Returns:
        np.ndarray: (height, width) uint8: 0 background, 1-80, 255 crowd-only / ignored.
    """
    if overlap not in OVERLAP_RULES:
        raise ValueError(f'overlap must be one of {OVERLAP_RULES}, got {overlap!r}')
    mask = np.zeros((height, width), np.uint8)
    objects: List[Tuple[int, np.ndarray, int]] = []
    for k, (class_id, crowd, segmentation) in enumerate(instances):
        pixels = instance_mask(segmentation, height, width, f'{source} instance {k}')
        if crowd:
            mask[pixels] = IGNORE_INDEX
        else:
            objects.append((int(class_id), pixels, int(pixels.sum())))
    if overlap == 'ignore':
        covered: Dict[int, np.ndarray] = {}
        for class_id, pixels, _ in objects:
            covered[class_id] = covered.get(class_id, np.zeros_like(pixels)) | pixels
        claims = np.zeros((height, width), np.int32)
        for class_id, pixels in covered.items():
            mask[pixels] = class_id
            claims += pixels
        mask[claims > 1] = IGNORE_INDEX
        return mask
    # sorted() is stable: equal areas keep the annotation order (the later one on top).
    order = sorted(objects, key=lambda o: -o[2] if overlap == 'smaller-on-top' else o[2])
    for class_id, pixels, _ in order:
        mask[pixels] = class_id
    return mask
