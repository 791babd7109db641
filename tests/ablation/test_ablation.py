"""The ablation runner: spec checks, runs x seeds, resuming, the tables and the plot."""
import json
import os
import os.path as osp
import textwrap
import zipfile

import numpy as np
import pytest

from projects.acr.ablation import (AblationRunner, AblationSpecError, RunRecord, build_tables,
                                   paired_differences, parse_ablation_spec, summarize)

# Stand-ins of tools/train.py and tools/test.py: they log what the real ones log (a
# scalars.json per launch, last_checkpoint, the --out-json metrics) from a formula of the
# run's overrides, and count their launches.
FAKE_TRAIN = textwrap.dedent('''
    import json, os, sys, zipfile
    argv = sys.argv[1:]
    work_dir = argv[argv.index('--work-dir') + 1]
    opts = dict(a.split('=', 1) for a in argv[argv.index('--cfg-options') + 1:] if '=' in a)
    seed, bonus = int(opts['randomness.seed']), float(opts.get('bonus', 0))
    with open(os.path.join(os.path.dirname(work_dir), 'launches.txt'), 'a') as f:
        f.write(argv[0] + '\\n')
    os.makedirs(os.path.join(work_dir, '20240101_000000', 'vis_data'), exist_ok=True)
    with open(os.path.join(work_dir, '20240101_000000', 'vis_data', 'scalars.json'), 'w') as f:
        f.write(json.dumps({'cam/mIoU': 10.0, 'step': 1}) + '\\n')
        f.write(json.dumps({'cam/mIoU': 50.0 + seed + bonus, 'step': 2}) + '\\n')
    ckpt = os.path.join(work_dir, 'epoch_2.pth')
    with zipfile.ZipFile(ckpt, 'w') as z:  # the layout of a torch.save file
        z.writestr('epoch_2/data.pkl', b'checkpoint')
    with open(os.path.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(ckpt)
''')
FAKE_TEST = textwrap.dedent('''
    import json, sys
    argv = sys.argv[1:]
    opts = dict(a.split('=', 1) for a in argv[argv.index('--cfg-options') + 1:] if '=' in a)
    value = 2 * float(opts.get('bonus', 0)) + int(opts['randomness.seed'])
    with open(argv[argv.index('--out-json') + 1], 'w') as f:
        json.dump({'metrics': {'cam/mIoU': value}}, f)
''')

SPEC = dict(
    name='demo', config='configs/x.py', seeds=[0, 1, 2], baseline='base',
    options={'train_cfg.max_epochs': 2},
    variants={'base': {}, 'better': {'bonus': 3.0},
              'other': {'config': 'configs/y.py', 'bonus': -1.0}},
    evaluations={'refined': {'model.test_cfg.refine': True}},
    metrics={'cam': {'label': 'CAM mIoU', 'scalar': 'cam/mIoU'},
             'refined': {'label': 'refined', 'evaluation': 'refined', 'key': 'cam/mIoU'}})


@pytest.fixture
def repo(tmp_path):
    os.makedirs(tmp_path / 'tools')
    (tmp_path / 'tools' / 'train.py').write_text(FAKE_TRAIN)
    (tmp_path / 'tools' / 'test.py').write_text(FAKE_TEST)
    return tmp_path


def test_runs_every_variant_and_seed_then_skips_finished_runs(repo):
    spec = parse_ablation_spec(SPEC, 'demo.yaml')
    runner = AblationRunner(spec, work_dir_root='runs', cwd=str(repo))
    records = runner.run()
    assert [(r.variant, r.seed, r.status) for r in records][:3] == [
        ('base', 0, 'done'), ('better', 0, 'done'), ('other', 0, 'done')]
    assert {r.config for r in records if r.variant == 'other'} == {'configs/y.py'}
    values = {(r.variant, r.seed): r.values for r in records}
    assert values[('better', 2)] == {'cam': 55.0, 'refined': 8.0}  # the last value
    markdown = (repo / 'runs' / 'demo' / 'results.md').read_text()
    # better - base = 3 for every seed: mean 3, spread 0.
    assert '| better | 54.00 ± 1.00 | 53.00 | 54.00 | 55.00 | 3.00 ± 0.00 |' in markdown
    assert '| other | 50.00 ± 1.00 |' in markdown and '-1.00 ± 0.00' in markdown
    assert osp.getsize(repo / 'runs' / 'demo' / 'results.png') > 1000
    tables = json.loads((repo / 'runs' / 'demo' / 'results.json').read_text())['metrics']
    assert tables['refined']['better']['diff']['mean'] == pytest.approx(6.0)

    def launches(variant):
        return (repo / 'runs' / 'demo' / variant / 'launches.txt').read_text().count('\n')

    assert launches('base') == 3
    AblationRunner(spec, work_dir_root='runs', cwd=str(repo)).run()
    assert launches('base') == 3  # finished runs are not run again


def test_a_truncated_last_checkpoint_is_not_trusted(repo):
    spec = parse_ablation_spec(SPEC, 'demo.yaml')
    runner = AblationRunner(spec, work_dir_root='runs', cwd=str(repo))
    work_dir = runner.run_dir('base', 0)
    os.makedirs(work_dir)
    with zipfile.ZipFile(osp.join(work_dir, 'epoch_1.pth'), 'w') as z:
        z.writestr('epoch_1/data.pkl', b'checkpoint')
    with open(osp.join(work_dir, 'epoch_2.pth'), 'wb') as f:
        f.write(b'PK\x03\x04 killed while writing')
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work_dir, 'epoch_2.pth'))
    assert runner._last_checkpoint(work_dir) == osp.join(work_dir, 'epoch_1.pth')
    assert runner._last_checkpoint(runner.run_dir('base', 1)) is None


def test_an_unfinished_run_resumes_and_missing_evaluations_run(repo):
    spec = parse_ablation_spec(SPEC, 'demo.yaml')
    runner = AblationRunner(spec, work_dir_root='runs', variants=['base'], seeds=[0],
                            cwd=str(repo))
    work_dir = runner.run_dir('base', 0)
    os.makedirs(work_dir)
    with zipfile.ZipFile(osp.join(work_dir, 'epoch_1.pth'), 'w') as z:
        z.writestr('epoch_1/data.pkl', b'checkpoint')
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work_dir, 'epoch_1.pth'))
    assert '--resume' in runner.train_command('base', 0, resume=True)
    record = runner.run_one('base', 0)
    assert record.status == 'done' and record.values == {'cam': 50.0, 'refined': 0.0}
    log = open(osp.join(work_dir, 'run_output.log')).read()
    assert '--resume' in log and 'tools/test.py' in log


def test_a_finished_run_with_other_settings_is_refused(repo):
    spec = parse_ablation_spec(SPEC, 'demo.yaml')
    AblationRunner(spec, work_dir_root='runs', variants=['base'], seeds=[0],
                   cwd=str(repo)).run()
    changed = dict(SPEC, options={'train_cfg.max_epochs': 3})
    runner = AblationRunner(parse_ablation_spec(changed, 'demo.yaml'), work_dir_root='runs',
                            variants=['base'], seeds=[0], cwd=str(repo))
    with pytest.raises(ValueError, match='delete'):
        runner.run_one('base', 0)


def test_a_failed_run_is_reported_and_not_marked(repo):
    (repo / 'tools' / 'train.py').write_text('import sys; print("boom"); sys.exit(3)')
    spec = parse_ablation_spec(SPEC, 'demo.yaml')
    runner = AblationRunner(spec, work_dir_root='runs', variants=['base'], seeds=[0],
                            cwd=str(repo))
    record = runner.run_one('base', 0)
    assert record.status == 'failed'
    assert not osp.exists(osp.join(runner.run_dir('base', 0), 'ablation_run.json'))
    assert 'Failed: base seed 0' in runner.report()


def test_statistics_and_paired_differences():
    stats = summarize([1.0, 2.0, 6.0, None])
    assert stats['mean'] == pytest.approx(3.0) and stats['n'] == 3
    assert stats['std'] == pytest.approx(np.std([1, 2, 6], ddof=1))
    assert summarize([4.0])['std'] is None and summarize([])['mean'] is None
    assert paired_differences({0: 5.0, 1: 7.0, 2: 1.0}, {0: 4.0, 2: 3.0}) == {0: 1.0, 2: -2.0}
    spec = parse_ablation_spec(SPEC, 'demo.yaml')
    records = [RunRecord('base', 0, {}, status='done', values={'cam': 1.0}),
               RunRecord('better', 0, {}, status='done', values={'cam': 4.0}),
               RunRecord('better', 1, {}, status='done', values={'cam': 9.0})]
    tables = build_tables(spec, records, ['base', 'better'], [0, 1])
    # Seed 1 has no baseline run: it counts for the mean, not for the paired difference.
    assert tables['cam']['better']['mean'] == pytest.approx(6.5)
    assert tables['cam']['better']['diff']['per_seed'] == {0: 3.0}


@pytest.mark.parametrize('change, message', [
    (dict(baseline='nope'), 'baseline "nope"'),
    (dict(seeds=[0, 0]), 'seeds'),
    (dict(variants={}), 'variants'),
    (dict(metrics={'x': {'evaluation': 'gone', 'key': 'k'}}), 'evaluation "gone"'),
    (dict(metrics={'x': {'label': 'no source'}}), 'metrics.x'),
    (dict(colour='red'), 'unknown keys'),
])
def test_spec_errors_name_the_file_and_key(change, message):
    with pytest.raises(AblationSpecError, match=message) as info:
        parse_ablation_spec(dict(SPEC, **change), 'configs/ablations/bad.yaml')
    assert 'configs/ablations/bad.yaml' in str(info.value)


def test_the_study_spec_parses():
    from projects.acr.ablation import load_ablation_spec
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    spec = load_ablation_spec(osp.join(root, 'configs/ablations/acr_toy.yaml'))
    assert len(spec.seeds) >= 3 and spec.baseline in spec.variants
    for variant in spec.variants:
        assert osp.isfile(osp.join(root, spec.config_of(variant)))
