"""The apply step as it was before it became batch code (one slice copy per sample): the oracle of
tests/test_apply.py. Kept only here; the package mixes with ``smix_timm.apply.apply_mix``."""
from __future__ import annotations

import numpy as np
import torch

from smix_timm.params import MIXUP


def reference_apply(x: torch.Tensor, kind: np.ndarray, lam: np.ndarray, pairs, correct_lam: bool = True) -> np.ndarray:
    """Mix ``x`` in place sample by sample; ``pairs[i]`` is (source box, target box) or None."""
    batch = len(x)
    height, width = x.shape[-2:]
    lam = np.asarray(lam, dtype=np.float64).copy()
    mixup_idx = np.flatnonzero(kind == MIXUP)
    originals = x.clone()
    for i in mixup_idx:
        weight = torch.tensor(lam[i], dtype=torch.float32)
        mixed = originals[i].float() * weight + originals[batch - 1 - i].float() * (1.0 - weight)
        if x.dtype == torch.uint8:
            mixed = mixed.round().clamp(0, 255)
        x[i] = mixed.to(x.dtype)
    for i, pair in enumerate(pairs):
        if pair is None:
            continue
        (sy0, sy1, sx0, sx1), (ty0, ty1, tx0, tx1) = pair
        x[i, :, ty0:ty1, tx0:tx1] = originals[batch - 1 - i, :, sy0:sy1, sx0:sx1]
        if correct_lam:
            lam[i] = 1.0 - max(ty1 - ty0, 0) * max(tx1 - tx0, 0) / float(height * width)
    return lam
