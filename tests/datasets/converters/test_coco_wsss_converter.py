import importlib.util
import json
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image
from pycocotools.coco import COCO

from projects.acr.datasets import COCOClsDataset
from projects.acr.datasets.converters import (COCO_CATEGORY_IDS, ArchiveError, COCOWSSSConverter,
                                              category_map, instance_mask, render_class_mask)

_spec = importlib.util.spec_from_file_location(
    'made_archives', osp.join(osp.dirname(__file__), 'made_archives.py'))
made_archives = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(made_archives)


@pytest.fixture(scope='module')
def coco(tmp_path_factory):
    return made_archives.make_coco_annotations(str(tmp_path_factory.mktemp('coco_ann')))


def convert(annotations, out, **kwargs):
    kwargs.setdefault('progress', False)
    return COCOWSSSConverter(annotations, str(out), **kwargs).run()


def read_mask(out, split, stem):
    with Image.open(osp.join(out, 'SegmentationClass', f'{split}2014', stem + '.png')) as img:
        assert img.mode == 'P'
        return np.asarray(img)


def read_list(out, name):
    with open(osp.join(out, 'ImageSets', name + '.txt')) as f:
        return f.read().split('\n')


def reference_mask(json_path, image_id, smaller_on_top=True):
    """Written plainly with pycocotools' own COCO API: crowd 255, then instances by area."""
    api = COCO(json_path)
    img = api.imgs[image_id]
    cat_ids = sorted(api.getCatIds())
    out = np.zeros((img['height'], img['width']), np.uint8)
    anns = api.loadAnns(api.getAnnIds(imgIds=[image_id]))
    for ann in anns:
        if ann['iscrowd']:
            out[api.annToMask(ann) > 0] = 255
    objs = [(api.annToMask(ann), cat_ids.index(ann['category_id']) + 1)
            for ann in anns if not ann['iscrowd']]
    objs.sort(key=lambda o: -int(o[0].sum()) if smaller_on_top else int(o[0].sum()))
    for m, label in objs:
        out[m > 0] = label
    return out


def assert_split(coco, out, split):
    made = coco[split]
    for image_id, expected in made['masks'].items():
        np.testing.assert_array_equal(read_mask(out, split, made['stems'][image_id]), expected,
                                      err_msg=f'{split} {image_id}')
    stems = made['stems']
    # Images 1 and 4 have non-crowd instances; 2 has none, 3 only a crowd region.
    assert read_list(out, split) == [stems[1], stems[4], '']


def test_category_ids_map_to_1_80_in_id_order(coco):
    cats = made_archives.coco_categories()
    mapping = category_map(cats, 'x.json')
    assert len(mapping) == 80 and tuple(sorted(mapping)) == COCO_CATEGORY_IDS
    assert (mapping[1], mapping[11], mapping[13], mapping[18], mapping[90]) == (1, 11, 12, 17, 80)
    with pytest.raises(ValueError, match='x.json: 79 categories'):
        category_map(cats[:-1], 'x.json')
    renamed = [dict(c, name='sofa') if c['id'] == 63 else c for c in cats]
    with pytest.raises(ValueError, match="x.json: category 63 is named 'sofa'"):
        category_map(renamed, 'x.json')


def test_masks_match_a_plain_pycocotools_rendering(coco):
    path = osp.join(coco['folder'], 'instances_train2014.json')
    made = coco['train']
    for image_id in (1, 2, 3, 4):
        np.testing.assert_array_equal(made['masks'][image_id], reference_mask(path, image_id))


def test_overlap_rules(coco):
    parts = coco['train']['parts']
    person, brush, crowd = parts['person'], parts['brush'], parts['crowd']
    anns = {a['id']: a for a in coco['train']['json']['annotations']}
    instances = [(1, False, anns[10]['segmentation']), (80, False, anns[11]['segmentation']),
                 (3, True, anns[12]['segmentation'])]
    both = (person > 0) & (brush > 0)
    assert both.sum() == 9
    small = render_class_mask(10, 12, instances)
    assert (small[both] == 80).all()
    large = render_class_mask(10, 12, instances, overlap='larger-on-top')
    assert (large[both] == 1).all()
    np.testing.assert_array_equal(large[~both], small[~both])
    ignore = render_class_mask(10, 12, instances, overlap='ignore')
    assert (ignore[both] == 255).all()
    np.testing.assert_array_equal(ignore[~both], small[~both])
    # A crowd region under an instance takes the instance's class, elsewhere 255.
    assert (small[(crowd > 0) & (person > 0)] == 1).all()
    assert (small[(crowd > 0) & (person == 0) & (brush == 0)] == 255).all()
    with pytest.raises(ValueError, match='overlap must be one of'):
        render_class_mask(10, 12, instances, overlap='last')


def test_instance_mask_formats():
    m = np.zeros((5, 4), np.uint8)
    m[1:4, 2:4] = 1
    from pycocotools import mask as mask_utils
    rle = mask_utils.encode(np.asfortranarray(m))
    as_str = dict(rle, counts=rle['counts'].decode('ascii'))
    for seg in (rle, as_str, made_archives.rle_uncompressed(m)):
        np.testing.assert_array_equal(instance_mask(seg, 5, 4, 'a'), m > 0)
    # Degenerate polygons (fewer than three points) cover nothing.
    assert not instance_mask([[0.0, 0.0, 3.0, 3.0]], 5, 4, 'a').any()
    with pytest.raises(ValueError, match='ann 7: RLE size'):
        instance_mask(made_archives.rle_uncompressed(m), 6, 4, 'ann 7')
    with pytest.raises(ValueError, match='ann 8: segmentation is neither'):
        instance_mask('x', 5, 4, 'ann 8')


@pytest.mark.parametrize('source', ['folder', 'zip'])
def test_converts_folder_and_zip(coco, tmp_path, source):
    out = tmp_path / 'coco'
    summary = convert(coco['folder'] if source == 'folder' else coco['zip'], out)
    for split in ('train', 'val'):
        assert_split(coco, str(out), split)
        s = summary.splits[split]
        assert (s.images, s.listed, s.no_instances, s.crowd_only) == (4, 2, 1, 1)
        assert (s.written, s.skipped, s.listed_without_foreground, s.with_ignored) == \
            (4, 0, 0, 2)
    assert read_list(str(out), 'val_5000') == read_list(str(out), 'val')
    assert summary.lists == dict(train=2, val=2, val_5000=2)
    text = '\n'.join(summary.lines())
    assert 'WSSS papers list 82,081' in text and 'overlap rule smaller-on-top' in text


def test_workers_rerun_and_recorded_rule(coco, tmp_path):
    out = tmp_path / 'coco'
    convert(coco['folder'], out, workers=2, splits=['train'])
    assert_split(coco, str(out), 'train')
    assert not osp.exists(out / 'ImageSets' / 'val.txt')
    stem = coco['train']['stems'][1]
    path = out / 'SegmentationClass' / 'train2014' / (stem + '.png')
    stamp = os.stat(path).st_mtime_ns
    os.remove(out / 'SegmentationClass' / 'train2014' / (coco['train']['stems'][4] + '.png'))
    summary = convert(coco['folder'], out)
    assert (summary.splits['train'].written, summary.splits['train'].skipped) == (1, 3)
    assert summary.splits['val'].written == 4
    assert os.stat(path).st_mtime_ns == stamp
    assert_split(coco, str(out), 'train')
    with pytest.raises(ValueError, match="overlap: 'smaller-on-top' there, 'ignore' now"):
        convert(coco['folder'], out, overlap='ignore')


def test_foreign_masks_are_refused(coco, tmp_path):
    out = tmp_path / 'coco'
    os.makedirs(out / 'SegmentationClass' / 'val2014')
    Image.new('L', (12, 10)).save(out / 'SegmentationClass' / 'val2014' / 'x.png')
    with pytest.raises(FileExistsError, match='did not write'):
        convert(coco['folder'], out)
    convert(coco['folder'], out, force=True)
    assert_split(coco, str(out), 'val')


def test_bad_inputs_are_named(coco, tmp_path):
    with pytest.raises(FileNotFoundError, match='instances_train2014.json not found in'):
        convert(str(tmp_path), tmp_path / 'o')
    broken = tmp_path / 'annotations_trainval2014.zip'
    with open(coco['zip'], 'rb') as f:
        data = f.read()
    broken.write_bytes(data[:len(data) // 2])
    with pytest.raises(ArchiveError, match=f'cannot read the archive {broken}'):
        convert(str(broken), tmp_path / 'o')
    # The train json given as val's.
    wrong = tmp_path / 'wrong'
    os.makedirs(wrong)
    with open(osp.join(coco['folder'], 'instances_train2014.json')) as f:
        data = json.load(f)
    with open(wrong / 'instances_val2014.json', 'w') as f:
        json.dump(data, f)
    with pytest.raises(ValueError, match='not a COCO_val2014_.* file: is this the val json'):
        convert(str(wrong), tmp_path / 'o2', splits=['val'])
    data['annotations'][0]['category_id'] = 12  # an unused COCO id
    with open(wrong / 'instances_train2014.json', 'w') as f:
        json.dump(data, f)
    with pytest.raises(ValueError, match='instances_train2014.json: annotation 10 has '
                       'category 12'):
        convert(str(wrong), tmp_path / 'o3', splits=['train'])
    (wrong / 'instances_train2014.json').write_text('{"images": [')
    with pytest.raises(ValueError, match='instances_train2014.json: not valid JSON'):
        convert(str(wrong), tmp_path / 'o4', splits=['train'])


def test_dataset_reads_the_converted_tree(coco, tmp_path):
    out = tmp_path / 'coco'
    convert(coco['zip'], out, splits=['train'])
    img_dir = out / 'coco2014' / 'train2014'
    os.makedirs(img_dir)
    for stem in coco['train']['stems'].values():
        Image.new('RGB', (12, 10)).save(img_dir / (stem + '.jpg'))
    ds = COCOClsDataset(str(out), split='train', label_cache=False)
    assert len(ds) == 2
    assert np.flatnonzero(ds.get_data_info(0)['img_labels']).tolist() == [0, 79]  # person, brush
    assert np.flatnonzero(ds.get_data_info(1)['img_labels']).tolist() == [16]  # dog


def test_docs_class_map_is_the_one_written():
    from projects.acr.datasets import COCO_CLASSES
    root = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    with open(osp.join(root, 'docs', 'dataset_preparation.md')) as f:
        lines = [line for line in f if line.startswith('| ') and line.count('|') == 13]
    rows = []
    for line in lines[1:]:  # the header first
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        rows += [(int(cells[i]), int(cells[i + 1]), cells[i + 2]) for i in (0, 3, 6, 9)]
    mapping = category_map(made_archives.coco_categories(), 'x')
    assert sorted(rows) == [(mapping[cid], cid, COCO_CLASSES[mapping[cid]])
                            for cid in COCO_CATEGORY_IDS]
