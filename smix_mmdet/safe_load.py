"""Loading mmengine and timm checkpoints under torch >= 2.6 ``weights_only``.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``: the pickle
may only name globals that torch allows or that were registered with
``torch.serialization.add_safe_globals`` (torch docs, "torch.load" and
"Weights-only unpickler"). mmengine 0.10.7 calls ``torch.load`` without the
argument, so its ``load_from``, ``resume`` and mmdet's ``tools/test.py`` fail on
the checkpoints mmengine itself writes, and timm's ``train.py`` checkpoints
fail because they pickle the ``argparse.Namespace`` of the run.

``register_safe_globals()`` (called when ``smix_mmdet`` is imported) adds
exactly the globals these two checkpoint kinds contain, found by reading real
checkpoints with ``torch.serialization.get_unsafe_globals_in_checkpoint``:

* ``argparse.Namespace``: timm ``train.py`` ``args``;
* ``mmengine.logging.HistoryBuffer``: the message hub of mmengine checkpoints;
* numpy ``ndarray``/``dtype``/``_reconstruct``/``scalar`` and the DType
  classes of bool/int/float/complex dtypes (the arrays and scalars inside
  HistoryBuffer and the runtime info), under both the numpy 2
  (``numpy._core``) and numpy 1 (``numpy.core``) names;
* ``builtins.getattr``, but *only* as a restricted stand-in: protocol-2 pickles
  spell the ``HistoryBuffer.min``-style statistics methods as
  ``getattr(HistoryBuffer, 'min')``; the stand-in resolves those names on
  HistoryBuffer and refuses every other lookup, so the unpickler gains no
  general attribute access.

Everything else is still refused, and ``weights_only`` is never switched off.
"""
from __future__ import annotations

import argparse
import os
import pickle
from typing import Any, Callable, List, Tuple, Union

import numpy as np
import torch

from smix_timm.checkpoint import CheckpointError, explain_refused_load, unreadable_message

__all__ = [
    "register_safe_globals", "safe_globals_list", "allowed_global_names",
    "load_checkpoint_file", "CheckpointReadError"
]


class CheckpointReadError(CheckpointError):
    """An mmengine checkpoint file could not be read (truncated, refused); a CheckpointError."""


_DEFAULT_HISTORY_STATS = ("min", "max", "current", "mean")


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` restricted to mmengine HistoryBuffer statistics methods.

    pickle (protocol < 4) saves a function whose qualname is nested, such as
    ``HistoryBuffer.min``, as ``getattr(HistoryBuffer, 'min')``
    (CPython ``pickle.Pickler.save_global``). Only that lookup is allowed.
    """
    from mmengine.logging import HistoryBuffer
    allowed = set(_DEFAULT_HISTORY_STATS) | set(
        getattr(HistoryBuffer, "_statistics_methods", {}))
    if (obj is HistoryBuffer or type(obj) is HistoryBuffer) and \
            isinstance(name, str) and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f"smix_mmdet refuses getattr({obj!r}, {name!r}) while unpickling a "
        "checkpoint with weights_only=True: only the statistics methods of "
        "mmengine.logging.HistoryBuffer may be looked up this way.")


SafeGlobal = Union[Callable, Tuple[Callable, str]]


def safe_globals_list() -> List[SafeGlobal]:
    """Return the globals that ``register_safe_globals`` allow-lists."""
    from mmengine.logging import HistoryBuffer

    np_multiarray = np._core.multiarray if hasattr(
        np, "_core") else np.core.multiarray
    items: List[SafeGlobal] = [
        argparse.Namespace,
        HistoryBuffer,
        (_history_buffer_getattr, "builtins.getattr"),
        np.ndarray,
        np.dtype,
    ]
    for pkg in ("numpy._core", "numpy.core"):
        items.append((np_multiarray._reconstruct,
                      f"{pkg}.multiarray._reconstruct"))
        items.append((np_multiarray.scalar, f"{pkg}.multiarray.scalar"))
    # numpy >= 1.25: ``np.dtype('f8')`` is an instance of
    # ``numpy.dtypes.Float64DType``, and the unpickler only BUILDs (calls
    # ``__setstate__`` on) instances of allow-listed types.
    items.extend(_numeric_dtype_classes())
    return items


def _numeric_dtype_classes() -> List[type]:
    """The numpy DType classes of bool, integer, float and complex dtypes."""
    classes = []
    for char in "?bBhHiIlLqQefdgFDG":
        cls = type(np.dtype(char))
        if cls is not np.dtype and cls not in classes:
            classes.append(cls)
    return classes


def allowed_global_names() -> List[str]:
    """The ``module.name`` strings the allow-list adds (as torch spells them
    in ``get_unsafe_globals_in_checkpoint``)."""
    return [item[1] if isinstance(item, tuple) else
            f"{item.__module__}.{item.__qualname__}"
            for item in safe_globals_list()]


_REGISTERED = False


def register_safe_globals() -> None:
    """Allow-list the globals of timm and mmengine checkpoints (idempotent).

    Uses ``torch.serialization.add_safe_globals`` (torch >= 2.4); on older
    torch, whose ``torch.load`` does not default to ``weights_only=True``,
    nothing needs doing.
    """
    global _REGISTERED
    if _REGISTERED:
        return
    add = getattr(torch.serialization, "add_safe_globals", None)
    if add is not None:
        add(safe_globals_list())
    _REGISTERED = True


def load_checkpoint_file(path: Union[str, os.PathLike],
                         map_location: Any = "cpu") -> Any:
    """``torch.load(path, weights_only=True)`` with errors that say what to do.

    Args:
        path: the checkpoint file.
        map_location: passed to ``torch.load``; 'cpu' by default, so a GPU checkpoint opens anywhere.

    Returns:
        The unpickled object (a dict for timm and mmengine checkpoints); no code from the file runs.

    Raises:
        FileNotFoundError: ``path`` does not exist or is not a file.
        CheckpointReadError: the file is truncated, not a torch checkpoint, or
            pickles a class outside the allow-list.
    """
    register_safe_globals()
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"checkpoint {path!r} does not exist. Pass the file written by "
            "tools/train.py (e.g. output/train/<experiment>/model_best.pth.tar)"
            ", e.g. --cfg-options model.backbone.init_cfg.checkpoint=PATH")
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f'checkpoint {path!r} is not a file (a directory?). Point to the '
            '.pth.tar file itself, e.g. '
            f'{os.path.join(path, "model_best.pth.tar")}')
    if os.path.getsize(path) == 0:
        raise CheckpointReadError(
            f"checkpoint {path!r} is empty (0 bytes): an interrupted copy or "
            "save. Re-copy the file or point to another checkpoint.")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointReadError(explain_refused_load(path, str(err))) from err
    except Exception as err:  # torch raises many types for a bad file
        raise CheckpointReadError(unreadable_message(path, err)) from err
