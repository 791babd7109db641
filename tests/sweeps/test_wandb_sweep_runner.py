import math

import pytest
import yaml

from projects.acr.sweeps import read_agent_params, trial_name


def test_agent_params_file(tmp_path, make_spec):
    # The file the W&B agent writes for each run (WANDB_SWEEP_PARAM_PATH).
    from wandb.sdk.lib.config_util import save_config_file_from_dict
    spec = make_spec('grid', {'model.acr_loss.loss_weight': {'values': [0, 125]},
                              'optim_wrapper.optimizer.lr': {'values': [0.05]}})
    path = str(tmp_path / 'config-run.yaml')
    save_config_file_from_dict(path, {'optim_wrapper.optimizer.lr': {'value': 0.05},
                                      'model.acr_loss.loss_weight': {'value': 125}})
    params = read_agent_params(path, spec)
    assert list(params.items()) == [('model.acr_loss.loss_weight', 125),
                                    ('optim_wrapper.optimizer.lr', 0.05)]
    with open(path, 'w') as f:
        yaml.safe_dump({'optim_wrapper.optimizer.lr': {'value': 0.05}}, f)
    with pytest.raises(ValueError, match='no value for parameter "model.acr_loss.loss_weight"'):
        read_agent_params(path, spec)
    assert math.isclose(params['optim_wrapper.optimizer.lr'], 0.05)


def test_run_names_are_readable_and_distinct(make_spec):
    spec = make_spec('grid', {'model.acr_loss.loss_weight': {'values': [0, 125]},
                              'optim_wrapper.optimizer.lr': {'values': [0.05, 1 / 3]},
                              'train_cfg.max_epochs': {'value': 1}})
    base = {'train_cfg.max_epochs': 1}
    assert trial_name(spec, dict(base, **{'model.acr_loss.loss_weight': 125,
                                          'optim_wrapper.optimizer.lr': 0.05})) == \
        'loss_weight-125_lr-0.05'
    # A rounded float gets a hash of the exact values.
    a = trial_name(spec, dict(base, **{'model.acr_loss.loss_weight': 0,
                                       'optim_wrapper.optimizer.lr': 1 / 3}))
    b = trial_name(spec, dict(base, **{'model.acr_loss.loss_weight': 0,
                                       'optim_wrapper.optimizer.lr': 0.33333}))
    assert a.startswith('loss_weight-0_lr-0.3333_') and a != b


def test_agent_trials_run_the_program_and_leave_their_result(tmp_path, monkeypatch, fake_repo):
    # The server's side (wandb.sweep, wandb.agent) replaced by what it does for one run:
    # write the run's parameters and call the trial function.
    import wandb
    from sweep_fakes import fake_spec_dict, fake_value, launches
    from wandb.sdk.lib.config_util import save_config_file_from_dict

    from projects.acr.sweeps import parse_sweep_spec, run_wandb_sweep
    spec = parse_sweep_spec(fake_spec_dict('random', {'x': {'min': 0.0, 'max': 6.0},
                                                      'epochs': {'value': 2}}), 'fake.yaml')
    monkeypatch.setenv('ACR_TOOLS_DIR', str(fake_repo / 'tools'))
    sent = {}

    def agent(sweep_id, function, project, entity, count):
        for i, x in enumerate((2.5, 4.0)):
            path = str(tmp_path / f'params{i}.yaml')
            save_config_file_from_dict(path, {'x': {'value': x}, 'epochs': {'value': 2}})
            monkeypatch.setenv('WANDB_SWEEP_PARAM_PATH', path)
            monkeypatch.setenv('WANDB_RUN_ID', f'run{i}')
            function()
        sent['sweep_id'] = sweep_id

    monkeypatch.setattr(wandb, 'sweep', lambda sweep, project, entity: 'sweep-1')
    monkeypatch.setattr(wandb, 'agent', agent)
    results = run_wandb_sweep(spec, str(tmp_path / 'sweep'), project='p')
    assert sent['sweep_id'] == 'sweep-1'
    assert [(r.name, r.status) for r in results] == [('x-2.5-run0', 'done'), ('x-4-run1', 'done')]
    assert [r.best for r in results] == [pytest.approx(fake_value(2.5, epoch=2)),
                                         pytest.approx(fake_value(4.0, epoch=2))]
    (launch, ) = launches(tmp_path / 'sweep' / 'x-2.5-run0')
    assert launch['name'] == 'x-2.5-run0' and 'x=2.5' in launch['argv']
