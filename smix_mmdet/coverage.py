"""Match a backbone's tensors against a checkpoint and load them, verified.

``torch.nn.Module.load_state_dict(strict=False)`` (which mmengine's
``PretrainedInit`` uses) only *reports* missing and unexpected keys; mmengine
logs them as a warning. Here every parameter and buffer of the target module
must find a tensor of the same shape in the checkpoint, and every checkpoint
tensor must belong to the backbone or be known to lie outside it (classifier
head, layers a feature extractor does not use); otherwise loading stops with
an error that lists what did not match.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import nn

__all__ = ["Coverage", "BackboneCoverageError", "match_tensors",
           "load_matched"]


class BackboneCoverageError(RuntimeError):
    """The checkpoint does not cover the backbone exactly."""


@dataclass
class Coverage:
    """Outcome of matching target tensors with checkpoint tensors.

    Keys in ``loaded``, ``missing`` and ``mismatched`` are target (backbone)
    names; ``unexpected`` and ``outside`` hold checkpoint names.

    Args:
        key_map: target name -> checkpoint name (``match_tensors``'s map, or the identity when it was
            given none).
        target_shapes: every target tensor's name and shape, in the module's order.
        loaded: target names whose tensor is found with the same shape.
        missing: target names with no checkpoint tensor.
        mismatched: (target name, target shape, checkpoint shape) for each shape mismatch.
        unexpected: checkpoint names no target tensor takes and not known to be outside: errors.
        outside: unused checkpoint names known to belong to layers the backbone leaves out (e.g. a timm
            model's last conv after the stages used); reported, not errors.
        allowed_missing: target names that are missing but match an ``allow_missing`` pattern of
            ``match_tensors`` (e.g. ``*.num_batches_tracked``); reported, not errors.
    """

    key_map: Dict[str, str]
    target_shapes: Dict[str, Tuple[int, ...]]
    loaded: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    mismatched: List[Tuple[str, Tuple[int, ...], Tuple[int, ...]]] = field(
        default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    outside: List[str] = field(default_factory=list)
    allowed_missing: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every backbone tensor loads and nothing is left over."""
        return not (self.missing or self.mismatched or self.unexpected)

    def summary(self) -> str:
        """One line of counts."""
        total = len(self.target_shapes)
        text = (f"{len(self.loaded)}/{total} backbone tensors load; "
                f"{len(self.missing)} missing, {len(self.mismatched)} shape "
                f"mismatches, {len(self.unexpected)} unexpected checkpoint "
                f"tensors, {len(self.outside)} checkpoint tensors outside the "
                "backbone (ignored)")
        if self.allowed_missing:
            text += (f", {len(self.allowed_missing)} missing but allowed by "
                     "allow_missing")
        return text

    def problems(self, limit: Optional[int] = 10) -> str:
        """The missing / mismatched / unexpected names, ``limit`` of each."""

        def cut(items: Sequence[str]) -> List[str]:
            if limit is None or len(items) <= limit:
                return list(items)
            return list(items[:limit]) + [f"... and {len(items) - limit} more"]

        lines = []
        if self.missing:
            lines.append("missing from the checkpoint (backbone keeps its "
                         "random init):")
            lines += [f"  {k} {tuple(self.target_shapes[k])}" if k in
                      self.target_shapes else f"  {k}"
                      for k in cut(self.missing)]
        if self.mismatched:
            lines.append("shape differs (backbone vs checkpoint):")
            items = [f"  {k}: {tuple(t)} vs {tuple(s)}"
                     for k, t, s in self.mismatched]
            lines += cut(items)
        if self.unexpected:
            lines.append("in the checkpoint but not in this backbone:")
            lines += [f"  {k}" for k in cut(self.unexpected)]
        return "\n".join(lines)


def match_tensors(target: Mapping[str, torch.Tensor],
                  source: Mapping[str, torch.Tensor],
                  key_map: Optional[Mapping[str, str]] = None,
                  outside: Iterable[str] = (),
                  allow_missing: Sequence[str] = ()) -> Coverage:
    """Compare ``target`` (a module's state dict) with ``source`` tensors.

    Args:
        target: backbone tensors by name (``module.state_dict()``).
        source: checkpoint tensors by name, wrapper prefixes removed.
        key_map: target name -> source name; identity when omitted (timm,
            torchvision and mmdet ``ResNet(style='pytorch')`` share names).
        outside: source names known to belong to layers the backbone does not
            have (they are reported, not errors).
        allow_missing: ``fnmatch`` patterns of target names that may be
            absent from the source (e.g. ``*.num_batches_tracked`` for
            torchvision files); empty by default: every tensor must load.
    """
    key_map = dict(key_map) if key_map is not None else {k: k for k in target}
    outside = set(outside)
    cov = Coverage(key_map=key_map,
                   target_shapes={k: tuple(v.shape) for k, v in target.items()})
    used = set()
    for name, tensor in target.items():
        src = key_map.get(name)
        if src is None or src not in source:
            if any(fnmatch.fnmatchcase(name, p) for p in allow_missing):
                cov.allowed_missing.append(name)
            else:
                cov.missing.append(name)
            continue
        used.add(src)
        if tuple(source[src].shape) != tuple(tensor.shape):
            cov.mismatched.append(
                (name, tuple(tensor.shape), tuple(source[src].shape)))
        else:
            cov.loaded.append(name)
    for name in source:
        if name in used:
            continue
        (cov.outside if name in outside else cov.unexpected).append(name)
    return cov


@torch.no_grad()
def load_matched(module: nn.Module, source: Mapping[str, torch.Tensor],
                 cov: Coverage) -> None:
    """Copy the matched tensors of ``cov`` into ``module`` in place.

    Values are copied with ``Tensor.copy_`` (dtype/device of the module are
    kept, as ``load_state_dict`` does); run ``match_tensors`` first and stop
    on ``not cov.ok``.

    Args:
        module: the backbone to fill.
        source: the checkpoint's tensors by checkpoint name.
        cov: the ``Coverage`` from ``match_tensors``; only its ``loaded`` tensors are copied.
    """
    state = module.state_dict(keep_vars=True)
    for name in cov.loaded:
        state[name].copy_(source[cov.key_map[name]])
