import os.path as osp
import sys

import pytest

from projects.acr.pipeline import pipeline_step
from projects.acr.pipeline.pipeline_step import (TOOLS_DIR_ENV, find_tools_dir, project_root,
                                                 python_command)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def fake_tools(folder):
    folder.mkdir(parents=True)
    for name in ('train.py', 'infer_cam.py', 'make_pseudo_labels.py'):
        (folder / name).write_text('')
    return str(folder)


def test_checkout_tools_are_found_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.delenv(TOOLS_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert find_tools_dir() == osp.join(ROOT, 'tools')
    assert project_root() == ROOT
    command = python_command('tools/train.py', 'cfg.py')
    assert command == [sys.executable, osp.join(ROOT, 'tools', 'train.py'), 'cfg.py']
    # Other scripts are left as given.
    assert python_command('/x/y.py')[1] == '/x/y.py'


def test_the_environment_variable_wins(tmp_path, monkeypatch):
    tools = fake_tools(tmp_path / 'checkout' / 'tools')
    monkeypatch.setenv(TOOLS_DIR_ENV, tools)
    assert find_tools_dir() == tools
    assert project_root() == str(tmp_path / 'checkout')
    monkeypatch.setenv(TOOLS_DIR_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match=f'{TOOLS_DIR_ENV}=.*does not hold the tools'):
        find_tools_dir()


def test_installed_package_without_tools_is_an_error_naming_the_places(tmp_path, monkeypatch):
    """A non-editable install: no tools next to the package; the working directory counts."""
    site = tmp_path / 'site-packages' / 'projects' / 'acr' / 'pipeline'
    site.mkdir(parents=True)
    monkeypatch.setattr(pipeline_step, '__file__', str(site / 'pipeline_step.py'))
    monkeypatch.delenv(TOOLS_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match='site-packages.*set ' + TOOLS_DIR_ENV):
        find_tools_dir()
    tools = fake_tools(tmp_path / 'tools')
    assert find_tools_dir() == tools
