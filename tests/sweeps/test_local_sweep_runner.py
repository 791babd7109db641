"""The Optuna sweep runner with a fake trial program: trials, budget, pruning, sharing, kills.

Workers that must run at once or be killed run in forked processes (they start at once,
with everything imported); their trials are FAKE_TRAIN subprocesses, as a real sweep's are.
"""
import json
import multiprocessing
import os
import os.path as osp
import signal
import time

import optuna
import pytest
from optuna.trial import TrialState
from sweep_fakes import fake_spec_dict, fake_value, launches

from projects.acr.sweeps import LocalSweepRunner, TrialSkipped, parse_sweep_spec, repo_root
from projects.acr.sweeps.local_sweep_runner import TRIAL_RECORD


def _runner(fake_repo, tmp_path, raw, **kwargs):
    spec = parse_sweep_spec(raw, 'configs/sweeps/fake.yaml')
    kwargs.setdefault('poll_interval', 0.05)
    kwargs.setdefault('plots', False)
    return LocalSweepRunner(spec, str(tmp_path / 'sweeps' / 'fake'), cwd=str(fake_repo),
                            **kwargs)


def _worker(raw, sweep_dir, env, kwargs):
    os.environ.update(env)
    spec = parse_sweep_spec(raw, 'configs/sweeps/fake.yaml')
    LocalSweepRunner(spec, sweep_dir, poll_interval=0.05, plots=False, **kwargs).run()


def _start_worker(raw, sweep_dir, env=None, **kwargs):
    proc = multiprocessing.get_context('fork').Process(
        target=_worker, args=(raw, sweep_dir, dict(env or {}), kwargs))
    proc.start()
    return proc


def _study(sweep_dir, name='fake'):
    url = 'sqlite:///' + osp.join(sweep_dir, 'study.db')
    return optuna.load_study(study_name=name, storage=url)


def _wait_for(predicate, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError('timed out')


def _process_gone(pid):
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().split(')')[-1].split()[0] in ('Z', 'X')
    except FileNotFoundError:
        return True


def test_overrides_and_command(tmp_path, make_spec):
    spec = make_spec('grid', {'a.b': {'values': [1, 2]}})
    with pytest.raises(ValueError, match='sets "a.b", which the sweep'):
        LocalSweepRunner(spec, str(tmp_path), cfg_options=['a.b=3'], cwd=str(tmp_path))
    with pytest.raises(ValueError, match='needs a number of trials'):
        LocalSweepRunner(make_spec(), str(tmp_path), cwd=str(tmp_path))
    runner = LocalSweepRunner(spec, str(tmp_path), cfg_options=['c=1'], python='py',
                              cwd=str(tmp_path))
    assert runner.budget == 2
    assert runner.trial_command('w', {'a.b': 1}, resume=True) == [
        'py', 'tools/train.py', 'configs/acr/vit-tiny_toy.py', '--cfg-options', 'a.b=1',
        '--work-dir', 'w', '--resume', '--cfg-options', 'c=1']


def test_repo_root_honours_acr_tools_dir(tmp_path, monkeypatch, fake_repo):
    checkout = repo_root()
    assert osp.isfile(osp.join(checkout, 'tools', 'train.py'))
    monkeypatch.setenv('ACR_TOOLS_DIR', str(fake_repo / 'tools'))
    assert repo_root() == str(fake_repo)
    monkeypatch.setenv('ACR_TOOLS_DIR', str(tmp_path / 'nowhere'))
    with pytest.raises(FileNotFoundError, match='ACR_TOOLS_DIR=.*nowhere holds no train.py'):
        repo_root()


def test_grid_runs_every_point_once_and_a_rerun_runs_nothing(fake_repo, tmp_path):
    raw = fake_spec_dict('grid', {'x': {'values': [0, 2, 3, 5]}, 'epochs': {'value': 3}})
    runner = _runner(fake_repo, tmp_path, raw, plots=True)
    results = runner.run()
    assert sorted((r.params['x'], r.best) for r in results) == [
        (x, pytest.approx(fake_value(x, epoch=3))) for x in (0, 2, 3, 5)]
    assert [r.params['x'] for r in results] == [3, 2, 5, 0]  # best first
    assert {r.status for r in results} == {'complete'}
    sweep_dir = runner.sweep_dir
    for t in runner.study.trials:
        work_dir = osp.join(sweep_dir, f'trial_{t.number:04d}')
        (launch, ) = launches(work_dir)
        assert f'x={t.params["x"]}' in launch['argv'] and 'epochs=3' in launch['argv']
        # Every trial is a W&B run of the sweep's group.
        assert launch['name'] == f'fake/trial_{t.number:04d}'
        assert launch['group'] == 'sweep-fake'
        assert t.intermediate_values == {
            k: pytest.approx(fake_value(t.params['x'], epoch=k)) for k in (1, 2, 3)}
        with open(osp.join(work_dir, TRIAL_RECORD)) as f:
            assert json.load(f)['params'] == {'x': t.params['x'], 'epochs': 3}
    with open(osp.join(sweep_dir, 'results.md')) as f:
        markdown = f.read()
    rows = [ln for ln in markdown.splitlines() if ln.startswith('| ') and 'rank' not in ln]
    assert [float(r.split('|')[3]) for r in rows] == [3, 2, 5, 0]
    assert ': 4 complete.' in markdown and '![param_importances](param_importances.png)' in markdown
    for name in ('optimization_history.png', 'param_importances.png',
                 'intermediate_values.png'):
        assert osp.getsize(osp.join(sweep_dir, name)) > 5000
    with open(osp.join(sweep_dir, 'results.json')) as f:
        assert len(json.load(f)['trials']) == 4

    # A rerun joins the finished study: nothing is launched again.
    again = _runner(fake_repo, tmp_path, raw)
    again.run()
    assert not again.created and len(again.study.trials) == 4
    assert all(len(launches(osp.join(sweep_dir, f'trial_{n:04d}'))) == 1 for n in range(4))


def test_the_budget_is_the_studys_total_over_reruns(fake_repo, tmp_path):
    raw = fake_spec_dict('random', {'x': {'min': 0.0, 'max': 6.0}, 'epochs': {'value': 2}})
    first = _runner(fake_repo, tmp_path, raw, count=2, seed=1)
    first.run()
    xs = [t.params['x'] for t in first.study.trials]
    # The same seed draws the same first trials.
    other = _runner(fake_repo, tmp_path / 'other', raw, count=2, seed=1)
    other.run()
    assert [t.params['x'] for t in other.study.trials] == xs
    more = _runner(fake_repo, tmp_path, raw, count=5, seed=1)
    more.run()
    trials = more.study.trials
    assert len(trials) == 5 and {t.state for t in trials} == {TrialState.COMPLETE}
    assert [t.params['x'] for t in trials[:2]] == xs
    assert sum(len(launches(t.user_attrs['work_dir'])) for t in trials) == 5


def test_a_trial_beyond_the_budget_is_skipped_not_run(fake_repo, tmp_path):
    raw = fake_spec_dict('random', {'x': {'min': 0.0, 'max': 6.0}, 'epochs': {'value': 1}})
    runner = _runner(fake_repo, tmp_path, raw, count=2)
    runner.run()
    # A worker that asked at the same moment as another gets a trial number beyond the
    # budget: it is recorded, not run.
    runner.study.optimize(runner.objective, n_trials=1, catch=(TrialSkipped, ))
    late = runner.study.trials[-1]
    assert late.number == 2 and late.state == TrialState.FAIL and 'skipped' in late.user_attrs
    assert not osp.exists(runner.trial_dir(2))
    assert len(runner.budget_trials(runner.study.trials)) == 2 and runner.is_finished()
    assert len([r for r in runner.report().splitlines() if r.startswith('| ')]) == 1 + 2


def test_the_pruner_stops_trials_on_their_logged_curve(fake_repo, tmp_path):
    raw = fake_spec_dict('random', {'x': {'min': 0.0, 'max': 6.0}, 'epochs': {'value': 6},
                                    'delay': {'value': 0.06}},
                         early_terminate={'type': 'hyperband', 'min_iter': 1, 'eta': 3})
    runner = _runner(fake_repo, tmp_path, raw, count=10, seed=0, poll_interval=0.02)
    results = runner.run()
    trials = runner.study.trials
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert pruned and complete and len(pruned) + len(complete) == 10
    for t in pruned:
        k = t.user_attrs['pruned_at']
        assert 1 <= k < 6
        # What the pruner saw is the logged curve, validation by validation...
        assert t.intermediate_values == {
            i: pytest.approx(fake_value(t.params['x'], epoch=i)) for i in range(1, k + 1)}
        # ...and the program was stopped at once: at most one more validation got logged.
        logged = [json.loads(ln) for d in os.listdir(t.user_attrs['work_dir'])
                  if osp.isdir(osp.join(t.user_attrs['work_dir'], d))
                  for ln in open(osp.join(t.user_attrs['work_dir'], d, 'vis_data',
                                          'scalars.json'))]
        assert k <= sum('cam/mIoU' in e for e in logged) <= k + 1 < 6
        assert len(launches(t.user_attrs['work_dir'])) == 1
        # Hyperband prunes a trial that is not among the best of its rung.
        rung = [c.intermediate_values[k] for c in trials if k in c.intermediate_values]
        assert t.intermediate_values[k] < max(rung)
    for t in complete:
        assert t.value == pytest.approx(fake_value(t.params['x'], epoch=6))
    assert sum(r.status.startswith('pruned after validation') for r in results) == len(pruned)


def test_a_failed_trial_is_recorded_and_not_rerun(fake_repo, tmp_path):
    raw = fake_spec_dict('grid', {'x': {'values': [1, 2]}, 'fail': {'value': 2}})
    runner = _runner(fake_repo, tmp_path, raw)
    results = runner.run()
    status = {r.params['x']: r.status for r in results}
    assert status == {1: 'complete', 2: 'failed (exit status 3)'}
    _runner(fake_repo, tmp_path, raw).run()
    failed = [t for t in runner.study.trials if t.state == TrialState.FAIL]
    assert len(failed) == 1 and failed[0].user_attrs['exit_code'] == 3
    with open(osp.join(failed[0].user_attrs['work_dir'], 'trial_output.log')) as f:
        assert f.read().count('boom') == 1  # not launched again


def test_a_work_dir_of_another_study_is_refused(fake_repo, tmp_path):
    raw = fake_spec_dict('grid', {'x': {'values': [1]}})
    _runner(fake_repo, tmp_path, raw).run()
    os.remove(tmp_path / 'sweeps' / 'fake' / 'study.db')  # a new study, old trial dirs
    runner = _runner(fake_repo, tmp_path, raw)
    with pytest.raises(ValueError, match='trial_0000 belongs to another study'):
        runner.run()
    assert len(launches(tmp_path / 'sweeps' / 'fake' / 'trial_0000')) == 1
    assert 'skipped' in runner.study.trials[0].user_attrs  # does not use up the budget


def test_two_workers_share_one_study_without_running_a_trial_twice(fake_repo, tmp_path):
    # The workers find tools/train.py through ACR_TOOLS_DIR (no cwd given).
    raw = fake_spec_dict('grid', {'x': {'values': [1, 2, 3, 4]}, 'y': {'values': [0, 1, 2]},
                                  'epochs': {'value': 2}, 'delay': {'value': 0.1}})
    sweep_dir = str(tmp_path / 'sweeps' / 'fake')
    env = {'ACR_TOOLS_DIR': str(fake_repo / 'tools')}
    workers = [_start_worker(raw, sweep_dir, env) for _ in range(2)]
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    trials = _study(sweep_dir).trials
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    points = sorted((t.params['x'], t.params['y']) for t in complete)
    assert points == [(x, y) for x in (1, 2, 3, 4) for y in (0, 1, 2)]  # each point once
    assert all(t.state == TrialState.COMPLETE or 'skipped' in t.user_attrs for t in trials)
    runs = [launch for t in complete for launch in launches(t.user_attrs['work_dir'])]
    assert len(runs) == 12  # nothing ran twice
    assert len({t.user_attrs['worker']['pid'] for t in complete}) == 2  # both worked
    for t in complete:
        assert t.value == pytest.approx(fake_value(t.params['x'], t.params['y'], epoch=2))


@pytest.mark.parametrize('kill', ['sigterm', 'sigkill', 'sigkill_other_node'])
def test_a_killed_workers_trial_is_requeued_and_resumed(fake_repo, tmp_path, kill):
    raw = fake_spec_dict('grid', {'x': {'values': [1, 2, 3]}, 'epochs': {'value': 4},
                                  'delay': {'value': 0.25}})
    sweep_dir = str(tmp_path / 'sweeps' / 'fake')
    env = {'ACR_TOOLS_DIR': str(fake_repo / 'tools')}
    worker = _start_worker(raw, sweep_dir, env, heartbeat_interval=1)

    # On another node the last trial is killed: a rerun finds the budget used up but for
    # a trial whose heartbeat stopped.
    victim_dir = osp.join(sweep_dir, 'trial_0002' if kill == 'sigkill_other_node' else
                          'trial_0000')
    _wait_for(lambda: osp.isfile(osp.join(victim_dir, 'epoch_1.pth')))
    (victim, ) = [t for t in _study(sweep_dir).trials if t.state == TrialState.RUNNING]
    trainer_pid = launches(victim.user_attrs['work_dir'])[0]['pid']
    os.kill(worker.pid, signal.SIGTERM if kill == 'sigterm' else signal.SIGKILL)
    worker.join(30)
    assert worker.exitcode != 0
    _wait_for(lambda: _process_gone(trainer_pid), 10)  # the training died with its worker
    study = _study(sweep_dir)
    killed = study.trials[victim.number]
    if kill == 'sigterm':
        # Stopped politely: re-queued at once.
        assert killed.state == TrialState.FAIL and killed.user_attrs['interrupted']
        assert study.trials[-1].state == TrialState.WAITING
    else:
        assert killed.state == TrialState.RUNNING  # nobody knows yet
    rerun = {}
    if kill == 'sigkill_other_node':
        # A worker elsewhere cannot see the process: the missing heartbeat tells it.
        study._storage.set_trial_user_attr(killed._trial_id, 'worker',
                                           {'host': 'another-node', 'pid': 1,
                                            'trial': killed.number})
        time.sleep(2.5)
        rerun = dict(heartbeat_interval=1, grace_period=2)
    again = _start_worker(raw, sweep_dir, env, **rerun)
    again.join(120)
    assert again.exitcode == 0

    trials = _study(sweep_dir).trials
    killed = trials[victim.number]
    assert killed.state == TrialState.FAIL
    (retry, ) = [t for t in trials if t.system_attrs.get('failed_trial') == victim.number]
    assert retry.state == TrialState.COMPLETE and retry.params == killed.params
    assert retry.value == pytest.approx(fake_value(retry.params['x'], epoch=4))
    first, second = launches(killed.user_attrs['work_dir'])
    assert '--resume' in second['argv'] and second['start'] >= 1  # from its checkpoint
    assert retry.user_attrs['work_dir'] == killed.user_attrs['work_dir']
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert sorted(t.params['x'] for t in complete) == [1, 2, 3]
    for t in complete:
        if t is not retry:
            assert len(launches(t.user_attrs['work_dir'])) == 1  # finished ones not rerun
    with open(osp.join(sweep_dir, 'results.md')) as f:
        assert f'killed, re-queued as trial {retry.number}' in f.read()
