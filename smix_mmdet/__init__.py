"""smix_mmdet: start mmdetection from a backbone pretrained by timm's train.py.

Import it from a config with
``custom_imports=dict(imports=['smix_mmdet'], allow_failed_imports=False)``.
Importing registers:

* ``init_cfg=dict(type='TimmPretrained', checkpoint=PATH, use_ema=True)``
  (mmengine ``WEIGHT_INITIALIZERS``): loads a timm checkpoint into the
  backbone and fails unless every parameter and buffer loads;
* ``backbone=dict(type='SmixTimmBackbone', model_name=...)`` (mmdet
  ``MODELS``): any timm model's features at strides 4-32;
* the globals of timm and mmengine checkpoints in torch's ``weights_only``
  allow-list, so ``load_from``, ``resume`` and mmdet's ``tools/test.py`` work
  on torch >= 2.6 (see ``smix_mmdet.safe_load``).
"""
from .safe_load import CheckpointReadError, load_checkpoint_file, register_safe_globals

register_safe_globals()

try:
    import mmdet  # noqa: F401  (registries below need it)
except ImportError as _err:  # pragma: no cover - depends on the install
    raise ImportError(
        'smix_mmdet needs mmdetection 3.3 (with mmcv 2.1 and mmengine '
        '0.10): run `bash tools/install.sh` or pip install -e ".[det]"'
    ) from _err

from smix_timm.checkpoint import CheckpointError, TimmCheckpoint, read_timm_checkpoint, strip_wrapper_prefixes  # noqa: E402  (the one reader of timm checkpoints, shared with smix_timm)

from .check import BackboneReport, check_backbone  # noqa: E402
from .coverage import BackboneCoverageError, Coverage, load_matched, match_tensors  # noqa: E402
from .pretrained_init import KeySpec, TimmPretrainedInit  # noqa: E402
from .timm_backbone import SmixTimmBackbone, map_feature_keys  # noqa: E402

__all__ = [
    "BackboneCoverageError", "BackboneReport", "CheckpointError", "CheckpointReadError",
    "Coverage", "KeySpec", "SmixTimmBackbone", "TimmCheckpoint",
    "TimmPretrainedInit", "check_backbone", "load_checkpoint_file",
    "load_matched", "map_feature_keys", "match_tensors",
    "read_timm_checkpoint", "register_safe_globals", "strip_wrapper_prefixes"
]
