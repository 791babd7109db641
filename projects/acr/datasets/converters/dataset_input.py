"""A dataset as it is downloaded: an archive (tar, tgz, zip) or its extracted folder.

Both are read the same way: :meth:`DatasetInput.iter_files` walks the files of a few
sub-folders of the dataset's root (``VOC2012/`` in the VOC tar, ``dataset/`` in SBD's
``benchmark.tgz``) and yields :class:`SourceFile` objects that worker processes can read:
a path on disk for a folder, the bytes themselves for an archive member. An archive is
read in one sequential pass (a gzip stream cannot seek cheaply), and members nobody asked
for are skipped without being read.
"""
import hashlib
import os
import os.path as osp
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, Optional, Sequence, Tuple

from tqdm import tqdm

ARCHIVE_SUFFIXES = ('.tar', '.tar.gz', '.tgz', '.zip')


class ArchiveError(ValueError):
    """An archive that cannot be read to its end (truncated, corrupt, not an archive)."""


class ChecksumError(ValueError):
    """A file whose MD5 is not the published one."""


@dataclass
class SourceFile:
    """One input file: on disk (``path``) or read from an archive (``data``).

    Attributes:
        name (str): Where it came from, for messages (a path, or ``archive:member``).
        path (str, optional): The file on disk.
        data (bytes, optional): The content, for archive members.
    """

    name: str
    path: Optional[str] = None
    data: Optional[bytes] = None

    def read(self) -> bytes:
        """The file's bytes."""
        if self.data is not None:
            return self.data
        with open(self.path, 'rb') as f:
            return f.read()


def is_archive(path: str) -> bool:
    """Whether ``path`` names an archive file (by its suffix) rather than a folder."""
    return osp.isfile(path) and path.lower().endswith(ARCHIVE_SUFFIXES)


def file_md5(path: str, progress: bool = True, chunk_size: int = 1 << 22) -> str:
    """The MD5 hex digest of a file, read in chunks with a progress bar over the bytes."""
    digest = hashlib.md5()
    with open(path, 'rb') as f, tqdm(total=osp.getsize(path), unit='B', unit_scale=True,
                                     desc=f'MD5 of {osp.basename(path)}', mininterval=1.0,
                                     disable=not progress) as bar:
        for block in iter(lambda: f.read(chunk_size), b''):
            digest.update(block)
            bar.update(len(block))
    return digest.hexdigest()


def check_md5(path: str, expected: str, what: str, progress: bool = True) -> str:
    """Checks a downloaded file against its published MD5.

    Args:
        path (str): The file.
        expected (str): Published MD5 (hex).
        what (str): What the file should be, for the message (e.g. ``'SBD benchmark.tgz'``).
        progress (bool): Show a progress bar.

    Returns:
        str: The digest.

    Raises:
        ChecksumError: The digest differs; the message names the file and both digests.
    """
    got = file_md5(path, progress=progress)
    if got.lower() != expected.lower():
        raise ChecksumError(
            f'{path}: MD5 {got} is not the published {expected} of {what}: the download is '
            'incomplete or damaged, or it is another file. Download it again (or skip the '
            'check with --skip-md5 for a file you trust).')
    return got


def _relative_to_root(member: str, root_dirname: str) -> Optional[str]:
    """A member name relative to the first ``root_dirname/`` folder in it, or None."""
    parts = member.replace('\\', '/').strip('/').split('/')
    if root_dirname in parts[:-1]:
        return '/'.join(parts[parts.index(root_dirname) + 1:])
    return None


class DatasetInput:
    """A downloaded dataset, as an archive or as an extracted folder.

    Args:
        path (str): The archive file, or a folder: the dataset root itself, or a folder
            above it along ``root_parents``.
        root_dirname (str): Name of the dataset's root folder inside the archive
            (``'VOC2012'``, ``'dataset'``); archive members are named relative to it.
        marker (str): A sub-folder every root has (``'ImageSets/Segmentation'``,
            ``'cls'``), used to find the root inside a folder.
        what (str): The dataset's name, for messages.
        root_parents (Sequence[str]): Folders between a given folder and the root that are
            searched, e.g. ``('VOC2012', 'VOCdevkit/VOC2012')``.

    Raises:
        FileNotFoundError: ``path`` does not exist, or a folder holds no dataset root.
    """

    def __init__(self, path: str, root_dirname: str, marker: str, what: str,
                 root_parents: Sequence[str] = ()) -> None:
        if not osp.exists(path):
            raise FileNotFoundError(f'{what}: {path} does not exist')
        self.path = path
        self.what = what
        self.root_dirname = root_dirname
        self.archive = is_archive(path)
        self.root: Optional[str] = None
        if not self.archive:
            if not osp.isdir(path):
                raise FileNotFoundError(
                    f'{what}: {path} is neither a folder nor an archive '
                    f'({", ".join(ARCHIVE_SUFFIXES)})')
            candidates = [path] + [osp.join(path, p) for p in root_parents]
            found = [c for c in candidates if osp.isdir(osp.join(c, marker))]
            if not found:
                raise FileNotFoundError(
                    f'{what}: no {marker}/ folder in {path}' +
                    (f' nor in {", ".join(root_parents)} below it' if root_parents else '') +
                    ': is this the right folder?')
            self.root = found[0]

    def __repr__(self) -> str:
        return f'{self.what} ({"archive" if self.archive else "folder"} {self.path})'

    def iter_files(self, folders: Dict[str, str],
                   select: Optional[Callable[[str, str], bool]] = None
                   ) -> Iterator[Tuple[str, str, SourceFile]]:
        """The files of some sub-folders of the root, with a given suffix each.

        Args:
            folders (dict): Sub-folder (relative to the root, ``'/'``-separated, ``''`` for
                the root itself) -> file suffix, e.g. ``{'cls': '.mat', '': '.txt'}``. Only
                files directly in the sub-folder count.
            select (callable, optional): ``select(folder, stem)`` -> whether the file is
                wanted; unwanted archive members are not read. Defaults to all.

        Yields:
            tuple: ``(folder, stem, SourceFile)``; a folder's files sorted by name, an
            archive's in archive order.

        Raises:
            ArchiveError: The archive is truncated or corrupt (the message names it).
        """
        select = select or (lambda folder, stem: True)
        if self.archive:
            yield from self._iter_archive(folders, select)
            return
        for folder, suffix in folders.items():
            directory = osp.join(self.root, *folder.split('/')) if folder else self.root
            if not osp.isdir(directory):
                continue
            with os.scandir(directory) as it:
                names = sorted(e.name for e in it if e.is_file() and e.name.endswith(suffix))
            for name in names:
                stem = name[:-len(suffix)] if suffix else name
                if select(folder, stem):
                    path = osp.join(directory, name)
                    yield folder, stem, SourceFile(path, path=path)

    def _match(self, member: str, folders: Dict[str, str]) -> Optional[Tuple[str, str]]:
        rel = _relative_to_root(member, self.root_dirname)
        if rel is None:
            return None
        folder, _, name = rel.rpartition('/')
        suffix = folders.get(folder)
        if suffix is None or not name.endswith(suffix) or name.startswith('._'):
            # '._*' are macOS resource forks that some re-packed archives carry.
            return None
        return folder, name[:-len(suffix)] if suffix else name

    def _iter_archive(self, folders: Dict[str, str],
                      select: Callable[[str, str], bool]) -> Iterator[Tuple[str, str, SourceFile]]:
        if self.path.lower().endswith('.zip'):
            yield from self._iter_zip(folders, select)
            return
        try:
            # 'r|*': one forward pass over a plain or compressed tar.
            with tarfile.open(self.path, 'r|*') as tar:
                for member in tar:
                    if not member.isfile():
                        continue
                    hit = self._match(member.name, folders)
                    if hit is None or not select(*hit):
                        continue
                    data = tar.extractfile(member).read()
                    yield hit[0], hit[1], SourceFile(f'{self.path}:{member.name}', data=data)
        except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
            raise ArchiveError(f'{self.what}: cannot read the archive {self.path} to its end '
                               f'(truncated or corrupt? download it again): {e}') from e

    def _iter_zip(self, folders: Dict[str, str],
                  select: Callable[[str, str], bool]) -> Iterator[Tuple[str, str, SourceFile]]:
        try:
            with zipfile.ZipFile(self.path) as zf:
                for info in zf.infolist():
                    if info.is_dir():
                        continue
                    hit = self._match(info.filename, folders)
                    if hit is None or not select(*hit):
                        continue
                    data = zf.read(info)
                    yield hit[0], hit[1], SourceFile(f'{self.path}:{info.filename}', data=data)
        except (zipfile.BadZipFile, EOFError, zlib.error, OSError) as e:
            raise ArchiveError(f'{self.what}: cannot read the archive {self.path} '
                               f'(truncated or corrupt? download it again): {e}') from e
