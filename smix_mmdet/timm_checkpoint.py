"""Read a checkpoint written by timm's ``train.py`` into a clean state dict.

timm's ``CheckpointSaver`` (timm/utils/checkpoint_saver.py) saves a dict with
``epoch``, ``arch``, ``state_dict``, ``optimizer``, ``version``, optionally
``args`` (argparse.Namespace), ``state_dict_ema`` and ``metric``. This module
picks the EMA weights when present (unless told not to), strips the
``module.`` prefix of DDP / ModelEma wrappers and the ``_orig_mod.`` prefix of
``torch.compile``, and sets the classifier head aside. A bare state dict (a
mapping of names to tensors, as torchvision ships) is accepted too.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import torch

from .safe_load import load_checkpoint_file

__all__ = ["TimmCheckpoint", "read_timm_checkpoint", "strip_wrapper_prefixes"]

WRAPPER_PREFIXES = ("module.", "_orig_mod.")


@dataclass
class TimmCheckpoint:
    """A timm checkpoint reduced to the tensors a backbone can take."""

    path: str
    state_dict: Dict[str, torch.Tensor]
    source: str  # the top-level key used, or 'bare state dict'
    arch: Optional[str] = None
    epoch: Optional[int] = None
    head: Dict[str, torch.Tensor] = field(default_factory=dict)
    available: List[str] = field(default_factory=list)

    def describe(self) -> str:
        """One line saying what was read, for logs and error messages."""
        parts = [f"{self.path}: {self.source}"]
        if self.arch:
            parts.append(f"timm arch '{self.arch}'")
        if self.epoch is not None:
            parts.append(f"epoch {self.epoch}")
        parts.append(f"{len(self.state_dict)} tensors")
        if self.head:
            parts.append(f'classifier head dropped ({", ".join(self.head)})')
        return ", ".join(parts)


def strip_wrapper_prefixes(
        state_dict: Mapping[str, Any],
        prefixes: Sequence[str] = WRAPPER_PREFIXES) -> Dict[str, Any]:
    """Remove DDP/EMA (``module.``) and compile (``_orig_mod.``) prefixes.

    Prefixes are removed repeatedly from the start of each key, as
    ``timm.models.clean_state_dict`` does for ``module.``. Two keys that become
    equal raise ``ValueError``.
    """
    out: Dict[str, Any] = {}
    for key, value in state_dict.items():
        new = key
        stripped = True
        while stripped:
            stripped = False
            for prefix in prefixes:
                if new.startswith(prefix):
                    new = new[len(prefix):]
                    stripped = True
        if new in out:
            raise ValueError(
                f"state dict keys collide after removing wrapper prefixes "
                f"{tuple(prefixes)}: {key!r} -> {new!r}. The checkpoint holds "
                "both wrapped and unwrapped copies; save the model unwrapped.")
        out[new] = value
    return out


def _is_tensor_mapping(obj: Any) -> bool:
    return isinstance(obj, Mapping) and len(obj) > 0 and all(
        isinstance(k, str) and isinstance(v, torch.Tensor)
        for k, v in obj.items())


def _in_prefixes(key: str, prefixes: Sequence[str]) -> bool:
    return any(key == p or key.startswith(p + ".") for p in prefixes)


def read_timm_checkpoint(path: Union[str, os.PathLike],
                         use_ema: bool = True,
                         head_prefixes: Sequence[str] = ("fc", ),
                         map_location: Any = "cpu") -> TimmCheckpoint:
    """Load ``path`` and return its backbone tensors.

    Args:
        path: a timm ``train.py`` checkpoint (``*.pth.tar``) or a bare state
            dict saved with ``torch.save``.
        use_ema: take ``state_dict_ema`` (or ``model_ema``) when the
            checkpoint has one (timm ``--model-ema``); False always takes
            ``state_dict`` (or ``model``).
        head_prefixes: module names of the classifier head (timm
            ``pretrained_cfg['classifier']``; ``fc`` for ResNet). Their
            tensors are set aside in ``TimmCheckpoint.head``.
        map_location: as ``torch.load``.

    Raises:
        FileNotFoundError / smix_mmdet.safe_load.CheckpointReadError: the file
            is missing or unreadable.
        ValueError: the file holds no state dict of tensors.
    """
    path = os.fspath(path)
    raw = load_checkpoint_file(path, map_location=map_location)
    if not isinstance(raw, Mapping):
        raise ValueError(
            f'checkpoint {path!r} holds a {type(raw).__name__}, not a dict. '
            'Expected a timm train.py checkpoint (dict with "state_dict") or a'
            ' state dict saved with torch.save(model.state_dict(), ...).')

    # Same precedence as timm.models.load_state_dict(use_ema=...).
    available = [k for k in ("state_dict_ema", "model_ema", "state_dict",
                             "model") if k in raw and _is_tensor_mapping(raw[k])]
    ema = [k for k in available if k in ("state_dict_ema", "model_ema")]
    plain = [k for k in available if k in ("state_dict", "model")]
    if use_ema and ema:
        source = ema[0]
    elif plain:
        source = plain[0]
    elif ema:
        raise ValueError(
            f"checkpoint {path!r} holds only EMA weights ({ema[0]}) but "
            "use_ema=False asks for the plain ones; set "
            "model.backbone.init_cfg.use_ema=True")
    elif _is_tensor_mapping(raw):
        source = "bare state dict"
    else:
        keys = ", ".join(map(str, list(raw)[:12]))
        raise ValueError(
            f'checkpoint {path!r} has no state dict of tensors: top-level '
            f'keys are [{keys}]. Expected a timm train.py checkpoint '
            '("state_dict", optional "state_dict_ema") or a bare state dict.')
    tensors = raw if source == "bare state dict" else raw[source]
    tensors = strip_wrapper_prefixes(tensors)

    head = {k: v for k, v in tensors.items() if _in_prefixes(k, head_prefixes)}
    body = {k: v for k, v in tensors.items() if k not in head}

    arch = raw.get("arch") if isinstance(raw.get("arch"), str) else None
    epoch = raw.get("epoch") if isinstance(raw.get("epoch"), int) else None
    return TimmCheckpoint(
        path=path,
        state_dict=body,
        source=source,
        arch=arch,
        epoch=epoch,
        head=head,
        available=available)
