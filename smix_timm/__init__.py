"""SaliencyMix (Uddin et al., ICLR 2021) for timm.

- ``saliency_map``: batched saliency detectors (torch; OpenCV as reference).
- ``SaliencyMix`` / ``FastCollateSaliencyMix``: drop-ins for timm's ``Mixup`` /
  ``FastCollateMixup``; with ``saliencymix_alpha=0`` timm's Mixup/CutMix distribution and
  the installed timm's CutMix boxes (mix.py says where the draws are timm's own).
"""
from .mix import FastCollateSaliencyMix, SaliencyMix
from .params import MixParams, sample_mix_params
from .placement import SCHEMES, box_around, patch_size, saliency_boxes
from .saliency import available_methods, register_saliency_method, require_cv2_saliency, saliency_map

__version__ = "0.1.0"

__all__ = [
    "SaliencyMix", "FastCollateSaliencyMix", "saliency_map", "register_saliency_method",
    "available_methods", "require_cv2_saliency", "MixParams", "sample_mix_params", "SCHEMES",
    "box_around", "patch_size", "saliency_boxes",
]

