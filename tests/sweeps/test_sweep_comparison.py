"""Trials to reach a reference's best and the time pruning saved, on hand-made studies."""
import datetime as dt
import os.path as osp
import runpy
import sys

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import FrozenTrial, TrialState

from projects.acr.sweeps.sweep_comparison import (best_value, comparison_table, load_sweep_study,
                                                  pruning_savings, trials_to_reach)

T0 = dt.datetime(2026, 1, 1)
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _add(study, state, value=None, curve=(), seconds=60.0, **system_attrs):
    number = len(study.trials)
    study.add_trial(FrozenTrial(
        number=number, state=state, value=value, values=None, datetime_start=T0,
        datetime_complete=T0 + dt.timedelta(seconds=seconds), params={'x': 1.0},
        distributions={'x': FloatDistribution(0, 2)}, user_attrs={},
        system_attrs=system_attrs,
        intermediate_values={i + 1: v for i, v in enumerate(curve)}, trial_id=number))


def _study(storage=None, name=None):
    return optuna.create_study(direction='maximize', storage=storage, study_name=name)


def test_trials_to_reach_counts_every_trial_that_ran():
    study = _study()
    _add(study, TrialState.COMPLETE, 40.0, [30, 35, 40])
    _add(study, TrialState.PRUNED, None, [20])                  # costs a trial
    _add(study, TrialState.FAIL, None, [41], retry_history=[])  # killed ...
    _add(study, TrialState.COMPLETE, 50.0, [45, 48, 50], failed_trial=2,
         retry_history=[2])                                      # ... and continued here
    _add(study, TrialState.COMPLETE, 55.0, [50, 52, 55])
    assert best_value(study) == 55.0
    assert trials_to_reach(study, 40.0) == 1
    assert trials_to_reach(study, 45.0) == 3  # the killed trial and its retry count once
    assert trials_to_reach(study, 55.0) == 4
    assert trials_to_reach(study, 56.0) is None
    assert trials_to_reach(study, 56.0, tolerance=1.0) == 4


def test_pruning_savings_extrapolate_the_pruned_trials():
    study = _study()
    _add(study, TrialState.COMPLETE, 40.0, [1, 2, 3, 4], seconds=120)
    _add(study, TrialState.PRUNED, None, [1], seconds=30)      # 3 validations short
    _add(study, TrialState.PRUNED, None, [1, 2], seconds=40)   # 2 short, 20 s each
    got = pruning_savings(study)
    assert got['spent'] == pytest.approx(190)
    assert got['saved'] == pytest.approx(30 * 3 + 20 * 2)
    assert got['fraction'] == pytest.approx(130 / 320)
    assert got['pruned'] == 2


def test_table_and_tool(tmp_path, monkeypatch, capsys):
    paths = {}
    for name, values in {'grid': [40, 50], 'tpe0': [45, 50, 30], 'tpe1': [50],
                         'rnd0': [30, 40, 45]}.items():
        sweep_dir = tmp_path / name
        sweep_dir.mkdir()
        study = _study('sqlite:///' + str(sweep_dir / 'study.db'), name)
        for v in values:
            _add(study, TrialState.COMPLETE, float(v), [v])
        _add(study, TrialState.PRUNED, None, [10], seconds=60)
        paths[name] = str(sweep_dir)
    table = comparison_table(load_sweep_study(paths['grid']),
                             {'tpe': [load_sweep_study(paths['tpe0']),
                                      load_sweep_study(paths['tpe1'])],
                              'random': [load_sweep_study(paths['rnd0'])]})
    assert table.startswith('Target: 50.00, the best of 3 reference trials ("grid")')
    assert '| tpe | 2 | 2/2 | 1.5 ± 0.7 | 2, 1 | 50.0 ± 0.0 | 2 |' in table
    assert '| random | 1 | 0/1 |  | >4 | 45.0 | 1 |' in table
    monkeypatch.setattr(sys, 'argv', ['compare_sweeps.py', paths['grid'], '--method', 'tpe',
                                      paths['tpe0'], paths['tpe1'], '--out',
                                      str(tmp_path / 'out.md')])
    with pytest.raises(SystemExit) as info:
        runpy.run_path(osp.join(ROOT, 'tools', 'analysis_tools', 'compare_sweeps.py'),
                       run_name='__main__')
    assert info.value.code == 0
    assert (tmp_path / 'out.md').read_text() in capsys.readouterr().out
    with pytest.raises(FileNotFoundError, match='holds no study.db'):
        load_sweep_study(str(tmp_path))
