import glob
import os.path as osp

import pytest

from projects.acr.sweeps import SweepSpecError, expand_command, load_sweep_spec, parse_sweep_spec
from projects.acr.sweeps.local_sweep_runner import repo_root

COMMAND = ['${env}', '${interpreter}', '${program}', 'configs/acr/vit-tiny_toy.py',
           '--cfg-options', '${args_no_hyphens}']


@pytest.mark.parametrize('path', sorted(glob.glob(osp.join(repo_root(), 'configs', 'sweeps',
                                                           '*.yaml'))))
def test_shipped_specs_parse(path):
    spec = load_sweep_spec(path)
    assert spec.metric == 'cam/mIoU' and spec.goal == 'maximize'
    assert osp.isfile(osp.join(repo_root(), spec.program))
    assert osp.isfile(osp.join(repo_root(), spec.config_file))


def test_voc_spec_maps_parameters_onto_config_keys():
    spec = load_sweep_spec(osp.join(repo_root(), 'configs/sweeps/acr_alpha_lr_startlayer_voc.yaml'))
    assert list(spec.parameters) == ['model.acr_loss.loss_weight', 'optim_wrapper.optimizer.lr',
                                     'model.head.start_layer']
    assert spec.config_file == 'configs/acr/vit_voc.py'
    assert spec.parameters['optim_wrapper.optimizer.lr'].distribution == 'log_uniform_values'


def test_parse_fields_and_defaults(make_spec):
    spec = make_spec(name='my-sweep', run_cap=5)
    assert (spec.name, spec.method, spec.run_cap) == ('my-sweep', 'random', 5)
    p = spec.parameters
    assert p['model.acr_loss.loss_weight'].distribution == 'categorical'
    assert p['train_cfg.max_epochs'].distribution == 'constant'
    assert not p['train_cfg.max_epochs'].varies
    # W&B's default for min/max: int_uniform with integer bounds, uniform otherwise.
    spec = make_spec(parameters={'a': {'min': 1, 'max': 3}, 'b': {'min': 0.5, 'max': 1}})
    assert spec.parameters['a'].distribution == 'int_uniform'
    assert spec.parameters['b'].distribution == 'uniform'
    assert spec.name == 'test'  # the file's stem


@pytest.mark.parametrize('change, message', [
    (dict(method='hyperband'), "sweeps/test.yaml: method must be one of grid, random, bayes, "
                               "got 'hyperband'"),
    (dict(metric=None), 'sweeps/test.yaml: metric is missing'),
    (dict(metric={'goal': 'maximize'}), 'sweeps/test.yaml: metric is missing'),
    (dict(metric={'name': 'cam/mIoU', 'goal': 'up'}), 'metric.goal must be maximize'),
    (dict(parameters={'model.head.start_layer': {'distribution': 'int_uniform'}}),
     'sweeps/test.yaml: parameters.model.head.start_layer has no values'),
    (dict(parameters={'a': {'values': []}}), 'parameters.a.values must be a non-empty list'),
    (dict(parameters={'a': 3}), 'parameters.a must be a mapping'),
    (dict(parameters={'a': {'distribution': 'gamma', 'min': 0, 'max': 1}}),
     'parameters.a.distribution "gamma" is not supported'),
    (dict(parameters={'a': {'distribution': 'q_uniform', 'min': 0, 'max': 1, 'q': 0}}),
     'parameters.a.q must be positive'),
    (dict(early_terminate=[1]), 'sweeps/test.yaml: early_terminate must be a mapping'),
    (dict(parameters={'a': {'min': 2, 'max': 1}}), 'parameters.a: min 2 is greater than max 1'),
    (dict(parameters={'a': {'min': '1e-3', 'max': 0.1}}),
     "parameters.a.min must be a number, got '1e-3' (YAML reads 1e-3 as text"),
    (dict(parameters={'a': {'parameters': {'b': {'value': 1}}}}), 'nested parameters'),
    (dict(parameters={}), 'parameters is missing or empty'),
    (dict(method='grid', parameters={'a': {'min': 0.1, 'max': 1.0}}),
     'parameters.a: grid search needs "values"'),
    (dict(command=['${interpreter}', '${program}', '${args_json_file}']),
     'command uses ${args_json_file}'),
    (dict(command=['${interpreter}', '${program}']), 'command must pass the parameters'),
    (dict(program=None), 'program is missing'),
])
def test_bad_specs_name_file_and_key(change, message):
    raw = dict(program='tools/train.py', method='random',
               metric=dict(name='cam/mIoU', goal='maximize'),
               parameters={'a': {'values': [1, 2]}}, command=COMMAND)
    raw.update(change)
    raw = {k: v for k, v in raw.items() if v is not None}
    with pytest.raises(SweepSpecError) as info:
        parse_sweep_spec(raw, 'sweeps/test.yaml')
    assert message in str(info.value)
    assert 'sweeps/test.yaml' in str(info.value)


def test_wandb_distributions_parse_with_their_defaults(make_spec):
    spec = make_spec(parameters={
        'q': {'distribution': 'q_uniform', 'min': 0, 'max': 10},
        'n': {'distribution': 'normal'},
        'b': {'distribution': 'beta', 'a': 2},
    }, early_terminate={'type': 'hyperband', 'min_iter': 3})
    p = spec.parameters
    assert (p['q'].distribution, p['q'].q) == ('q_uniform', 1)
    assert p['n'].shape == {'mu': 0.0, 'sigma': 1.0}
    assert p['b'].shape == {'a': 2, 'b': 1.0}
    assert (spec.early_terminate.min_iter, spec.early_terminate.eta) == (3, 3)


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='sweep spec not found'):
        load_sweep_spec(str(tmp_path / 'missing.yaml'))
    bad = tmp_path / 'bad.yaml'
    # Unquoted macros in a flow list are not valid YAML.
    bad.write_text('command: [${env}, ${program}]\n')
    with pytest.raises(SweepSpecError, match='bad.yaml: not valid YAML'):
        load_sweep_spec(str(bad))


def test_expand_command_like_wandb(make_spec):
    spec = make_spec('grid', {'model.acr_loss.loss_weight': {'values': [0, 125]},
                              'optim_wrapper.optimizer.lr': {'values': [0.05]}})
    params = {'model.acr_loss.loss_weight': 125, 'optim_wrapper.optimizer.lr': 0.05}
    argv = expand_command(spec, params, '/usr/bin/python3', config='/tmp/small.py',
                          extra=['--work-dir', 'w'])
    assert argv == ['/usr/bin/python3', 'tools/train.py', '/tmp/small.py', '--cfg-options',
                    'model.acr_loss.loss_weight=125', 'optim_wrapper.optimizer.lr=0.05',
                    '--work-dir', 'w']
    # What wandb's own agent makes of the same command.
    from wandb.sdk.launch.sweeps.utils import create_sweep_command_args
    ours = expand_command(spec, params, 'python')
    theirs = create_sweep_command_args({'args': {k: {'value': v} for k, v in params.items()}})
    assert ours[4:] == theirs['args_no_hyphens']
