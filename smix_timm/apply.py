"""Deterministic apply step: given params and boxes, mix a batch in place (paper sec. 3.2, eq. 3-4).

Sample i mixes with its partner B-1-i (timm's ``x.flip(0)`` pairing). Every
source pixel is read before any pixel is written, so the result does not
depend on the order of samples. Returns the label weight of each sample's own
image: with ``correct_lam`` (timm's default) exactly the share of its pixels
that did not come from the partner.
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np
import torch

from .params import CUTMIX, MIXUP, SALIENCYMIX, MixParams
from .placement import BoxPair, box_area

_NUMPY_DTYPES = (torch.uint8, torch.float16, torch.float32, torch.float64)  # dtypes numpy can view


def patch_box_pairs(params: MixParams, saliency_pairs: List[Optional[BoxPair]]) -> List[Optional[BoxPair]]:
    """Source/target boxes of every patch sample: CutMix's random box (same place in both) or SaliencyMix's."""
    pairs: List[Optional[BoxPair]] = []
    for i, kind in enumerate(params.kind):
        if kind == CUTMIX:
            pairs.append((params.cutmix_box[i], params.cutmix_box[i]))
        elif kind == SALIENCYMIX:
            pairs.append(saliency_pairs[i])
        else:
            pairs.append(None)
    return pairs


def _blend(own: torch.Tensor, partner: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
    mixed = own.float() * lam + partner.float() * (1.0 - lam)
    if own.dtype == torch.uint8:  # as timm's FastCollateMixup: round to the nearest integer
        mixed = mixed.round_().clamp_(0, 255)
    return mixed.to(own.dtype)


@torch.no_grad()
def apply_mix(x: torch.Tensor, params: MixParams, pairs: List[Optional[BoxPair]],
              correct_lam: bool = True, originals: Optional[Sequence[torch.Tensor]] = None) -> np.ndarray:
    """Mix ``x`` (B, C, H, W) in place; return each sample's own-image weight, float64 (B,).

    Args:
        x: the batch, changed in place.
        params: this step's random parameters (``sample_mix_params``).
        pairs: (source box, target box) of each patch sample (``patch_box_pairs``), None otherwise.
        correct_lam: timm's ``correct_lam``: the weight is the share of own pixels actually kept.
        originals: the samples' unmixed images, (C, H, W) each, that ``x`` was stacked from (the
            collate has them). Patches are then read from there, with no copy of the partners.
    Returns:
        float64 (B,) weights of each sample's own label (paper eq. 4).
    """
    batch = len(x)
    height, width = x.shape[-2:]
    lam = params.lam.astype(np.float64).copy()
    mixup_idx = np.flatnonzero(params.kind == MIXUP)
    # Read phase: copies of every partner pixel that will be used.
    partners = None
    if len(mixup_idx):
        src = torch.as_tensor(batch - 1 - mixup_idx, device=x.device)
        partners = x.index_select(0, src)
    # On the CPU the many small box copies go through numpy views of the same memory: a torch slice
    # assignment costs ~20 us of overhead each, which is most of the collate's own time.
    numpy_ok = x.device.type == "cpu" and not x.requires_grad and x.dtype in _NUMPY_DTYPES
    view = (lambda t: t.numpy()) if numpy_ok else (lambda t: t)
    target_batch = view(x)
    patches = {}
    for i, pair in enumerate(pairs):
        if pair is None:
            continue
        (sy0, sy1, sx0, sx1), (ty0, ty1, tx0, tx1) = pair
        if (sy1 - sy0, sx1 - sx0) != (ty1 - ty0, tx1 - tx0):
            raise AssertionError(f"source box {pair[0]} and target box {pair[1]} differ in size")
        if originals is not None:
            patches[i] = view(originals[batch - 1 - i])[:, sy0:sy1, sx0:sx1]  # never written: no copy needed
        else:
            patches[i] = target_batch[batch - 1 - i, :, sy0:sy1, sx0:sx1].copy() if target_batch is not x \
                else x[batch - 1 - i, :, sy0:sy1, sx0:sx1].clone()
    # Write phase.
    if partners is not None:
        dst = torch.as_tensor(mixup_idx, device=x.device)
        weights = torch.as_tensor(lam[mixup_idx], dtype=torch.float32, device=x.device).view(-1, 1, 1, 1)
        x.index_copy_(0, dst, _blend(x.index_select(0, dst), partners, weights))
    for i, patch in patches.items():
        ty0, ty1, tx0, tx1 = pairs[i][1]
        target_batch[i, :, ty0:ty1, tx0:tx1] = patch
        if correct_lam:
            lam[i] = 1.0 - box_area(pairs[i][1]) / float(height * width)
    return lam
