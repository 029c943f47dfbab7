"""Load a timm ``train.py`` checkpoint back into a timm model (for CAM, paper sec. 4.3, and FGSM, sec. 4.4).

timm's ``CheckpointSaver`` writes a dict with ``state_dict``, optionally
``state_dict_ema`` (``--model-ema``), ``arch`` (``args.model``), ``epoch``,
``metric``, ``optimizer`` and ``args`` (the run's ``argparse.Namespace``).
``load_timm_checkpoint(path)`` rebuilds the model with
``timm.create_model(arch, num_classes=<rows of the saved classifier>)``, loads
the weights strictly and returns it in eval mode with the data config the run
validated with (``resolve_data_config`` over the run's args, as timm's train.py).

torch >= 2.6 loads with ``weights_only=True``; the checkpoint pickles
``argparse.Namespace``, so exactly that class is allow-listed around the load
(``torch.serialization.safe_globals``). ``weights_only`` is never turned off.
"""
from __future__ import annotations

import argparse
import os
import pickle
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import torch

__all__ = ["CheckpointError", "CheckpointInfo", "read_checkpoint", "load_timm_checkpoint"]

# args of timm's train.py that decide the eval transform (as timm's train.py passes vars(args))
DATA_ARGS = ("input_size", "img_size", "in_chans", "mean", "std", "crop_pct", "crop_mode", "interpolation")
WRAPPER_PREFIXES = ("module.", "_orig_mod.")


class CheckpointError(RuntimeError):
    """The file is not a loadable timm checkpoint (unreadable, wrong content, unknown arch)."""


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


def read_checkpoint(path: Union[str, os.PathLike]) -> Any:
    """``torch.load(path, weights_only=True)`` with ``argparse.Namespace`` allowed; clear errors."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint {path!r} does not exist; pass a file written by timm's train.py "
                                "(e.g. output/train/<experiment>/model_best.pth.tar)")
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint {path!r} is a directory; pass the .pth.tar file inside it, "
                              f"e.g. {os.path.join(path, 'model_best.pth.tar')}")
    # torch's safe_globals() context *removes* its globals on exit, even ones that were allow-listed before
    # (e.g. by smix_mmdet for mmdet's own loads): only lend what is not already there.
    lend = [g for g in (argparse.Namespace,) if g not in torch.serialization.get_safe_globals()]
    if os.path.getsize(path) == 0:
        raise CheckpointError(f"checkpoint {path!r} is empty (0 bytes): an interrupted copy or save; "
                              "copy it again or point to another checkpoint")
    try:
        with torch.serialization.safe_globals(lend):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(explain_refused_load(path, str(err))) from err
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as err:
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise CheckpointError(f"checkpoint {path!r} could not be read by torch.load "
                              f"(damaged, truncated or not a torch file): {reason}") from err


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


def _strip_prefixes(state_dict: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Drop DDP/EMA ``module.`` and torch.compile ``_orig_mod.`` prefixes (as timm's clean_state_dict)."""
    out = {}
    for key, value in state_dict.items():
        new = key
        while new.startswith(WRAPPER_PREFIXES):
            new = new.split(".", 1)[1]
        out[new] = value
    return out


def _pick_weights(raw: Any, path: str, use_ema: bool) -> Tuple[str, Dict[str, torch.Tensor]]:
    if not isinstance(raw, Mapping):
        raise CheckpointError(f"{path!r} holds a {type(raw).__name__}, not a timm checkpoint "
                              "(a dict with 'state_dict', 'arch', 'args')")
    if _tensor_dict(raw):
        return "bare state dict", _strip_prefixes(raw)
    order = ("state_dict_ema", "model_ema", "state_dict") if use_ema else ("state_dict",)
    for key in order:
        if _tensor_dict(raw.get(key)):
            return key, _strip_prefixes(raw[key])
    keys = ", ".join(map(str, list(raw)[:12]))
    raise CheckpointError(f"{path!r} is not a timm checkpoint: no 'state_dict' of tensors among its keys [{keys}]")


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


def _resolve_arch(raw: Any, args: Dict[str, Any], arch: Optional[str], path: str) -> str:
    import timm
    _register_project_models()
    name = arch or args.get("model") or (raw.get("arch") if isinstance(raw, Mapping) else None)
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
    raw = read_checkpoint(path)
    weights, state_dict = _pick_weights(raw, path, use_ema)
    args = _args_dict(raw)
    name = _resolve_arch(raw, args, arch, path)
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
        epoch=raw.get("epoch") if weights != "bare state dict" else None,
        metric=raw.get("metric") if weights != "bare state dict" else None,
        args=args, data_config=resolve_data_config(data_args, model=model))
    return model, info
