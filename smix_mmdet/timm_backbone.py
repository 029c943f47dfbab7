"""``SmixTimmBackbone``: any timm model as an mmdet backbone for an FPN.

Builds ``timm.create_model(model_name, features_only=True, out_indices=...)``
(timm docs, "Feature Extraction") and returns its feature maps as a tuple, as
mmdet backbones do. By default it picks, for each stride in ``strides``
(4, 8, 16, 32), the deepest feature of that stride from the model's
``feature_info``, so ``out_channels`` lines up with ``FPN(in_channels=...)``.

timm's feature wrappers rename modules (``FeatureListNet`` flattens
``stages.0`` into ``stages_0``; ``FeatureGetterNet`` nests the model under
``model.``), so checkpoint names differ from the wrapper's. ``timm_key_spec``
maps every tensor of the feature model back to its name in the full model
(built once on the ``meta`` device, no memory, no weights), which is how
``init_cfg=dict(type='TimmPretrained', ...)`` loads a timm ``train.py``
checkpoint with full verification.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import timm
import torch
from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch import nn

from .pretrained_init import KeySpec

__all__ = ["SmixTimmBackbone", "map_feature_keys"]


def _build_full_model(model_name: str, model_kwargs: dict) -> nn.Module:
    """The complete timm model (with head) on the meta device if possible."""
    try:
        with torch.device("meta"):
            return timm.create_model(model_name, pretrained=False,
                                     **model_kwargs)
    except Exception:  # some models compute values at init; build on CPU
        return timm.create_model(model_name, pretrained=False, **model_kwargs)


def _classifier_names(model: nn.Module) -> Tuple[str, ...]:
    cfg = getattr(model, "pretrained_cfg", None) or {}
    names = cfg.get("classifier") or ()
    if isinstance(names, str):
        names = (names, )
    return tuple(names)


def map_feature_keys(
        feature_shapes: Dict[str, Tuple[int, ...]],
        full_shapes: Dict[str, Tuple[int, ...]]
) -> Tuple[Dict[str, str], List[str]]:
    """Map each feature-model tensor name to the full model's name.

    Candidates for ``a_b.rest`` are the name itself, ``a.b.rest`` for each
    ``_`` of the first component (timm ``_module_list`` joins a Sequential's
    name and its child's with ``_``), and the name without a leading
    ``model.`` (``FeatureGetterNet``). A candidate must exist in the full
    model with the same shape; the name itself wins, else exactly one other
    candidate must fit.

    Args:
        feature_shapes: name -> shape of the ``features_only`` model's tensors.
        full_shapes: name -> shape of the full (classifier) model's tensors, as its checkpoint names them.

    Returns:
        (mapping, names that could not be mapped uniquely).
    """
    mapping: Dict[str, str] = {}
    unmapped: List[str] = []
    for name, shape in feature_shapes.items():
        if full_shapes.get(name) == shape:
            mapping[name] = name
            continue
        first, dot, rest = name.partition(".")
        cands = []
        if name.startswith("model."):
            cands.append(name[len("model."):])
        for i, ch in enumerate(first):
            if ch == "_":
                cands.append(first[:i] + "." + first[i + 1:] + dot + rest)
        hits = [c for c in dict.fromkeys(cands) if full_shapes.get(c) == shape]
        if len(hits) == 1:
            mapping[name] = hits[0]
        else:
            unmapped.append(name)
    return mapping, unmapped


@MODELS.register_module()
class SmixTimmBackbone(BaseModule):
    """A timm feature extractor as an mmdet backbone.

    Args:
        model_name: timm model name (``timm.list_models()``), the ``arch`` of
            the timm ``train.py`` checkpoint.
        out_indices: timm feature indices; None picks one per stride in
            ``strides`` from ``feature_info``.
        strides: the output strides wanted when ``out_indices`` is None.
        norm_eval: keep BatchNorm layers in eval mode during training (as
            mmdet's ResNet ``norm_eval``), for small detection batches.
        model_kwargs: extra ``timm.create_model`` arguments (e.g.
            ``drop_path_rate``); must match how the checkpoint was trained
            where they change tensor shapes.
        init_cfg: e.g. ``dict(type='TimmPretrained', checkpoint=PATH)``.
    Returns:
        Calling it on (N, 3, H, W) images returns a tuple of feature maps, one per out index.
    Raises:
        ValueError: ``model_kwargs`` holding what the backbone sets itself, or strides the model lacks.

    Registered in mmdet's MODELS as ``SmixTimmBackbone``:

    >>> import torch
    >>> from mmdet.registry import MODELS
    >>> backbone = MODELS.build(dict(type="SmixTimmBackbone", model_name="resnet18"))
    >>> [tuple(f.shape) for f in backbone(torch.zeros(1, 3, 64, 64))]
    [(1, 64, 16, 16), (1, 128, 8, 8), (1, 256, 4, 4), (1, 512, 2, 2)]
    """

    def __init__(self,
                 model_name: str,
                 out_indices: Optional[Sequence[int]] = None,
                 strides: Sequence[int] = (4, 8, 16, 32),
                 norm_eval: bool = True,
                 model_kwargs: Optional[dict] = None,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.model_name = model_name
        self.norm_eval = norm_eval
        kwargs = dict(model_kwargs or {})
        for banned in ("pretrained", "features_only", "out_indices"):
            if banned in kwargs:
                raise ValueError(
                    f"SmixTimmBackbone sets {banned!r} itself; remove it from "
                    "model_kwargs (weights come from init_cfg TimmPretrained)")
        full = _build_full_model(model_name, kwargs)
        if out_indices is None:
            out_indices = self._indices_for_strides(full, strides)
        self.out_indices = tuple(out_indices)
        self.model = timm.create_model(
            model_name,
            pretrained=False,
            features_only=True,
            out_indices=self.out_indices,
            **kwargs)
        self.out_channels: List[int] = list(self.model.feature_info.channels())
        self.out_strides: List[int] = list(
            self.model.feature_info.reduction())
        self._head = _classifier_names(full)
        self._full_shapes = {
            k: tuple(v.shape)
            for k, v in full.state_dict().items()
        }

    def _indices_for_strides(self, full: nn.Module,
                             strides: Sequence[int]) -> Tuple[int, ...]:
        info = getattr(full, "feature_info", None)
        if not info:
            raise ValueError(
                f"timm model '{self.model_name}' has no feature_info, so it "
                "cannot be a feature backbone; choose another model")
        reductions = [int(f["reduction"]) for f in info]
        indices = []
        for stride in strides:
            found = [i for i, r in enumerate(reductions) if r == stride]
            if not found:
                raise ValueError(
                    f"timm model '{self.model_name}' has features at "
                    f"reductions {reductions} (one per feature index), none "
                    f"at stride {stride}; set out_indices explicitly and "
                    "match the neck's in_channels and the RoI extractor's "
                    "featmap_strides")
            indices.append(found[-1])
        return tuple(indices)

    def timm_key_spec(self) -> KeySpec:
        """Names of this module's tensors in the timm model's state dict."""
        own = {
            k: tuple(v.shape)
            for k, v in self.model.state_dict().items()
        }
        mapping, unmapped = map_feature_keys(own, self._full_shapes)
        targets = list(mapping.values())
        used = set(targets)
        if len(used) != len(targets):  # never load one tensor twice
            twice = sorted({v for v in targets if targets.count(v) > 1})
            raise RuntimeError(
                f"SmixTimmBackbone({self.model_name!r}): several feature "
                f"tensors map to the same checkpoint tensor {twice[:5]}; this "
                "model layout is not supported, please report it")
        key_map = {f"model.{k}": v for k, v in mapping.items()}
        outside = {
            k
            for k in self._full_shapes
            if k not in used and not any(
                k == h or k.startswith(h + ".") for h in self._head)
        }
        # Unmapped names stay out of key_map: the coverage check reports them
        # as missing, and arch_hint says why.
        return KeySpec(
            key_map=key_map,
            outside=outside,
            head_prefixes=self._head or ("fc", ),
            arch_hint=(f"SmixTimmBackbone(model_name='{self.model_name}') "
                       f"takes checkpoints of timm '{self.model_name}'" +
                       (f"; {len(unmapped)} feature tensors have no unique "
                        f"name in the full model (e.g. {unmapped[0]})"
                        if unmapped else "")))

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        return tuple(self.model(x))

    def train(self, mode: bool = True) -> 'SmixTimmBackbone':
        super().train(mode)
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self
