"""Small VOC 2012, SBD and COCO downloads in the official formats, made by the tests.

Imported by the converter tests and the tool tests (by path: the test folders are not
packages).
"""
import json
import os
import os.path as osp
import tarfile
import zipfile

import numpy as np
import scipy.io
import scipy.sparse
from PIL import Image

from projects.acr.datasets import voc_palette

VOC_TRAIN = ['2007_000001', '2007_000002']
VOC_VAL = ['2007_000003', '2008_000004']
SBD_TRAIN = ['2007_000001', '2008_000010', '2008_000011']
SBD_VAL = ['2008_000004', '2008_000012']
EXTRA_IMAGES = ['2009_000099']  # in JPEGImages, in no list
# VOC train + SBD train + SBD val - VOC val, sorted.
TRAIN_AUG = ['2007_000001', '2007_000002', '2008_000010', '2008_000011', '2008_000012']
H, W = 6, 8


def voc_mask(k: int) -> np.ndarray:
    """VOC-style: background, a block of class 1 + k, the 255 boundary band around it."""
    mask = np.zeros((H, W), np.uint8)
    mask[1:5, 1:6] = 255
    mask[2:4, 2:5] = 1 + k
    mask[0, W - 1] = 20  # the largest class id
    return mask


def sbd_mask(k: int) -> np.ndarray:
    """SBD-style: no boundary band, classes 10 + k and 15 (k stays below 6)."""
    mask = np.zeros((H, W), np.uint8)
    mask[:3, :4] = 10 + k
    mask[4:, 5:] = 15
    return mask


def image(k: int) -> np.ndarray:
    rng = np.random.default_rng(k)
    return rng.integers(0, 256, (H, W, 3), dtype=np.uint8)


def save_palette_png(path: str, mask: np.ndarray) -> None:
    img = Image.fromarray(mask, mode='L').convert('P')
    img.putpalette([v for rgb in voc_palette(256) for v in rgb])
    img.save(path)


def save_sbd_mat(path: str, seg: np.ndarray) -> None:
    """A ``cls/*.mat`` file in SBD's layout: struct GTcls with Boundaries (20 x 1 cell of
    sparse matrices), Segmentation (uint8 H x W) and CategoriesPresent."""
    boundaries = np.empty((20, 1), dtype=object)
    for c in range(20):
        edge = np.zeros(seg.shape, bool)
        if c + 1 in seg:
            edge[seg == c + 1] = True
        boundaries[c, 0] = scipy.sparse.csc_matrix(edge)
    present = np.array([c for c in np.unique(seg) if 0 < c < 255], np.uint8).reshape(-1, 1)
    scipy.io.savemat(path, {'GTcls': {'Boundaries': boundaries, 'Segmentation': seg,
                                      'CategoriesPresent': present}}, format='5')


def write_list(path: str, ids) -> None:
    with open(path, 'w') as f:
        f.write(''.join(i + '\n' for i in ids))


def make_voc_sbd(base: str) -> dict:
    """Extracted trees ``base/VOCdevkit/VOC2012`` and ``base/benchmark_RELEASE``.

    Returns:
        dict: ``voc`` and ``sbd`` folders, ``images`` (id -> RGB array), ``voc_masks``,
        ``sbd_masks`` (id -> array) and ``expected`` (id -> the mask the converter must
        write).
    """
    voc = osp.join(base, 'VOCdevkit', 'VOC2012')
    sbd = osp.join(base, 'benchmark_RELEASE')
    for d in ('JPEGImages', 'SegmentationClass', 'ImageSets/Segmentation', 'Annotations'):
        os.makedirs(osp.join(voc, d), exist_ok=True)
    for d in ('cls', 'inst', 'img'):
        os.makedirs(osp.join(sbd, 'dataset', d), exist_ok=True)
    all_ids = sorted(set(VOC_TRAIN + VOC_VAL + SBD_TRAIN + SBD_VAL + EXTRA_IMAGES))
    images = {i: image(k) for k, i in enumerate(all_ids)}
    for i, rgb in images.items():
        Image.fromarray(rgb).save(osp.join(voc, 'JPEGImages', i + '.jpg'), quality=95)
        with open(osp.join(voc, 'Annotations', i + '.xml'), 'w') as f:
            f.write('<annotation/>')
    voc_masks = {i: voc_mask(k) for k, i in enumerate(VOC_TRAIN + VOC_VAL)}
    for i, m in voc_masks.items():
        save_palette_png(osp.join(voc, 'SegmentationClass', i + '.png'), m)
    lists = osp.join(voc, 'ImageSets', 'Segmentation')
    write_list(osp.join(lists, 'train.txt'), VOC_TRAIN)
    write_list(osp.join(lists, 'val.txt'), VOC_VAL)
    write_list(osp.join(lists, 'trainval.txt'), VOC_TRAIN + VOC_VAL)
    sbd_masks = {i: sbd_mask(k) for k, i in enumerate(SBD_TRAIN + SBD_VAL)}
    for i, m in sbd_masks.items():
        save_sbd_mat(osp.join(sbd, 'dataset', 'cls', i + '.mat'), m)
        save_sbd_mat(osp.join(sbd, 'dataset', 'inst', i + '.mat'), (m > 0).astype(np.uint8))
        Image.fromarray(images[i]).save(osp.join(sbd, 'dataset', 'img', i + '.jpg'))
    write_list(osp.join(sbd, 'dataset', 'train.txt'), SBD_TRAIN)
    write_list(osp.join(sbd, 'dataset', 'val.txt'), SBD_VAL)
    expected = dict(sbd_masks)
    expected.update(voc_masks)  # VOC's own masks take precedence
    return dict(voc=voc, sbd=sbd, images=images, voc_masks=voc_masks, sbd_masks=sbd_masks,
                expected=expected)


def pack_tar(folder: str, arcname: str, path: str, mode: str = 'w') -> str:
    """``folder`` as ``arcname/...`` in a tar (``mode`` ``'w'`` or ``'w:gz'``)."""
    with tarfile.open(path, mode) as tar:
        tar.add(folder, arcname=arcname)
    return path


def make_voc_sbd_archives(base: str) -> dict:
    """:func:`make_voc_sbd` plus the VOC tar and SBD's tgz packed like the official ones."""
    made = make_voc_sbd(osp.join(base, 'extracted'))
    made['voc_tar'] = pack_tar(osp.dirname(made['voc']), 'VOCdevkit',
                               osp.join(base, 'VOCtrainval_11-May-2012.tar'))
    made['sbd_tgz'] = pack_tar(made['sbd'], 'benchmark_RELEASE',
                               osp.join(base, 'benchmark.tgz'), 'w:gz')
    return made


# COCO 2014 category ids (1..90 with the ten unused ids left out), in id order.
COCO_IDS = (list(range(1, 12)) + list(range(13, 26)) + [27, 28] + list(range(31, 45))
            + list(range(46, 66)) + [67, 70] + list(range(72, 83)) + list(range(84, 91)))


def coco_categories():
    from projects.acr.datasets import COCO_CLASSES
    return [dict(id=cid, name=name, supercategory='x')
            for cid, name in zip(COCO_IDS, COCO_CLASSES[1:])]


def rle_uncompressed(mask: np.ndarray) -> dict:
    """COCO's uncompressed RLE (column-major run lengths, starting with zeros)."""
    flat = mask.flatten(order='F').astype(np.uint8)
    counts, current, run = [], 0, 0
    for v in flat:
        if v == current:
            run += 1
        else:
            counts.append(run)
            current, run = v, 1
    counts.append(run)
    return dict(size=list(mask.shape), counts=counts)


def make_coco_json(path: str, split: str) -> dict:
    """A tiny ``instances_<split>2014.json``.

    Images (12 x 10 px): 1 has a polygon ``person`` (category 1 -> 1) and a smaller
    compressed-RLE ``toothbrush`` (90 -> 80) overlapping it, and a crowd region; 2 has no
    instances; 3 has only a crowd region; 4 has an uncompressed-RLE ``dog`` (18 -> 17).

    Returns:
        dict: ``json`` (the data) and ``masks`` (image id -> expected class mask with the
        default smaller-on-top rule), ``stems`` (image id -> file stem).
    """
    from pycocotools import mask as mask_utils
    h, w = 10, 12
    prefix = f'COCO_{split}2014_'
    images = [dict(id=i, file_name=f'{prefix}{i:012d}.jpg', height=h, width=w)
              for i in (4, 1, 2, 3)]  # not sorted: the lists are sorted by id
    person = np.zeros((h, w), np.uint8)
    person[1:7, 1:9] = 1  # the polygon below covers exactly these pixels
    brush = np.zeros((h, w), np.uint8)
    brush[4:9, 6:11] = 1
    crowd = np.zeros((h, w), np.uint8)
    crowd[0:3, 7:12] = 1
    dog = np.zeros((h, w), np.uint8)
    dog[2:8, 3:6] = 1
    brush_rle = mask_utils.encode(np.asfortranarray(brush))
    brush_rle['counts'] = brush_rle['counts'].decode('ascii')
    anns = [
        dict(id=10, image_id=1, category_id=1, iscrowd=0, area=48.0, bbox=[1, 1, 8, 6],
             segmentation=[[1.0, 1.0, 9.0, 1.0, 9.0, 7.0, 1.0, 7.0]]),
        dict(id=11, image_id=1, category_id=90, iscrowd=0, area=25.0, bbox=[6, 4, 5, 5],
             segmentation=brush_rle),
        dict(id=12, image_id=1, category_id=3, iscrowd=1, area=15.0, bbox=[7, 0, 5, 3],
             segmentation=rle_uncompressed(crowd)),
        dict(id=13, image_id=3, category_id=5, iscrowd=1, area=15.0, bbox=[7, 0, 5, 3],
             segmentation=rle_uncompressed(crowd)),
        dict(id=14, image_id=4, category_id=18, iscrowd=0, area=18.0, bbox=[3, 2, 3, 6],
             segmentation=rle_uncompressed(dog)),
    ]
    m1 = np.zeros((h, w), np.uint8)
    m1[crowd > 0] = 255
    m1[person > 0] = 1
    m1[brush > 0] = 80  # the smaller instance on top
    m3 = np.where(crowd > 0, 255, 0).astype(np.uint8)
    m4 = np.where(dog > 0, 17, 0).astype(np.uint8)
    data = dict(info={}, licenses=[], images=images, annotations=anns,
                categories=coco_categories())
    with open(path, 'w') as f:
        json.dump(data, f)
    return dict(json=data, masks={1: m1, 2: np.zeros((h, w), np.uint8), 3: m3, 4: m4},
                stems={i: f'{prefix}{i:012d}' for i in (1, 2, 3, 4)},
                parts=dict(person=person, brush=brush, crowd=crowd, dog=dog))


def make_coco_annotations(base: str, zip_name: str = 'annotations_trainval2014.zip') -> dict:
    """``base/annotations/instances_{train,val}2014.json`` and the zip holding them."""
    folder = osp.join(base, 'annotations')
    os.makedirs(folder, exist_ok=True)
    made = {split: make_coco_json(osp.join(folder, f'instances_{split}2014.json'), split)
            for split in ('train', 'val')}
    zip_path = osp.join(base, zip_name)
    with zipfile.ZipFile(zip_path, 'w', zipfile.ZIP_DEFLATED) as zf:
        for split in ('train', 'val'):
            name = f'instances_{split}2014.json'
            zf.write(osp.join(folder, name), f'annotations/{name}')
        zf.writestr('annotations/captions_train2014.json', '{}')
    made['folder'] = folder
    made['zip'] = zip_path
    return made
