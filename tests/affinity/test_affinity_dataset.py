import numpy as np
import pytest
from affinity_test_utils import write_png
from mmseg.registry import DATASETS
from PIL import Image

from projects.acr.affinity import LoadAffinityLabels

PIPELINE = [dict(type='LoadCheckedImageFromFile'), dict(type='LoadAffinityLabels'),
            dict(type='PackAffinityInputs')]


def build(root, **kwargs):
    cfg = dict(type='AffinityLabelDataset', data_root=str(root),
               ann_file='ImageSets/Segmentation/train.txt', pipeline=PIPELINE)
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def test_two_crf_maps_are_packed_together(shapes_data, tmp_path):
    low, high = tmp_path / 'low', tmp_path / 'high'
    low.mkdir(), high.mkdir()
    for i in range(6):
        mask = np.array(Image.open(shapes_data / 'SegmentationClassAug' / f'img_{i}.png'))
        write_png(low / f'img_{i}.png', mask)
        write_png(high / f'img_{i}.png', np.where(mask == 2, 0, mask))
    ds = build(shapes_data, low_label_dir=str(low), high_label_dir=str(high))
    item = ds[0]
    seg = item['data_samples'].gt_sem_seg.data
    assert seg.shape == (2, 48, 48)
    assert set(seg[1].unique().tolist()) <= {0, 1}
    # Combined labels give one channel.
    seg = build(shapes_data, label_dir=str(shapes_data / 'labels'))[0]['data_samples']
    assert seg.gt_sem_seg.data.shape == (1, 48, 48)


def test_missing_labels_and_bad_arguments_are_named(shapes_data, tmp_path):
    (shapes_data / 'labels' / 'img_3.png').unlink()
    with pytest.raises(FileNotFoundError, match='img_3'):
        build(shapes_data, label_dir=str(shapes_data / 'labels'))
    with pytest.raises(ValueError, match='not both'):
        build(shapes_data, label_dir='a', low_label_dir='b', high_label_dir='c')
    with pytest.raises(ValueError, match='high_label_dir'):
        build(shapes_data, low_label_dir='b')


def test_size_mismatch_and_empty_labels(shapes_data):
    write_png(shapes_data / 'labels' / 'img_1.png', np.zeros((40, 48)))
    ds = build(shapes_data, label_dir=str(shapes_data / 'labels'))
    with pytest.raises(ValueError, match=r'img_1\.png is 40x48.*img_1\.jpg is 48x48'):
        ds.prepare_data(1)
    write_png(shapes_data / 'labels' / 'img_2.png', np.full((48, 48), 255))
    with pytest.raises(ValueError, match=r'img_2\.jpg.*no affinity label'):
        ds.prepare_data(2)
    skipping = LoadAffinityLabels(on_empty='skip')
    info = dict(ds.get_data_info(2), ori_shape=(48, 48))
    assert skipping(info) is None and len(skipping.skipped) == 1
