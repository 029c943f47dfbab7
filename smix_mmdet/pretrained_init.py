"""``init_cfg=dict(type='TimmPretrained', checkpoint=...)``: verified hand-off.

An mmengine weight initializer (registry ``WEIGHT_INITIALIZERS``, called by
``BaseModule.init_weights`` with the module that owns the ``init_cfg``, see
mmengine/model/weight_init.py). It plays the role of mmengine's
``Pretrained`` init for checkpoints of timm's ``train.py``, but loads only
after checking that every parameter and buffer of the backbone gets a tensor
of the same shape, and raises ``BackboneCoverageError`` otherwise (mmengine's
``Pretrained`` loads with ``strict=False`` and only warns).

Backbones that rename timm's tensors (``SmixTimmBackbone``) describe the
renaming through a ``timm_key_spec()`` method; other modules, such as mmdet's
``ResNet(style='pytorch')`` whose names equal timm's and torchvision's, are
matched name for name.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence, Set, Tuple

from mmengine.logging import print_log
from mmengine.model.weight_init import update_init_info
from mmengine.registry import WEIGHT_INITIALIZERS
from torch import nn

from smix_timm.checkpoint import TimmCheckpoint, read_timm_checkpoint

from .coverage import BackboneCoverageError, Coverage, load_matched, match_tensors

__all__ = ["TimmPretrainedInit", "KeySpec", "key_spec_of"]

CHECKPOINT_OPTION = "model.backbone.init_cfg.checkpoint"


@dataclass
class KeySpec:
    """How a backbone's tensor names relate to the timm checkpoint's.

    Attributes:
        key_map: backbone name -> checkpoint name (None: identical names).
        outside: checkpoint names of layers the backbone leaves out on
            purpose (e.g. a timm model's last conv after the used stages).
        head_prefixes: module names of the classifier head in the checkpoint.
        arch_hint: a sentence on which checkpoints fit, for error messages.
    """

    key_map: Optional[Dict[str, str]] = None
    outside: Set[str] = field(default_factory=set)
    head_prefixes: Tuple[str, ...] = ("fc", )
    arch_hint: str = ""


def _resnet_hint(module: nn.Module) -> str:
    depth = getattr(module, "depth", None)
    return (f"mmdet ResNet(depth={depth}) takes timm 'resnet{depth}' "
            "checkpoints (torchvision layout: conv1, bn1, layer1-4); for "
            "another timm model use type='SmixTimmBackbone' with its "
            "model_name")


def key_spec_of(module: nn.Module) -> KeySpec:
    """The ``KeySpec`` of ``module``: its ``timm_key_spec()`` or identity."""
    if hasattr(module, "timm_key_spec"):
        return module.timm_key_spec()
    hint = ""
    if type(module).__name__.startswith("ResNet") and hasattr(module, "depth"):
        hint = _resnet_hint(module)
    return KeySpec(arch_hint=hint)


def _base_arch(name: str) -> str:
    """timm's architecture of a model name: 'timm/resnet50.a1_in1k' ->
    'resnet50' (hub prefix and pretrained tag dropped)."""
    return name.split("/")[-1].split(".")[0]


def _arch_advice(ckpt: TimmCheckpoint, module: nn.Module) -> str:
    """Say which config key to change when the checkpoint's arch differs."""
    if not ckpt.arch:
        return ""
    depth = getattr(module, "depth", None)
    model_name = getattr(module, "model_name", None)
    plain = re.fullmatch(r"resnet(\d+)", _base_arch(ckpt.arch))
    if model_name is not None and _base_arch(model_name) != _base_arch(
            ckpt.arch):
        return (f"The checkpoint was trained as timm '{ckpt.arch}' but the "
                f"backbone is '{model_name}': set "
                f"model.backbone.model_name='{ckpt.arch}' (and the neck's "
                "in_channels) or use a checkpoint of "
                f"'{model_name}'.")
    if depth is not None and model_name is None:
        if plain and int(plain.group(1)) != depth:
            return (f"The checkpoint was trained as timm '{ckpt.arch}' but "
                    f"the backbone is ResNet depth={depth}: set "
                    f"model.backbone.depth={plain.group(1)} (and the neck's "
                    "in_channels) or use a checkpoint of "
                    f"'resnet{depth}'.")
        if not plain:
            return (f"The checkpoint was trained as timm '{ckpt.arch}', which "
                    "is not a torchvision-layout ResNet: use "
                    "model.backbone=dict(type='SmixTimmBackbone', "
                    f"model_name='{ckpt.arch}', ...) instead of ResNet.")
    return ""


def _names(value, what: str) -> Tuple[str, ...]:
    """A tuple of names from a string (one name: never split into its
    characters, which as fnmatch patterns would match anything) or a
    sequence of strings."""
    names = (value, ) if isinstance(value, str) else tuple(value)
    if not all(isinstance(name, str) for name in names):
        raise TypeError(f"TimmPretrained {what} must be a string or a list of "
                        f"strings, got {value!r}")
    return names


@WEIGHT_INITIALIZERS.register_module(name="TimmPretrained")
class TimmPretrainedInit:
    """Load a timm ``train.py`` checkpoint into a backbone, all or nothing.

    Args:
        checkpoint: path of the ``.pth.tar`` (timm train.py) or a bare state
            dict file. Set it per run with
            ``--cfg-options model.backbone.init_cfg.checkpoint=PATH``.
        use_ema: take ``state_dict_ema`` when present (default True).
        head_prefixes: classifier module names to drop; default (None) from
            the backbone (``fc`` for ResNet, timm's
            ``pretrained_cfg['classifier']`` for ``SmixTimmBackbone``); ``()``
            drops nothing. A single name may be given as a string.
        allow_missing: ``fnmatch`` patterns of backbone tensors that may be
            absent (default none: every parameter and buffer must load). A
            single pattern may be given as a string (``--cfg-options`` passes
            one value as a string).
        map_location: as ``torch.load``.
    Returns:
        Calling it on a backbone module loads the checkpoint into it (in place).
    Raises:
        FileNotFoundError, smix_timm.checkpoint.CheckpointError: the file is missing, unreadable
            or holds no weights; BackboneCoverageError: the weights do not cover the backbone
            (the message lists what is missing and how to fix the config).

    Registered in mmengine's WEIGHT_INITIALIZERS as ``TimmPretrained``; a config sets
    ``init_cfg=dict(type="TimmPretrained", checkpoint=PATH)`` on the backbone:

    >>> from mmengine.registry import WEIGHT_INITIALIZERS
    >>> init = WEIGHT_INITIALIZERS.build(dict(type="TimmPretrained", checkpoint="model_best.pth.tar"))
    >>> (init.checkpoint, init.use_ema)
    ('model_best.pth.tar', True)
    """

    def __init__(self,
                 checkpoint: Optional[str] = None,
                 use_ema: bool = True,
                 head_prefixes: Optional[Sequence[str]] = None,
                 allow_missing: Sequence[str] = (),
                 map_location: str = "cpu") -> None:
        self.checkpoint = checkpoint
        self.use_ema = use_ema
        self.head_prefixes = (None if head_prefixes is None else
                              _names(head_prefixes, "head_prefixes"))
        self.allow_missing = _names(allow_missing, "allow_missing")
        self.map_location = map_location

    def plan(self, module: nn.Module) -> Tuple[TimmCheckpoint, Coverage]:
        """Read the checkpoint and match it against ``module``; load nothing.
        """
        if not self.checkpoint:
            raise ValueError(
                "TimmPretrained init has no checkpoint: pass "
                f"--cfg-options {CHECKPOINT_OPTION}=PATH (a .pth.tar written "
                "by tools/train.py)")
        spec = key_spec_of(module)
        heads = (spec.head_prefixes if self.head_prefixes is None else
                 self.head_prefixes)
        ckpt = read_timm_checkpoint(
            self.checkpoint,
            use_ema=self.use_ema,
            head_prefixes=heads,
            map_location=self.map_location,
            hint=f"; in an mmdet config set it with --cfg-options {CHECKPOINT_OPTION}=PATH")
        cov = match_tensors(
            module.state_dict(),
            ckpt.state_dict,
            key_map=spec.key_map,
            outside=spec.outside,
            allow_missing=self.allow_missing)
        return ckpt, cov

    def error_message(self, ckpt: TimmCheckpoint, cov: Coverage,
                      module: nn.Module) -> str:
        """The text of ``BackboneCoverageError`` for an incomplete match."""
        spec = key_spec_of(module)
        lines = [
            f"{type(module).__name__} cannot start from {ckpt.path}: "
            + cov.summary() + ".",
            f"read: {ckpt.describe()}.",
            cov.problems(limit=8),
        ]
        advice = _arch_advice(ckpt, module)
        if advice:
            lines.append(advice)
        if spec.arch_hint:
            lines.append(f"Note: {spec.arch_hint}.")
        lines.append(
            "Fix the config or the checkpoint (--cfg-options "
            f"{CHECKPOINT_OPTION}=PATH); list every tensor with: python "
            "tools/mmdet/check_backbone.py CONFIG CHECKPOINT")
        return "\n".join(line for line in lines if line)

    def __call__(self, module: nn.Module) -> None:
        ckpt, cov = self.plan(module)
        if not cov.ok:
            raise BackboneCoverageError(self.error_message(ckpt, cov, module))
        load_matched(module, ckpt.state_dict, cov)
        print_log(
            f"TimmPretrained: {type(module).__name__} loaded from "
            f"{ckpt.describe()}; {cov.summary()}",
            logger="current")
        if hasattr(module, "_params_init_info"):
            update_init_info(module, init_info=self._get_init_info())

    def _get_init_info(self) -> str:
        return (f"{self.__class__.__name__}: load from {self.checkpoint} "
                f"(use_ema={self.use_ema})")
