import importlib.util
import os.path as osp

import pytest

from projects.acr.pipeline import PipelineSettings, build_steps
from projects.acr.pipeline.wsss_pipeline import affinity_by_default, affinity_config_for

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STAGE1 = osp.join(ROOT, 'configs/acr/vit-tiny_toy.py')
STAGE2 = osp.join(ROOT, 'configs/seg/deeplabv2_r18-d8_1xb8-1k_toy-pseudo-96x96.py')
AFFINITY = osp.join(ROOT, 'configs/affinity/affinitynet_r18-d8_1xb8-6e_toy-96x96.py')


def run_pipeline_tool():
    spec = importlib.util.spec_from_file_location('run_pipeline_tool',
                                                  osp.join(ROOT, 'tools/run_pipeline.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def toy_root(shared_toy_dataset):
    return shared_toy_dataset(num_train=4, num_val=2, img_size=48, seed=0)


def test_affinity_steps_sit_between_labels_and_stage2(toy_root, tmp_path):
    base = dict(stage1_config=STAGE1, stage2_config=STAGE2, work_dir=str(tmp_path),
                data_root=toy_root)
    plain = [s.name for s in build_steps(PipelineSettings(**base))]
    assert 'affinity_train' not in plain
    steps = build_steps(PipelineSettings(**base, affinity_config=AFFINITY,
                                         refine_args=['--logt', '6']))
    names = [s.name for s in steps]
    assert names.index('eval_pseudo_labels') < names.index('affinity_train') < \
        names.index('refined_labels') < names.index('eval_refined_labels') < \
        names.index('stage2_train')
    by_name = {s.name: s for s in steps}
    train_cmd = ' '.join(by_name['affinity_train'].command)
    assert f'label_dir={tmp_path}/pseudo_labels' in train_cmd
    assert f'data_root={toy_root}' in train_cmd
    refine_cmd = by_name['refined_labels'].command
    assert refine_cmd[1].endswith('tools/refine_labels.py')
    assert osp.join(str(tmp_path), 'affinity', 'epoch_6.pth') in refine_cmd
    assert refine_cmd[refine_cmd.index('--logt') + 1] == '6'
    assert by_name['refined_labels'].outputs()[0].startswith(osp.join(str(tmp_path),
                                                                      'refined_labels'))
    # Stage 2 trains on the refined labels.
    s2 = ' '.join(by_name['stage2_train'].command)
    assert f'pseudo_label_dir={tmp_path}/refined_labels' in s2


def test_on_by_default_for_published_voc_configs_and_switchable():
    assert affinity_by_default('configs/acr/vit-r50_voc.py')
    assert not affinity_by_default('configs/acr/vit-tiny_toy.py')
    assert not affinity_by_default('configs/acr/vit-r50_coco.py')
    assert affinity_config_for('configs/acr/vit_voc.py').endswith(
        'affinitynet_r101-d8_1xb8-8e_voc-448x448.py')
    assert affinity_config_for('configs/acr/vit-r50_coco.py') is None
    tool = run_pipeline_tool()
    voc = ['configs/acr/vit-r50_voc.py', 'seg.py', '--work-dir', 'w']
    assert tool.settings_from_args(tool.parse_args(voc)).affinity_config.endswith(
        'voc-448x448.py')
    assert tool.settings_from_args(tool.parse_args([*voc, '--no-affinity'])).affinity_config \
        is None
    toy = ['--work-dir', 'w']
    assert tool.settings_from_args(tool.parse_args(toy)).affinity_config is None
    assert tool.settings_from_args(tool.parse_args([*toy, '--affinity'])).affinity_config \
        .endswith('toy-96x96.py')
    with pytest.raises(SystemExit, match='no AffinityNet config'):
        tool.settings_from_args(tool.parse_args(
            ['configs/acr/vit-r50_coco.py', 's.py', '--work-dir', 'w', '--affinity']))
