"""Image-id list files: one id per line."""
from typing import List, Sequence

from ...utils.atomic_io import atomic_open


def parse_id_list(data: bytes, source: str) -> List[str]:
    """Image ids of a list file's bytes, one per line (blank lines skipped, order kept).

    Raises:
        ValueError: Not UTF-8 text, or a line with more than one field (naming ``source``).
    """
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError as e:
        raise ValueError(f'{source}: not a text list of image ids: {e}') from e
    ids = [line.strip() for line in text.splitlines() if line.strip()]
    bad = [i for i in ids if len(i.split()) != 1]
    if bad:
        raise ValueError(f'{source}: lines with more than one field, e.g. {bad[0]!r}; '
                         'expected one image id per line')
    return ids


def write_id_list(path: str, ids: Sequence[str]) -> None:
    """Writes ids one per line (with a final newline), atomically."""
    with atomic_open(path, 'w') as f:
        f.write(''.join(i + '\n' for i in ids))
