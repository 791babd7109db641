import glob
import json
import os
import os.path as osp
import socket
import struct
import threading
import time

import pytest
import torch
from mmengine.config import Config
from mmengine.visualization import Visualizer

from projects.acr.visualization import (AutoWandbVisBackend, config_to_wandb_dict,
                                        decide_wandb_mode, log_table, wandb_online_reason)

TIMESTAMP = '20240102_030405'


def read_offline_records(run_dir):
    """Records of an offline run (``run-*.wandb``: W&B's LevelDB-style log of protobufs).

    The file is a 7-byte header, then 32 KiB blocks of chunks, each with a 7-byte header
    (crc32, little-endian length, type: 1 full, 2 first, 3 middle, 4 last).
    """
    from wandb.proto import wandb_internal_pb2 as pb

    (path, ) = glob.glob(osp.join(run_dir, 'run-*.wandb'))
    with open(path, 'rb') as f:
        data = f.read()
    assert data[:4] == b':W&B'
    block, pos, pending, records = 32768, 7, b'', []
    while pos + 7 <= len(data):
        if block - pos % block < 7:
            pos += block - pos % block
            continue
        _, length, kind = struct.unpack('<IHB', data[pos:pos + 7])
        chunk = data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind == 1:
            records.append(chunk)
        elif kind in (2, 3):
            pending += chunk
        elif kind == 4:
            records.append(pending + chunk)
            pending = b''
    parsed = []
    for raw in records:
        rec = pb.Record()
        rec.ParseFromString(raw)
        parsed.append(rec)
    return parsed


def offline_run(save_dir, wait=10.0):
    """(run dir, run record, config, artifact records) of the offline run under save_dir.

    W&B's service may still be writing the file when ``finish`` returns: wait for the
    run's exit record.
    """
    runs = glob.glob(osp.join(save_dir, 'wandb', 'offline-run-*'))
    assert len(runs) == 1, runs
    deadline = time.monotonic() + wait
    while True:
        records = read_offline_records(runs[0])
        if any(r.WhichOneof('record_type') == 'exit' for r in records):
            break
        assert time.monotonic() < deadline, f'{runs[0]} has no exit record'
        time.sleep(0.1)
    run = next(r.run for r in records if r.WhichOneof('record_type') == 'run')
    config = {}
    for r in records:
        if r.WhichOneof('record_type') == 'config':
            config.update({i.key: json.loads(i.value_json) for i in r.config.update})
    artifacts = [r.artifact for r in records if r.WhichOneof('record_type') == 'artifact']
    return runs[0], run, config, artifacts


def make_backend(tmp_path, work_name='my_exp', **kwargs):
    save_dir = str(tmp_path / work_name / TIMESTAMP / 'vis_data')
    return AutoWandbVisBackend(save_dir, **kwargs), save_dir


@pytest.fixture
def no_key(monkeypatch, tmp_path):
    """No API key in the environment and an empty netrc."""
    monkeypatch.delenv('WANDB_API_KEY', raising=False)
    monkeypatch.delenv('WANDB_MODE', raising=False)
    netrc = tmp_path / 'netrc'
    netrc.write_text('')
    monkeypatch.setenv('NETRC', str(netrc))


def test_offline_without_api_key(no_key, monkeypatch):
    # An address that would hang if it were contacted: the key check comes first.
    monkeypatch.setenv('WANDB_BASE_URL', 'http://10.255.255.1:9')
    start = time.perf_counter()
    mode, reason = decide_wandb_mode()
    assert time.perf_counter() - start < 0.5
    assert mode == 'offline'
    assert 'API key' in reason


def test_netrc_entry_counts_as_key(no_key, monkeypatch, tmp_path):
    netrc = tmp_path / 'netrc_with_key'
    netrc.write_text('machine 127.0.0.1\n  login user\n  password ' + 'k' * 40 + '\n')
    netrc.chmod(0o600)
    monkeypatch.setenv('NETRC', str(netrc))
    monkeypatch.setenv('WANDB_BASE_URL', 'http://127.0.0.1:9')
    assert 'unreachable' in wandb_online_reason()


def test_wandb_mode_env_and_init_kwargs_win(no_key, monkeypatch):
    monkeypatch.setenv('WANDB_MODE', 'disabled')
    assert decide_wandb_mode() == ('disabled', 'WANDB_MODE')
    assert decide_wandb_mode(dict(mode='offline')) == ('offline', 'init_kwargs["mode"]')
    monkeypatch.setenv('WANDB_MODE', 'online')
    # The user asked for online: no probe, no override.
    assert decide_wandb_mode()[0] == 'online'


def test_closed_port_goes_offline_quickly(no_key, monkeypatch):
    monkeypatch.setenv('WANDB_API_KEY', 'k' * 40)
    monkeypatch.setenv('WANDB_BASE_URL', 'http://127.0.0.1:9')
    start = time.perf_counter()
    mode, reason = decide_wandb_mode()
    elapsed = time.perf_counter() - start
    assert mode == 'offline'
    assert '127.0.0.1:9 is unreachable' in reason
    assert elapsed < 2.0


def test_hanging_server_is_bounded_by_the_deadline(no_key, monkeypatch):
    # A listening socket whose accept queue is full drops further SYNs, so a connect
    # hangs: the probe must still return at its deadline.
    server = socket.socket()
    server.bind(('127.0.0.1', 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(3):
        sock = socket.socket()
        sock.setblocking(False)
        try:
            sock.connect(('127.0.0.1', port))
        except BlockingIOError:
            pass
        fillers.append(sock)
    time.sleep(0.1)
    monkeypatch.setenv('WANDB_API_KEY', 'k' * 40)
    monkeypatch.setenv('WANDB_BASE_URL', f'http://127.0.0.1:{port}')
    try:
        start = time.perf_counter()
        mode, reason = decide_wandb_mode(timeout=0.5)
        elapsed = time.perf_counter() - start
    finally:
        for sock in fillers + [server]:
            sock.close()
    assert mode == 'offline', reason
    assert elapsed < 1.0


def test_reachable_server_with_key_is_online(no_key, monkeypatch):
    server = socket.socket()
    server.bind(('127.0.0.1', 0))
    server.listen(4)
    monkeypatch.setenv('WANDB_API_KEY', 'k' * 40)
    monkeypatch.setenv('WANDB_BASE_URL', f'http://127.0.0.1:{server.getsockname()[1]}')
    try:
        assert decide_wandb_mode() == ('online', 'API key present and server reachable')
    finally:
        server.close()


def test_server_that_never_answers_falls_back_offline(no_key, monkeypatch, tmp_path):
    server = socket.socket()
    server.bind(('127.0.0.1', 0))
    server.listen(16)
    held = []

    def accept_and_hold():
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept_and_hold, daemon=True).start()
    monkeypatch.setenv('WANDB_API_KEY', 'k' * 40)
    monkeypatch.setenv('WANDB_BASE_URL', f'http://127.0.0.1:{server.getsockname()[1]}')
    backend, save_dir = make_backend(
        tmp_path, init_kwargs=dict(project='p', settings=dict(init_timeout=2)))
    try:
        backend.add_scalars({'cam/mIoU': 1.0})
        assert backend._init_kwargs['mode'] == 'offline'
        backend.close()
    finally:
        server.close()
    assert glob.glob(osp.join(save_dir, 'wandb', 'offline-run-*'))


def test_run_named_and_grouped_config_logged_as_dict(tmp_path, monkeypatch):
    monkeypatch.delenv('WANDB_NAME', raising=False)
    monkeypatch.delenv('WANDB_RUN_GROUP', raising=False)
    cfg_file = tmp_path / 'vit-tiny_toy_sweep.py'
    cfg_file.write_text('model = dict(type="ACRClassifier", head=dict(start_layer=1), '
                        'crop=(48, 48))\noptim_wrapper = dict(optimizer=dict(lr=0.01))\n')
    cfg = Config.fromfile(str(cfg_file))
    cfg.merge_from_dict({'optim_wrapper.optimizer.lr': 0.05})
    backend, save_dir = make_backend(tmp_path, init_kwargs=dict(project='acr-test'))
    backend.add_config(cfg)
    backend.add_scalars({'cam/mIoU': 41.5, 'cam/precision': 50.0}, step=1)
    backend.close()

    run_dir, run, config, artifacts = offline_run(save_dir)
    assert run_dir.startswith(str(tmp_path / 'my_exp' / TIMESTAMP))
    assert run.display_name == f'my_exp/{TIMESTAMP}'
    assert run.run_group == 'vit-tiny_toy_sweep'
    # The resolved config (override applied), nested, tuples as lists.
    assert config['model'] == {'type': 'ACRClassifier', 'head': {'start_layer': 1},
                               'crop': [48, 48]}
    assert config['optim_wrapper'] == {'optimizer': {'lr': 0.05}}
    # Only the package's sources are logged as code, no artifacts by default.
    assert [a.type for a in artifacts] == ['code']
    names = [c.path for a in artifacts for c in a.manifest.contents]
    assert 'visualization/auto_wandb_vis_backend.py' in names
    assert not any('site-packages' in n or n.startswith('.venv') for n in names)
    assert len(names) < 500


def test_name_and_group_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv('WANDB_NAME', 'trial-from-env')
    backend, save_dir = make_backend(tmp_path, init_kwargs=dict(group='ablation'),
                                     log_code=False)
    backend.add_config(Config(dict(a=1)))
    backend.close()
    _, run, config, artifacts = offline_run(save_dir)
    assert (run.display_name, run.run_group) == ('trial-from-env', 'ablation')
    assert config['a'] == 1 and artifacts == []

    backend, save_dir = make_backend(tmp_path, work_name='other',
                                     init_kwargs=dict(name='explicit'), log_code=False)
    backend.add_scalars({'x': 1})
    backend.close()
    _, run, _, _ = offline_run(save_dir)
    # No config file: the work dir names the group.
    assert (run.display_name, run.run_group) == ('explicit', 'other')


def test_config_to_wandb_dict_is_json_safe():
    cfg = Config(dict(a=(1, 2), b=dict(c=[dict(d=(3, ))]), e=None, f=torch.float32))
    out = config_to_wandb_dict(cfg)
    assert out == {'a': [1, 2], 'b': {'c': [{'d': [3]}]}, 'e': None, 'f': 'torch.float32'}
    json.dumps(out)


def test_add_table_offline_and_log_table(tmp_path):
    backend, save_dir = make_backend(tmp_path, log_code=False)
    local_dir = str(tmp_path / 'local')
    vis = Visualizer.get_instance(
        'test_add_table_offline', save_dir=local_dir,
        vis_backends=[dict(type='LocalVisBackend'), backend])
    columns = ['Class', 'IoU', 'Precision']
    rows = [['background', 80.5, 90.0], ['tiger', torch.tensor(41.25), 50]]
    assert log_table(vis, 'cam/per_class', columns, rows, step=3) == 1
    with pytest.raises(ValueError, match='row 0 has 2 cells for 3 columns'):
        backend.add_table('bad', columns, [['a', 1]])
    backend.close()

    run_dir = glob.glob(osp.join(save_dir, 'wandb', 'offline-run-*'))[0]
    (table_file, ) = glob.glob(osp.join(run_dir, 'files', 'media', 'table', 'cam',
                                        'per_class_*.table.json'))
    with open(table_file) as f:
        table = json.load(f)
    assert table['columns'] == columns
    assert table['data'] == [['background', 80.5, 90.0], ['tiger', 41.25, 50]]

    only_local = Visualizer.get_instance(
        'test_add_table_local_only', save_dir=str(tmp_path / 'local2'),
        vis_backends=[dict(type='LocalVisBackend')])
    assert log_table(only_local, 'cam/per_class', columns, rows) == 0


def test_artifacts_and_report_at_close(tmp_path):
    backend, save_dir = make_backend(tmp_path, log_code=False, log_artifacts=True)
    work_dir = tmp_path / 'my_exp'
    work_dir.mkdir(parents=True, exist_ok=True)
    torch.save({'state_dict': {'w': torch.zeros(2)}}, str(work_dir / 'best_cam_mIoU_epoch_2.pth'))
    backend.add_scalars({'cam/mIoU': 30.0, 'loss': 1.0}, step=1)
    backend.add_scalars({'cam/mIoU': 42.0}, step=2)
    backend.add_scalars({'cam/mIoU': 40.0}, step=3)
    backend.add_table('cam/per_class', ['Class', 'IoU'], [['background', 70.0], ['leaf', 14.0]],
                      step=3)
    backend.close()

    with open(work_dir / TIMESTAMP / 'evaluation_report.md') as f:
        report = f.read()
    assert '| 2 | 42.00 |' in report
    assert '| cam/mIoU | 42.00 | 2 | 40.00 |' in report
    assert '| leaf | 14.00 |' in report
    assert 'loss' not in report

    _, run, _, artifacts = offline_run(save_dir)
    by_type = {a.type: a for a in artifacts}
    # run_table: W&B stores logged tables as artifacts too.
    assert set(by_type) == {'model', 'evaluation', 'run_table'}
    assert by_type['model'].name == f'model-{run.run_id}'
    assert 'best' in by_type['model'].aliases
    assert [c.path for c in by_type['model'].manifest.contents] == ['best_cam_mIoU_epoch_2.pth']
    assert 'evaluation_report.md' in [c.path for c in by_type['evaluation'].manifest.contents]


def test_sweep_run_uses_the_agents_project(tmp_path, monkeypatch):
    monkeypatch.setenv('WANDB_SWEEP_ID', 'abc123')
    backend, _ = make_backend(tmp_path, init_kwargs=dict(project='acr-wsss', entity='me'))
    kwargs = backend.wandb_init_kwargs()
    assert 'project' not in kwargs and 'entity' not in kwargs
    assert kwargs['mode'] == os.environ['WANDB_MODE']


def test_reported_checkpoint_is_the_last_unless_the_best_was_kept(tmp_path):
    from projects.acr.visualization.wandb_artifacts import reported_checkpoint
    assert reported_checkpoint(str(tmp_path)) == (None, 'last')
    for epoch in (1, 2):
        torch.save({'state_dict': {'w': torch.zeros(2)}}, str(tmp_path / f'epoch_{epoch}.pth'))
    (tmp_path / 'epoch_3.pth').write_bytes(b'truncated')  # a run killed while saving
    assert reported_checkpoint(str(tmp_path)) == (str(tmp_path / 'epoch_2.pth'), 'last')
    torch.save({'state_dict': {}}, str(tmp_path / 'best_cam_mIoU_epoch_1.pth'))
    assert reported_checkpoint(str(tmp_path)) == (str(tmp_path / 'best_cam_mIoU_epoch_1.pth'),
                                                  'best')
