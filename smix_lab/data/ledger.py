"""The list of files a data generator wrote, so that a rerun deletes only those files and only unchanged.

Each generator keeps, next to its marker, a ledger: one line per file it wrote, ``sha256 size path``
(path relative to the output folder, ``/``-separated), appended as soon as the file is complete. A file
is written to a temporary name and renamed, so it is whole when its line appears; an interrupted run
leaves a ledger of everything it finished. On a rerun, a file may be deleted or replaced only when the
ledger names it and its bytes still hash to the recorded value; anything else (a file the user put there,
one they edited, one of a real data set with a colliding name) stops the run with its name.
"""
from __future__ import annotations

import hashlib
import os
from typing import Dict, Iterable, List, Tuple

from smix_timm._files import atomic_write

TEMP_SUFFIX = ".smix-partial"  # a file being written; renamed when complete


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_digest(path: str) -> Tuple[str, int]:
    """(sha256 hex digest, size in bytes) of a file."""
    h, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def read_ledger(path: str) -> Dict[str, Tuple[str, int]]:
    """{relative path: (sha256, size)} from a ledger file; {} when there is none.

    Raises:
        ValueError: a line that is not ``sha256 size path`` (the file was damaged or edited).
    """
    if not os.path.isfile(path):
        return {}
    entries: Dict[str, Tuple[str, int]] = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            parts = line.rstrip("\n").split(" ", 2)
            if len(parts) != 3 or len(parts[0]) != 64 or not parts[1].isdigit():
                raise ValueError(f"{path} line {number} is not 'sha256 size path'")
            entries[parts[2]] = (parts[0], int(parts[1]))
    return entries


class Ledger:
    """Writes files into ``out`` and records each one in the ledger file ``out/name``.

    Args:
        out: the output folder (must exist).
        name: the ledger's file name in ``out``.
        fresh: start an empty ledger (True) or append to the one there (False).
    """

    def __init__(self, out: str, name: str, fresh: bool = True):
        self.out = out
        self.path = os.path.join(out, name)
        self._file = open(self.path, "w" if fresh else "a", encoding="utf-8")

    def write(self, rel: str, data: bytes) -> None:
        """Write ``data`` to ``out/rel`` (whole or not at all) and record it.

        Raises:
            OSError: the write failed; no partial file is left.
        """
        path = os.path.join(self.out, *rel.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic_write(path, data, TEMP_SUFFIX)
        self._file.write(f"{_digest(data)} {len(data)} {rel}\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def foreign_or_changed(out: str, names: Iterable[str], ledger: Dict[str, Tuple[str, int]]) -> List[str]:
    """Of ``names`` (relative paths), those present in ``out`` that the ledger does not vouch for: not
    recorded, or with other bytes than recorded (sorted)."""
    found = []
    for rel in sorted(set(names)):
        path = os.path.join(out, *rel.split("/"))
        if not os.path.lexists(path):
            continue
        recorded = ledger.get(rel)
        if recorded is None or not os.path.isfile(path) or os.path.islink(path) \
                or os.path.getsize(path) != recorded[1] or file_digest(path)[0] != recorded[0]:
            found.append(rel)
    return found


def remove_recorded(out: str, ledger: Dict[str, Tuple[str, int]], temporaries: Iterable[str] = ()) -> int:
    """Delete the ledger's files that are present (callers checked them first with
    :func:`foreign_or_changed`) and the temporary files of ``temporaries`` (relative paths a run may have
    been writing when it stopped); folders left empty go too.

    Returns:
        The number of files deleted.
    """
    removed, folders = 0, set()
    names = set(ledger) | set(temporaries)
    for rel in names:
        path = os.path.join(out, *rel.split("/"))
        for candidate in ((path, path + TEMP_SUFFIX) if rel in ledger else (path + TEMP_SUFFIX,)):
            if os.path.isfile(candidate) and not os.path.islink(candidate):
                os.remove(candidate)
                removed += 1
        folders.add(os.path.dirname(path))
    top = os.path.normpath(out)
    for folder in sorted(folders, key=len, reverse=True):
        folder = os.path.normpath(folder)
        while folder != top and folder.startswith(top + os.sep) and os.path.isdir(folder) \
                and not os.listdir(folder):
            os.rmdir(folder)
            folder = os.path.dirname(folder)
    return removed


def shorten(names: List[str], limit: int = 3) -> str:
    """'a, b, c, ... (N in all)' for a message."""
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")
