"""Checks every analysis tool (and the demo) makes before its work: the split, the images, the output folder.

One place for them, so that the tools agree: a split that is not there is an error (timm's folder
reader would quietly read the whole data folder instead, train and validation together), an image
that cannot be decoded is named before any model runs, and an ``--out`` that cannot be a folder is
refused before minutes of computing.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import List, Sequence

from smix_timm.checkpoint import write_fault_cause
from smix_timm.train.data import split_folder


class OutputFolderError(ValueError):
    """``--out`` cannot be made or written; the message is one line that says why and what to do."""


def split_dir(data_dir: str, split: str, flag: str = "--split") -> str:
    """The folder of ``split`` in a timm-layout ``data_dir`` (timm's synonyms, e.g. val/validation, count).

    Clear error rather than timm's fallback: without the split folder, timm reads ``data_dir`` itself and
    evaluates every split together (under the split's name), a result that looks right and is not.

    Args:
        data_dir: the data folder, holding ``<split>/<class>/<image>``.
        split: the split's name (``validation``, ``test``, ...).
        flag: the option that sets ``split``, named in the message.

    Returns:
        The split's folder.

    Raises:
        FileNotFoundError: ``data_dir`` is missing, or has no folder for ``split`` (the message lists
            the folders it has).
    """
    if not os.path.isdir(data_dir):
        raise FileNotFoundError(f"data dir {data_dir!r} does not exist (or is not a folder)")
    folder = split_folder(data_dir, split)
    if folder is None:
        present = sorted(d for d in os.listdir(data_dir) if os.path.isdir(os.path.join(data_dir, d)))
        have = f"its folders: {', '.join(present[:8])}{', ...' if len(present) > 8 else ''}" if present \
            else "it has no folders"
        raise FileNotFoundError(f'no "{split}" split in {data_dir} ({have}); pass {flag} with the name of the '
                                f"split folder to use (timm's layout is {data_dir}/<split>/<class>/<image>)")
    return folder


def check_images(paths: Sequence[str]) -> List[str]:
    """Decode every image once, so that a non-image or truncated file is named before any model runs.

    Args:
        paths: image files.

    Returns:
        ``paths``, as a list.

    Raises:
        ValueError: a file that PIL cannot open or fully decode (the message names it).
    """
    from PIL import Image
    for path in paths:
        try:
            with Image.open(path) as img:
                img.load()
        except (OSError, SyntaxError, ValueError) as err:  # PIL's UnidentifiedImageError is an OSError
            raise ValueError(f"{path} cannot be read as an image (not an image, or truncated: {err}); remove it "
                             "from --images or replace it") from None
    return list(paths)


def check_out(out: str, flag: str = "--out") -> str:
    """Check, before the work, that ``out`` can be an output folder: not a file, no file among its parents.

    Args:
        out: the output folder (made later if missing).
        flag: the option that sets it, named in the message.

    Returns:
        ``out``.

    Raises:
        OutputFolderError: ``out`` or one of its parents is a file, or ``out`` is empty.
    """
    if not out:
        raise OutputFolderError(f"{flag} is empty; pass the folder to write to")
    path = os.path.abspath(out)
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    if not os.path.isdir(path):
        where = "is a file" if path == os.path.abspath(out) else f"is under {path}, which is a file"
        raise OutputFolderError(f"{flag} {out} {where}; pass a folder (it is made if missing)")
    return out


@contextmanager
def writing_out(out: str, flag: str = "--out"):
    """Make ``out`` and write into it; a failed write becomes one :class:`OutputFolderError` line.

    Args:
        out: the output folder.
        flag: the option that sets it, named in the message.

    Raises:
        OutputFolderError: the folder could not be made or written (read-only, disk full, a file in the way).
    """
    try:
        os.makedirs(out, exist_ok=True)
        yield out
    except OSError as err:
        cause, _ = write_fault_cause(err)
        raise OutputFolderError(f"cannot write to {flag} {out}: {cause} ({err.strerror or err}); choose another "
                                f"{flag}") from None
