"""Writing a file whole or not at all (the one helper the run folders and the data generators share)."""
from __future__ import annotations

import os
from typing import Union


def atomic_write(path: str, data: Union[str, bytes], partial_suffix: str = ".partial") -> None:
    """Write ``data`` to ``path`` through ``path + partial_suffix`` in the same folder, then rename it, so
    that a failed write leaves the old file (or none), never a truncated one.

    Args:
        path: the file to write (its folder must exist).
        data: text (written as UTF-8 by the platform default) or bytes.
        partial_suffix: the temporary name's suffix (the generators' ledger recognises its own).
    Raises:
        OSError: the write failed; the temporary file is removed.
    """
    partial = path + partial_suffix
    try:
        with open(partial, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        os.replace(partial, path)
    except BaseException:
        if os.path.lexists(partial):
            os.remove(partial)
        raise
