"""Every published config trains and validates end to end on a made tree.

Each config runs through ``tools/train.py`` as a user runs it, with its own pipelines,
``test_cfg``, hooks, model classes and architecture (random weights); only counts and
sizes are reduced (see ``published_configs.reduced_config``). Stage-1 configs train one
epoch of two steps, the CAM-quality hook maps one image (drawing its overlay) and the
validation scores it; stage-2 and AffinityNet configs train two iterations.
"""
import glob
import json
import os.path as osp

import pytest
from published_configs import data_of, family_of, published_configs, reduced_config, run_tool

pytestmark = pytest.mark.slow


def _last_scalars(work_dir):
    files = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    assert files, f'no scalars.json under {work_dir}'
    return [json.loads(line) for line in open(files[0])]


@pytest.mark.parametrize('config', published_configs())
def test_published_config_trains_and_validates(config, trees, tmp_path):
    data = data_of(config)
    family = family_of(config)
    # One validation image: the hook still maps and draws it; the toy configs keep
    # their own (small) sizes.
    reduced = reduced_config(config, str(tmp_path), trees[data], trees[f'{data}_labels'],
                             shrink=data != 'toy', num_val=1)
    work = str(tmp_path / 'work')
    # W&B's offline runs are exercised by the pipeline tests; here its dummy run saves the
    # seconds of a W&B process per config.
    out = run_tool('train.py', [reduced, '--work-dir', work], cwd=str(tmp_path),
                   env=dict(WANDB_MODE='disabled'))
    ckpts = sorted(glob.glob(osp.join(work, '*.pth')))
    assert ckpts, f'{config}: no checkpoint written\n{out[-3000:]}'
    assert not glob.glob(osp.join(work, '*.tmp*')), 'a temporary checkpoint was left behind'
    scalars = _last_scalars(work)
    if family == 'acr':
        assert any('cam/mIoU' in s for s in scalars), out[-3000:]
        hooks = [s for s in scalars if 'cam_quality/cam_mIoU' in s]
        assert hooks and 0 <= hooks[-1]['cam_quality/cam_mIoU'] <= 100
        images = glob.glob(osp.join(work, '*', 'vis_data', 'vis_image', 'cam_quality_*.png'))
        assert images, 'the CAM-quality hook logged no overlays'
    elif family == 'seg':
        assert any('mIoU' in s for s in scalars), out[-3000:]
    elif family == 'toco':
        assert any('cam/mIoU' in s for s in scalars), out[-3000:]
        for loss in ('loss_cls', 'loss_cls_aux', 'loss_ptc', 'loss_ctc', 'loss_seg',
                     'loss_energy'):
            assert any(loss in s for s in scalars), f'{loss} never logged\n{out[-3000:]}'
        with_acr = any('loss_affinity' in s for s in scalars)
        assert with_acr == config.endswith('_acr.py'), out[-3000:]
