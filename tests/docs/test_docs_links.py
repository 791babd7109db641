"""The README and the docs pages point at things that exist and show commands that parse.

Checked in README.md, docs/**/*.md and configs/**/README.md:

* every relative link (``[text](path)``, ``![alt](path)``) names a file or folder of the
  repository, and an anchor (``page.md#section``) names a heading of that page;
* every ``configs/...``, ``tools/...`` and ``demo/...`` path in the text exists (a path
  with ``*`` must match at least one file);
* every Python tool a command runs (``python tools/X.py ...``) answers ``--help`` with
  status 0, and every ``--option`` the shown commands give it is one of its options.

The tools' ``--help`` runs in one subprocess, each tool executed there as ``__main__``
in turn, so that the check costs one interpreter start, not one per tool.
"""
import glob
import json
import os.path as osp
import re
import shlex
import subprocess
import sys
from typing import Dict, Iterator, List, Set, Tuple

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

LINK = re.compile(r'!?\[[^\]]*\]\(([^)\s]+)\)')
# A repository path: not part of a longer path, URL or another repository's file name.
PATH = re.compile(r'(?<![\w./:@-])((?:configs|tools|demo)/[\w.*/-]*[\w*/])')
TOOL = re.compile(r'^(?:tools|demo)/[\w/-]+\.py$')
HEADING = re.compile(r'^#{1,6}\s+(.*?)\s*#*\s*$')
FENCE = re.compile(r'^```')

HELP_PROBE = r'''
import contextlib, io, json, runpy, sys
results = {}
for path in sys.argv[1:]:
    out = io.StringIO()
    sys.argv = [path, '--help']
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            runpy.run_path(path, run_name='__main__')
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException as exc:  # reported, not raised: the other tools still run
        code, out = 1, io.StringIO(f'{type(exc).__name__}: {exc}')
    results[path] = dict(code=code, text=out.getvalue())
sys.stdout.write(json.dumps(results))
'''


def doc_pages() -> List[str]:
    """The pages checked, relative to the repository root."""
    pages = ['README.md']
    pages += sorted(glob.glob('docs/**/*.md', root_dir=REPO, recursive=True))
    pages += sorted(glob.glob('configs/**/README.md', root_dir=REPO, recursive=True))
    return pages


def read(page: str) -> str:
    with open(osp.join(REPO, page), encoding='utf-8') as f:
        return f.read()


def heading_slugs(text: str) -> Set[str]:
    """GitHub's anchors of a page's headings (lower case, punctuation dropped, - for space)."""
    slugs, counts, in_code = set(), {}, False
    for line in text.splitlines():
        if FENCE.match(line):
            in_code = not in_code
            continue
        match = None if in_code else HEADING.match(line)
        if match:
            title = re.sub(r'[`*_]|\[([^\]]*)\]\([^)]*\)', r'\1', match.group(1))
            slug = re.sub(r'[^\w\- ]', '', title.lower()).replace(' ', '-')
            n = counts.get(slug, 0)
            counts[slug] = n + 1
            slugs.add(slug if n == 0 else f'{slug}-{n}')
    return slugs


def relative_links(page: str) -> Iterator[str]:
    for target in LINK.findall(read(page)):
        if not re.match(r'^[a-z][a-z0-9+.-]*:', target):  # http:, https:, mailto:
            yield target


def named_paths(page: str) -> Iterator[str]:
    for path in PATH.findall(read(page)):
        yield path.rstrip('.')


def commands(page: str) -> Iterator[Tuple[str, List[str]]]:
    """(tool, arguments) of every ``python tools/X.py ...`` shown in a page.

    Lines continued with a backslash are joined; a command ends at a comment, a pipe, a
    ``;`` or ``&&``. Inline code spans count as well as fenced blocks.
    """
    text = read(page).replace('\\\n', ' ')
    lines = []
    in_code = False
    for line in text.splitlines():
        if FENCE.match(line):
            in_code = not in_code
        elif in_code:
            lines.append(line)
        else:
            lines += re.findall(r'`([^`]+)`', line)
    for line in lines:
        for match in re.finditer(r'(?:^|\s)((?:tools|demo)/[\w/-]+\.py)(\s.*)?$', line):
            tool, rest = match.group(1), match.group(2) or ''
            rest = re.split(r'\s#|\s\||;|&&', rest)[0]
            try:
                args = shlex.split(rest)
            except ValueError as exc:
                raise AssertionError(f'{page}: cannot split the command {line!r}: {exc}')
            yield tool, args


@pytest.mark.parametrize('page', doc_pages())
def test_relative_links_exist(page: str) -> None:
    base = osp.dirname(osp.join(REPO, page))
    missing = []
    for target in relative_links(page):
        path, _, anchor = target.partition('#')
        file = osp.normpath(osp.join(base, path)) if path else osp.join(REPO, page)
        if not osp.exists(file):
            missing.append(f'{target} (no such file)')
        elif anchor and file.endswith('.md'):
            with open(file, encoding='utf-8') as f:
                if anchor not in heading_slugs(f.read()):
                    missing.append(f'{target} (no heading #{anchor})')
    assert not missing, f'{page}: broken links: {missing}'


@pytest.mark.parametrize('page', doc_pages())
def test_named_paths_exist(page: str) -> None:
    missing = []
    for path in named_paths(page):
        full = osp.join(REPO, path)
        found = glob.glob(full) if '*' in path else osp.exists(full)
        if not found:
            missing.append(path)
    assert not missing, f'{page} names paths that do not exist: {missing}'


def test_slugs_follow_github() -> None:
    text = '# Train and test\n## ACR under any crop / scale / flip pair\n## `--resume`, and more\n'
    assert heading_slugs(text) == {'train-and-test', 'acr-under-any-crop--scale--flip-pair',
                                   '--resume-and-more'}


def test_commands_are_found() -> None:
    page = 'README.md'
    tools = {tool for tool, _ in commands(page)}
    assert 'tools/infer_cam.py' in tools and 'tools/run_pipeline.py' in tools


@pytest.fixture(scope='module')
def tool_help() -> Dict[str, Dict[str, object]]:
    """``--help`` of every Python tool the pages run: exit status and text."""
    tools = sorted({tool for page in doc_pages() for tool, _ in commands(page)
                    if osp.isfile(osp.join(REPO, tool))})
    proc = subprocess.run([sys.executable, '-c', HELP_PROBE, *tools], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_tools_answer_help(tool_help: Dict[str, Dict[str, object]]) -> None:
    assert tool_help, 'no tool commands found in the docs'
    failing = {tool: r['text'][-500:] for tool, r in tool_help.items() if r['code'] != 0}
    assert not failing, f'tools whose --help fails: {failing}'
    for tool, result in tool_help.items():
        assert 'usage:' in result['text'], f'{tool} --help printed no usage'


@pytest.mark.parametrize('page', doc_pages())
def test_shown_options_exist(page: str, tool_help: Dict[str, Dict[str, object]]) -> None:
    unknown = []
    for tool, args in commands(page):
        if not TOOL.match(tool) or not osp.isfile(osp.join(REPO, tool)):
            continue  # a missing tool is reported by test_named_paths_exist
        known = set(re.findall(r'(?<![\w-])(--[\w-]+)', tool_help[tool]['text']))
        for arg in args:
            if arg.startswith('--') and len(arg) > 2:
                option = arg.split('=', 1)[0]
                if option not in known:
                    unknown.append(f'{tool} {option}')
    assert not unknown, f'{page} shows options the tools do not have: {sorted(set(unknown))}'
