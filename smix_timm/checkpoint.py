"""The one reader of timm ``train.py`` checkpoints, for both sides of the project, and the one place
where the trainer's writes into a run folder handle faults.

timm's ``CheckpointSaver`` writes a dict with ``state_dict``, optionally
``state_dict_ema`` (``--model-ema``), ``arch`` (``args.model``), ``epoch``,
``metric``, ``optimizer`` and ``args`` (the run's ``argparse.Namespace``); a bare
state dict (names -> tensors, as torchvision ships) is accepted too.

* ``read_timm_checkpoint(path)`` -> ``TimmCheckpoint``: the chosen weights (EMA
  first, as timm's ``load_state_dict(use_ema=True)``), wrapper prefixes removed,
  the classifier head set aside. ``smix_mmdet`` hands these to mmdet backbones.
* ``load_timm_checkpoint(path)`` rebuilds the timm model around them (CAM, paper
  sec. 4.3; FGSM, sec. 4.4) with the data config the run validated with.

**Weights-only policy.** Every read is ``torch.load(weights_only=True)``, never
turned off. The only class a timm checkpoint pickles beyond tensors and plain
values is ``argparse.Namespace``; it is lent to torch's allow-list for the
duration of the read (``torch.serialization.safe_globals``) and only if it was not
allow-listed already, so the process-wide allow-list is left as it was.
Rebuilding a Namespace cannot run code: the weights-only unpickler creates it
with no arguments and fills its ``__dict__`` with the saved plain values, and
the class defines no ``__setstate__`` or ``__reduce__`` of its own. Anything else
a file pickles is refused, with a message saying what and why
(``explain_refused_load``).

**Writing.** ``atomic_checkpoint_saver`` is timm's ``CheckpointSaver`` with every file
appearing whole or not at all; ``run_folder_writes`` turns a failed write (disk full,
file-size limit, read-only folder, a file in the way) into one ``OutputWriteError`` line
naming the folder, the likely cause and the last resumable epoch, and removes the
temporary files; ``atomic_write_text`` writes small text files the same way.
"""
from __future__ import annotations

import argparse
import errno
import os
import pickle
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch

from ._files import atomic_write

__all__ = ["CheckpointError", "CheckpointInfo", "TimmCheckpoint", "read_checkpoint", "read_timm_checkpoint",
           "load_timm_checkpoint", "strip_wrapper_prefixes", "explain_refused_load", "OutputWriteError",
           "run_folder_writes", "write_fault_cause", "describe_resumable", "atomic_write_text",
           "atomic_checkpoint_saver"]

# args of timm's train.py that decide the eval transform (as timm's train.py passes vars(args))
DATA_ARGS = ("input_size", "img_size", "in_chans", "mean", "std", "crop_pct", "crop_mode", "interpolation")
WRAPPER_PREFIXES = ("module.", "_orig_mod.")


class CheckpointError(ValueError):
    """The file is not a loadable timm checkpoint (unreadable, refused, wrong content, unknown arch)."""


@dataclass
class CheckpointInfo:
    """What was loaded, for summaries and for building the eval transform."""
    path: str
    arch: str
    num_classes: int
    weights: str                      # 'state_dict_ema', 'state_dict' or 'bare state dict'
    epoch: Optional[int] = None
    metric: Optional[float] = None
    args: Dict[str, Any] = field(default_factory=dict)
    data_config: Dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        parts = [f"{self.path}: {self.arch}", f"{self.num_classes} classes", f"weights {self.weights}"]
        if self.epoch is not None:
            parts.append(f"epoch {self.epoch}")
        if isinstance(self.metric, (int, float)):
            parts.append(f"metric {self.metric:.4g}")
        return ", ".join(parts)


def read_checkpoint(path: Union[str, os.PathLike], map_location: Any = "cpu", hint: str = "") -> Any:
    """``torch.load(path, weights_only=True)`` with ``argparse.Namespace`` lent (see the module docstring).

    Args:
        path: the checkpoint file.
        map_location: as ``torch.load``.
        hint: a sentence appended to the missing-file message (e.g. which config option sets the path).
    Raises:
        FileNotFoundError: no such file.
        CheckpointError: a directory, an empty or damaged file, another format, or a file that pickles
            something outside the allow-list (the message says what).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint {path!r} does not exist; pass a file written by timm's train.py or "
                                f"tools/train.py (e.g. output/train/<experiment>/model_best.pth.tar){hint}")
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint {path!r} is a directory, not a file; pass the .pth.tar file inside it, "
                              f"e.g. {os.path.join(path, 'model_best.pth.tar')}")
    if os.path.getsize(path) == 0:
        raise CheckpointError(f"checkpoint {path!r} is empty (0 bytes): an interrupted copy or save; "
                              "copy it again or point to another checkpoint")
    # torch's safe_globals() context *removes* its globals on exit, even ones that were allow-listed before
    # (e.g. by smix_mmdet for mmengine's own loads): only lend what is not already there.
    lend = [g for g in (argparse.Namespace,) if g not in torch.serialization.get_safe_globals()]
    try:
        with torch.serialization.safe_globals(lend):
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(explain_refused_load(path, str(err))) from err
    except Exception as err:  # a damaged or foreign file makes torch raise many kinds (KeyError, EOFError, ...)
        raise CheckpointError(unreadable_message(path, err)) from err


def unreadable_message(path: str, err: BaseException) -> str:
    """One line for a file ``torch.load`` could not read at all, quoting torch's first line."""
    reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return (f"checkpoint {path!r} could not be read by torch.load (damaged, truncated or not a torch file): "
            f"{reason}; copy it again or point to another checkpoint")


_REFUSED_GLOBAL = re.compile(r"unsupported global[:\s]+(?:GLOBAL\s+)?([\w.]+)", re.IGNORECASE)
_BOILERPLATE = ("weights only load failed", "check the documentation", "please file an issue", "re-running")


def explain_refused_load(path: str, message: str) -> str:
    """Say in one sentence why ``torch.load(weights_only=True)`` refused ``path``, from torch's message.

    Two cases: the file pickles a callable or class outside the allow-list (loading it would call
    that, i.e. it can run code), or it is not a torch checkpoint at all (a plain pickle, another
    format); torch's own reason is quoted either way.
    """
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    details = [line for line in lines if not line.lower().startswith(_BOILERPLATE) and "WeightsUnpickler" not in line]
    refused = _REFUSED_GLOBAL.search(message)
    guard = next((line for line in details if "refuses" in line), None)  # an allow-list guard's own refusal
    if refused or guard:
        what = refused.group(1) if refused else f"a call the allow-list refuses ({guard})"
        return (f"checkpoint {path!r} was refused by torch.load(weights_only=True): it pickles {what}, which "
                "loading would call (it can run code). A timm or mmengine checkpoint holds only tensors, plain "
                "values and a few known classes; load this file only if you trust its source (then allow-list "
                "what it needs with torch.serialization.add_safe_globals)")
    reason = details[0] if details else (lines[-1] if lines else "no reason given")
    return (f"checkpoint {path!r} could not be read as a torch checkpoint: it is damaged or in another format "
            f"(e.g. a plain pickle; torch: {reason}); save it with torch.save or use the file train.py wrote")


def _tensor_dict(obj: Any) -> bool:
    return isinstance(obj, Mapping) and len(obj) > 0 and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())


def strip_wrapper_prefixes(state_dict: Mapping[str, Any], prefixes: Sequence[str] = WRAPPER_PREFIXES) -> Dict[str, Any]:
    """Remove DDP / ModelEma (``module.``) and ``torch.compile`` (``_orig_mod.``) prefixes, repeatedly.

    timm's ``clean_state_dict`` removes ``module.`` only and lets a later key overwrite an earlier
    one; here two keys that become equal raise instead (the file holds wrapped and unwrapped copies).

    Args:
        state_dict: tensor name -> value, as saved.
        prefixes: the wrapper prefixes to remove, each with its trailing dot.

    Returns:
        A new dict with the stripped names, in the same order.

    Raises:
        ValueError: two keys collide after stripping.
    """
    out: Dict[str, Any] = {}
    for key, value in state_dict.items():
        new = key
        while new.startswith(tuple(prefixes)):
            new = next(new[len(p):] for p in prefixes if new.startswith(p))
        if new in out:
            raise ValueError(f"state dict keys collide after removing wrapper prefixes {tuple(prefixes)}: "
                             f"{key!r} -> {new!r}; the checkpoint holds wrapped and unwrapped copies, save the "
                             "model unwrapped")
        out[new] = value
    return out


@dataclass
class TimmCheckpoint:
    """The weights of a timm checkpoint, ready for a model or a backbone (``read_timm_checkpoint`` makes it).

    Args:
        path: the file read.
        state_dict: the chosen weights, wrapper prefixes removed, the classifier head set aside.
        source: the top-level key the weights came from ('state_dict_ema', 'state_dict', ...) or
            'bare state dict'.
        arch: timm's model name as the checkpoint records it, or None.
        epoch: the epoch the checkpoint was saved at, or None.
        metric: the checkpoint's recorded eval metric, or None.
        head: the classifier head's tensors, kept apart from ``state_dict``.
        available: the top-level weights entries the file holds, of ``state_dict_ema``, ``model_ema``,
            ``state_dict`` and ``model``; empty for a bare state dict.
        args: the training run's argparse arguments as a dict (empty for a bare state dict).
    """
    path: str
    state_dict: Dict[str, torch.Tensor]   # the chosen weights, prefixes removed, head set aside
    source: str                           # top-level key used ('state_dict_ema', ...) or 'bare state dict'
    arch: Optional[str] = None
    epoch: Optional[int] = None
    metric: Optional[float] = None
    head: Dict[str, torch.Tensor] = field(default_factory=dict)
    available: List[str] = field(default_factory=list)  # the weights entries found (see above)
    args: Dict[str, Any] = field(default_factory=dict)  # the run's argparse args, as a dict

    def describe(self) -> str:
        """One line saying what was read, for logs and error messages."""
        parts = [f"{self.path}: {self.source}"]
        if self.arch:
            parts.append(f"timm arch '{self.arch}'")
        if self.epoch is not None:
            parts.append(f"epoch {self.epoch}")
        parts.append(f"{len(self.state_dict)} tensors")
        if self.head:
            parts.append(f"classifier head set aside ({', '.join(self.head)})")
        return ", ".join(parts)


def _in_prefixes(key: str, prefixes: Sequence[str]) -> bool:
    return any(key == p or key.startswith(p + ".") for p in prefixes)


def read_timm_checkpoint(path: Union[str, os.PathLike], use_ema: bool = True, head_prefixes: Sequence[str] = ("fc",),
                         map_location: Any = "cpu", hint: str = "") -> TimmCheckpoint:
    """Read a timm checkpoint's weights (the one reader of both sides).

    Args:
        path: a timm ``train.py`` checkpoint (``*.pth.tar``) or a bare state dict saved with ``torch.save``.
        use_ema: take ``state_dict_ema`` (or ``model_ema``) when there is one, as timm's
            ``load_state_dict(use_ema=True)``; False takes ``state_dict`` (or ``model``).
        head_prefixes: module names of the classifier head (timm ``pretrained_cfg['classifier']``, e.g.
            ``fc``, ResNet's, by default; ``()`` keeps everything); their tensors go to
            ``TimmCheckpoint.head`` instead of ``state_dict``.
        map_location: as ``torch.load``.
        hint: appended to the missing-file message (see ``read_checkpoint``).
    Returns:
        ``TimmCheckpoint``.
    Raises:
        FileNotFoundError, CheckpointError: as ``read_checkpoint``; CheckpointError (a ValueError) also
            when the file holds no state dict of tensors, or only EMA weights and ``use_ema=False``.
    """
    path = os.fspath(path)
    raw = read_checkpoint(path, map_location=map_location, hint=hint)
    if not isinstance(raw, Mapping):
        raise CheckpointError(f"checkpoint {path!r} holds a {type(raw).__name__}, not a dict: not a timm checkpoint "
                              "(a dict with 'state_dict') nor a state dict saved with torch.save(model.state_dict())")
    available = [k for k in ("state_dict_ema", "model_ema", "state_dict", "model") if _tensor_dict(raw.get(k))]
    ema = [k for k in available if k.endswith("_ema")]
    plain = [k for k in available if not k.endswith("_ema")]
    if use_ema and ema:
        source = ema[0]
    elif plain:
        source = plain[0]
    elif ema:
        raise CheckpointError(f"checkpoint {path!r} holds only EMA weights ({ema[0]}) but use_ema=False asks for the "
                              "plain ones; use the EMA weights (use_ema=True)")
    elif _tensor_dict(raw):
        source = "bare state dict"
    else:
        keys = ", ".join(map(str, list(raw)[:12]))
        raise CheckpointError(f"checkpoint {path!r} has no state dict of tensors among its keys [{keys}]: not a timm "
                              "checkpoint ('state_dict', optional 'state_dict_ema') nor a bare state dict")
    tensors = strip_wrapper_prefixes(raw if source == "bare state dict" else raw[source])
    head = {k: v for k, v in tensors.items() if _in_prefixes(k, head_prefixes)}
    wrapped = source != "bare state dict"
    return TimmCheckpoint(
        path=path, state_dict={k: v for k, v in tensors.items() if k not in head}, source=source,
        arch=raw.get("arch") if wrapped and isinstance(raw.get("arch"), str) else None,
        epoch=raw.get("epoch") if wrapped and isinstance(raw.get("epoch"), int) else None,
        metric=raw.get("metric") if wrapped and isinstance(raw.get("metric"), (int, float)) else None,
        head=head, available=available, args=_args_dict(raw) if wrapped else {})


def _args_dict(raw: Mapping) -> Dict[str, Any]:
    args = raw.get("args") if isinstance(raw, Mapping) else None
    if isinstance(args, argparse.Namespace):
        return dict(vars(args))
    return dict(args) if isinstance(args, Mapping) else {}


def _register_project_models() -> None:
    try:
        import smix_timm.models  # noqa: F401  (CIFAR nets of the paper, registered in timm)
    except ImportError:
        pass


def _resolve_arch(saved: Optional[str], args: Dict[str, Any], arch: Optional[str], path: str) -> str:
    import timm
    _register_project_models()
    name = arch or args.get("model") or saved
    if not name:
        raise CheckpointError(f"{path!r} names no architecture ('arch' / args.model); pass arch=NAME (--arch)")
    if not timm.is_model(str(name)):
        raise CheckpointError(f"{path!r}: unknown architecture {name!r}: timm has no such model "
                              "(timm.list_models()); if it is a custom model, import the module that "
                              "registers it first, or pass arch=NAME (--arch)")
    return str(name)


def _num_classes(state_dict: Dict[str, torch.Tensor], arch: str, args: Dict[str, Any], path: str) -> int:
    """Rows of the saved classifier (timm pretrained_cfg['classifier']), else args.num_classes."""
    from timm.models import get_pretrained_cfg_value
    try:
        head = get_pretrained_cfg_value(arch, "classifier")
    except Exception:  # a custom model registered without a pretrained cfg
        head = None
    heads = head if isinstance(head, (tuple, list)) else [head]
    for name in heads:
        weight = state_dict.get(f"{name}.weight") if name else None
        if weight is not None and weight.dim() >= 2:
            return int(weight.shape[0])
    if args.get("num_classes"):
        return int(args["num_classes"])
    raise CheckpointError(f"{path!r}: cannot tell the number of classes (no classifier '{head}.weight' in the "
                          "state dict and no args.num_classes)")


def load_timm_checkpoint(path: Union[str, os.PathLike], use_ema: bool = True, arch: Optional[str] = None,
                         device: Union[str, torch.device] = "cpu") -> Tuple[torch.nn.Module, CheckpointInfo]:
    """Rebuild and load the model of a timm checkpoint; returns (model in eval mode, CheckpointInfo).

    ``use_ema`` takes ``state_dict_ema`` when the run kept one (as timm's
    ``load_checkpoint(use_ema=True)``). ``arch`` overrides the checkpoint's
    architecture (needed for a bare state dict).
    """
    import timm
    from timm.data import resolve_data_config

    path = os.fspath(path)
    ckpt = read_timm_checkpoint(path, use_ema=use_ema, head_prefixes=())  # the whole model, head included
    weights, state_dict, args = ckpt.source, ckpt.state_dict, ckpt.args
    name = _resolve_arch(ckpt.arch, args, arch, path)
    num_classes = _num_classes(state_dict, name, args, path)
    kwargs = dict(args.get("model_kwargs") or {})
    for key, arg in (("in_chans", "in_chans"), ("global_pool", "gp")):
        if args.get(arg) is not None:
            kwargs[key] = args[arg]
    try:
        model = timm.create_model(name, pretrained=False, num_classes=num_classes, **kwargs)
    except Exception as err:
        raise CheckpointError(f"{path!r}: timm.create_model({name!r}, num_classes={num_classes}) failed: "
                              f"{err}") from err
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as err:
        raise CheckpointError(f"{path!r}: the {weights} weights do not fit timm's {name!r} "
                              f"(wrong --arch, or a different model configuration):\n{err}") from err
    model.eval().to(device)
    data_args = {k: args[k] for k in DATA_ARGS if args.get(k) not in (None, "", [])}
    if isinstance(data_args.get("input_size"), list):
        data_args["input_size"] = tuple(data_args["input_size"])
    info = CheckpointInfo(
        path=path, arch=name, num_classes=num_classes, weights=weights,
        epoch=ckpt.epoch, metric=ckpt.metric,
        args=args, data_config=resolve_data_config(data_args, model=model))
    return model, info


# ------------------------------------------------------------------------------------------ writing
# What a failed write most likely means, by errno, and what to do; shown in the one-line error of a write fault.
_SPACE = "free space (or raise the limit) or choose another --output"
_PLACE = "choose another --output"
_WRITE_CAUSES = {
    errno.ENOSPC: ("the disk is full", _SPACE),
    errno.EDQUOT: ("the disk quota is used up", _SPACE),
    errno.EFBIG: ("a file-size limit was hit (ulimit -f)", _SPACE),
    errno.EROFS: ("the file system is read-only", _PLACE),
    errno.EACCES: ("the folder is not writable for this user (permissions)", _PLACE),
    errno.EPERM: ("the folder is not writable for this user (permissions)", _PLACE),
    errno.ENOTDIR: ("a part of the path is a file, not a folder", _PLACE),
    errno.EEXIST: ("a file of that name is in the way of the folder", _PLACE),
    errno.EISDIR: ("a folder of that name is in the way of the file", _PLACE),
    errno.ENAMETOOLONG: ("the path is too long", _PLACE),
    errno.EIO: ("the disk reported an input/output error", _SPACE),
}
# torch.save reports a short write from its C++ writer as a RuntimeError with one of these texts
_TORCH_WRITE_FAILURES = ("unexpected pos", "file write failed", "pytorchstreamwriter failed")


class OutputWriteError(Exception):
    """A file of a run's output folder could not be written (disk full, size limit, read-only, a file in the
    way). The message is one line: the folder, what was being written, the likely cause, and what can be
    resumed. No temporary file is left behind."""


def write_fault_cause(err: BaseException) -> Optional[Tuple[str, str]]:
    """The likely cause of a failed write and what to do, or None when ``err`` is not a write fault.

    Args:
        err: what a write raised: an ``OSError`` (its errno decides the cause) or torch's ``RuntimeError``
            for a short write inside ``torch.save``.

    Returns:
        (cause, advice), e.g. ("the disk is full", "free space ... or choose another --output"), or None for
        anything that is not a failed write.
    """
    if isinstance(err, OSError):
        return _WRITE_CAUSES.get(err.errno, (err.strerror or type(err).__name__, _PLACE))
    if isinstance(err, RuntimeError) and any(t in str(err).lower() for t in _TORCH_WRITE_FAILURES):
        return "the disk is full or a file-size limit was hit (torch.save could not finish the file)", _SPACE
    return None


def describe_resumable(folder: str, epoch: Optional[int]) -> str:
    """The sentence of a write-fault message that says what the run can continue from.

    Args:
        folder: the run folder.
        epoch: the last epoch whose checkpoint is complete in ``folder/last.pth.tar``, or None.
    """
    last = os.path.join(folder, "last.pth.tar")
    if epoch is None or not os.path.isfile(last):
        return "no epoch was saved yet, so there is nothing to resume"
    return f"the last resumable epoch is {epoch}: --resume {last} continues at epoch {epoch + 1}"


@contextmanager
def run_folder_writes(folder: str, what: str, resumable: Optional[Callable[[], str]] = None,
                      temporaries: Sequence[str] = (), appending: Sequence[str] = ()):
    """Turn a failed write into the folder into one :class:`OutputWriteError`, removing temporary files.

    The one place where the trainer's writers (checkpoints, ``summary.csv``, ``args.yaml``, images) handle
    faults. Whatever the block raises, the files in ``temporaries`` are removed when present (a half-written
    ``tmp.pth.tar`` is never resumable), and the files in ``appending`` are cut back to their size at entry
    (no half-written row in ``summary.csv``). A write fault (see :func:`write_fault_cause`) becomes one
    line; anything else propagates unchanged. Clear error rather than retry: a full disk or a read-only folder
    needs the user to act, and training on without checkpoints would lose the work silently.

    Args:
        folder: the run folder (named in the message).
        what: what was being written, e.g. "the checkpoint of epoch 3".
        resumable: gives the sentence on what can be resumed (see :func:`describe_resumable`).
        temporaries: files to remove when the block fails.
        appending: files the block appends to.

    Raises:
        OutputWriteError: the block failed to write.
    """
    sizes = {path: os.path.getsize(path) for path in appending if os.path.isfile(path)}
    try:
        yield
    except BaseException as err:
        for path in appending:
            try:
                if path in sizes:
                    os.truncate(path, sizes[path])
                elif os.path.isfile(path):
                    os.remove(path)
            except OSError:
                pass
        for path in temporaries:
            try:
                if os.path.lexists(path):
                    os.remove(path)
            except OSError:
                pass
        fault = write_fault_cause(err) if isinstance(err, Exception) else None
        if fault is None:
            raise
        cause, advice = fault
        detail = err.strerror if isinstance(err, OSError) and err.strerror else \
            (str(err).strip().splitlines() or [type(err).__name__])[0]
        named = os.fspath(err.filename) if isinstance(err, OSError) and err.filename else ""
        where = f" ({named})" if named and os.path.normpath(str(named)) != os.path.normpath(folder) else ""
        after = f"; {resumable()}" if resumable is not None else ""
        raise OutputWriteError(f"cannot write {what} in {folder}{where}: {cause} ({detail}); {advice}{after}") \
            from None


def _file_stamp(path: str):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, so that a failed write
    leaves the old file (or none), never a truncated one.

    Raises:
        OSError: the write failed; the temporary file is removed.
    """
    atomic_write(path, text)


def atomic_checkpoint_saver(resumed_epoch: Optional[int] = None, **kwargs):
    """A timm ``CheckpointSaver`` whose every file appears whole or not at all.

    timm's saver writes ``tmp.pth.tar`` / ``recovery_tmp.pth.tar`` and renames them, but where hard links
    are not allowed it copies a file straight to its final name, so a full disk could leave a truncated
    ``checkpoint-N.pth.tar`` or ``model_best.pth.tar``. This one copies to a temporary name and renames,
    records the epoch that ``last.pth.tar`` holds (``last_saved_epoch``, set also when a later step of the
    same save failed) and lists its temporary files (``temporaries()``) for :func:`run_folder_writes`.

    Args:
        resumed_epoch: the epoch ``last.pth.tar`` already holds when a run continues in its folder.
        **kwargs: timm's ``CheckpointSaver`` arguments.

    Returns:
        The saver (a subclass of timm's ``CheckpointSaver``).
    """
    return _atomic_saver_class()(resumed_epoch=resumed_epoch, **kwargs)


_SAVER_CLASS = None


def _atomic_saver_class():
    global _SAVER_CLASS
    if _SAVER_CLASS is not None:
        return _SAVER_CLASS
    from timm.utils import CheckpointSaver

    class _AtomicSaver(CheckpointSaver):
        def __init__(self, *args, resumed_epoch: Optional[int] = None, **kwargs):
            super().__init__(*args, **kwargs)
            self.last_saved_epoch = resumed_epoch

        def temporaries(self) -> List[str]:
            return [os.path.join(self.checkpoint_dir, "tmp" + self.extension),
                    os.path.join(self.recovery_dir, "recovery_tmp" + self.extension)]

        def _duplicate(self, src, dst):
            partial = f"{dst}.partial"
            try:
                super()._duplicate(src, partial)
                os.replace(partial, dst)
            except BaseException:
                if os.path.lexists(partial):
                    os.remove(partial)
                raise

        def save_checkpoint(self, epoch, metric=None):
            last = os.path.join(self.checkpoint_dir, "last" + self.extension)
            before = _file_stamp(last)
            try:
                return super().save_checkpoint(epoch, metric)
            finally:
                if _file_stamp(last) != before:  # last.pth.tar now holds this epoch, even if a later step failed
                    self.last_saved_epoch = epoch

    _SAVER_CLASS = _AtomicSaver
    return _SAVER_CLASS
