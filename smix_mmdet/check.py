"""Which backbone tensors of a config load from a checkpoint, and which not.

Builds only ``cfg.model.backbone`` from an mmengine config (mmdet registry)
and matches it against the checkpoint exactly as the ``TimmPretrained``
initializer would, without loading anything. Used by
``tools/mmdet/check_backbone.py``.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import List, Optional

from smix_timm.checkpoint import TimmCheckpoint

from .coverage import Coverage
from .pretrained_init import TimmPretrainedInit

__all__ = ["BackboneReport", "check_backbone", "find_timm_init"]


@dataclass
class BackboneReport:
    """A checkpoint matched against a config's backbone (what ``tools/mmdet/check_backbone.py`` prints).

    Args:
        backbone: the built backbone's class name and its depth or timm model, e.g. ``ResNet(depth=50)``
            or ``SmixTimmBackbone(model_name='resnet18')``.
        checkpoint: the ``TimmCheckpoint`` read from the file.
        coverage: the ``Coverage`` of the backbone's tensors by the checkpoint's.
        features: one line on the feature maps the backbone hands the neck; empty when not known.
    """

    backbone: str
    checkpoint: TimmCheckpoint
    coverage: Coverage
    features: str = ""

    @property
    def ok(self) -> bool:
        return self.coverage.ok

    def lines(self, show_loaded: bool = True) -> List[str]:
        """A table: one line per backbone tensor and per left-over tensor."""
        cov = self.coverage
        out = [f"backbone: {self.backbone}",
               f"checkpoint: {self.checkpoint.describe()}"]
        if self.features:
            out.append(f"features: {self.features}")
        mism = {k: (t, s) for k, t, s in cov.mismatched}
        for name, shape in cov.target_shapes.items():
            src = cov.key_map.get(name, name)
            arrow = "" if src == name else f" <- {src}"
            if name in mism:
                t, s = mism[name]
                out.append(f"SHAPE    {name} {t} vs checkpoint {s}{arrow}")
            elif name in cov.missing:
                out.append(f"MISSING  {name} {shape}{arrow}")
            elif name in cov.allowed_missing:
                out.append(f"ALLOWED  {name} {shape} (missing, allowed)")
            elif show_loaded:
                out.append(f"ok       {name} {shape}{arrow}")
        for name in cov.unexpected:
            out.append(f"UNUSED   {name} (checkpoint only)")
        for name in cov.outside:
            out.append(f"outside  {name} (not part of the backbone, ignored)")
        for name in self.checkpoint.head:
            out.append(f"head     {name} (classifier, dropped)")
        out.append(("OK: " if self.ok else "INCOMPLETE: ") + cov.summary())
        return out


def find_timm_init(init_cfg) -> Optional[dict]:
    """The ``TimmPretrained`` entry of a backbone's ``init_cfg`` (or None)."""
    items = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    for item in items:
        if isinstance(item, dict) and item.get("type") in (
                "TimmPretrained", TimmPretrainedInit):
            return dict(item)
    return None


def check_backbone(config: str,
                   checkpoint: Optional[str] = None,
                   cfg_options: Optional[dict] = None,
                   use_ema: Optional[bool] = None) -> BackboneReport:
    """Match ``checkpoint`` (default: the config's) against its backbone.

    Args:
        config: mmengine config path (``custom_imports`` are honoured).
        checkpoint: overrides ``model.backbone.init_cfg.checkpoint``.
        cfg_options: as mmdet's ``--cfg-options``.
        use_ema: overrides ``init_cfg.use_ema``.
    """
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    register_all_modules(init_default_scope=True)
    bb_cfg = copy.deepcopy(cfg.model.backbone)
    init = find_timm_init(bb_cfg.get("init_cfg"))
    if init is None:
        if checkpoint is None:
            raise ValueError(
                f"{config}: model.backbone.init_cfg is "
                f"{bb_cfg.get('init_cfg')!r}, not type='TimmPretrained'; "
                "pass a CHECKPOINT to check anyway")
        init = dict(type="TimmPretrained")
    init.pop("type")
    if checkpoint is not None:
        init["checkpoint"] = checkpoint
    if use_ema is not None:
        init["use_ema"] = use_ema
    bb_cfg["init_cfg"] = None
    backbone = MODELS.build(bb_cfg)
    ckpt, cov = TimmPretrainedInit(**init).plan(backbone)
    desc = type(backbone).__name__
    if hasattr(backbone, "depth"):
        desc += f"(depth={backbone.depth})"
    if hasattr(backbone, "model_name"):
        desc += f"(model_name='{backbone.model_name}')"
    features = ""
    if hasattr(backbone, "out_channels") and hasattr(backbone, "out_strides"):
        features = (f"channels {list(backbone.out_channels)} at strides "
                    f"{list(backbone.out_strides)} (the neck's in_channels)")
    return BackboneReport(backbone=desc, checkpoint=ckpt, coverage=cov,
                          features=features)
