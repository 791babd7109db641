import os.path as osp

import pytest

from projects.acr.sweeps import LocalSweepRunner


def test_local_runner_rejects_overrides_of_swept_keys(tmp_path, make_spec):
    spec = make_spec('grid', {'a.b': {'values': [1, 2]}})
    with pytest.raises(ValueError, match='sets "a.b", which the sweep'):
        LocalSweepRunner(spec, str(tmp_path), cfg_options=['a.b=3'])
    runner = LocalSweepRunner(spec, str(tmp_path), cfg_options=['c=1'], python='py')
    assert runner.trials() == [('b-1', {'a.b': 1}), ('b-2', {'a.b': 2})]
    assert runner.trial_command('b-1', {'a.b': 1}, resume=True) == [
        'py', 'tools/train.py', 'configs/acr/vit-tiny_toy.py', '--cfg-options', 'a.b=1',
        '--work-dir', osp.join(str(tmp_path), 'b-1'), '--resume', '--cfg-options', 'c=1']
