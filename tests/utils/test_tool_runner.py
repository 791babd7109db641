import os
import os.path as osp
import sys
import time

import pytest

from projects.acr.utils.tool_runner import (TOOLS_DIR_ENV, find_tools_dir, log_tail, repo_root,
                                            run_process, tool_command)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_tools_of_the_checkout_and_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.delenv(TOOLS_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert find_tools_dir() == osp.join(ROOT, 'tools')
    assert repo_root(('train.py', 'infer_cam.py')) == ROOT
    assert tool_command('tools/test.py', 'a', python='py') == [
        'py', osp.join(ROOT, 'tools', 'test.py'), 'a']
    assert tool_command('other.py', python='py') == ['py', 'other.py']

    tools = tmp_path / 'checkout' / 'tools'
    tools.mkdir(parents=True)
    (tools / 'train.py').write_text('')
    monkeypatch.setenv(TOOLS_DIR_ENV, str(tools))
    assert repo_root() == str(tmp_path / 'checkout')
    with pytest.raises(FileNotFoundError, match=r'holds no infer_cam.py, so it does not hold'):
        find_tools_dir(('train.py', 'infer_cam.py'))


def test_a_package_without_tools_names_the_places_tried(tmp_path, monkeypatch):
    monkeypatch.delenv(TOOLS_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    anchor = tmp_path / 'site-packages' / 'projects' / 'acr' / 'utils' / 'x.py'
    with pytest.raises(FileNotFoundError, match='site-packages.*set ' + TOOLS_DIR_ENV):
        find_tools_dir(anchor=str(anchor))


def test_run_to_the_end_with_a_log(tmp_path):
    log = tmp_path / 'out.log'
    argv = [sys.executable, '-c', 'import sys; print("hello"); sys.exit(3)']
    assert run_process(argv, cwd=str(tmp_path), log_path=str(log)) == (3, False)
    assert run_process(argv[:2] + ['print("again")'], log_path=str(log)) == (0, False)
    text = log.read_text()
    assert text.count('\n# ') == 2 and '$ ' + sys.executable in text
    assert 'hello' in text and text.rstrip().endswith('again')
    assert log_tail(str(log), 1) == 'again\n'
    assert log_tail(str(tmp_path / 'missing.log')) == ''


def test_env_and_cwd_reach_the_program(tmp_path):
    out = tmp_path / 'seen.txt'
    code = f'import os; open({str(out)!r}, "w").write(os.getcwd() + " " + os.environ["X_RUN"])'
    run_process([sys.executable, '-c', code], cwd=str(tmp_path),
                env=dict(os.environ, X_RUN='yes'))
    assert out.read_text() == f'{tmp_path} yes'


def test_an_isolated_program_is_stopped_with_its_children(tmp_path):
    marker = tmp_path / 'child.pid'
    # The program starts a grandchild and sleeps; stopping must end both.
    code = ('import subprocess, sys, time\n'
            'p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])\n'
            f'open({str(marker)!r}, "w").write(str(p.pid))\n'
            'time.sleep(60)\n')
    polls = []

    def should_stop() -> bool:
        polls.append(time.time())
        return marker.exists()

    start = time.time()
    code_, stopped = run_process([sys.executable, '-c', code], isolate=True,
                                 should_stop=should_stop, poll_interval=0.2)
    assert stopped and code_ != 0 and time.time() - start < 30
    pid = int(marker.read_text())
    for _ in range(50):  # the grandchild got the group's SIGTERM
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail('the grandchild outlived the stopped program')


def test_stopping_needs_isolation():
    with pytest.raises(ValueError, match='isolate=True'):
        run_process([sys.executable, '-c', ''], should_stop=lambda: True)
