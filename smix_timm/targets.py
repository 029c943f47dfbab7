"""Soft targets of a mixed batch: the values of timm's ``mixup_target``, written in one fill and two scatters.

timm's ``mixup_target(target, num_classes, lam, smoothing)`` builds two smoothed one-hot matrices
(own labels and the partners', ``target.flip(0)``) and returns ``y1 * lam + y2 * (1 - lam)``: seven
passes over a (B, num_classes) matrix, a quarter of a 256 x 32 px SaliencyMix call on a CPU with 1000
classes. Each row of that result holds at most three distinct values, all computed here with the
same float32 operations in the same order (so the bits are timm's: tests/test_targets.py compares
them on random batches): ``off * lam + off * (1 - lam)`` everywhere, the partner's label
``off * lam + on * (1 - lam)``, the own label ``on * lam + (on or off) * (1 - lam)``, where
``off = smoothing / num_classes`` and ``on = 1 - smoothing + off``, as timm's.
"""
from __future__ import annotations

import torch


def mixed_soft_targets(target: torch.Tensor, num_classes: int, lam: torch.Tensor, smoothing: float) -> torch.Tensor:
    """``timm.data.mixup.mixup_target(target, num_classes, lam, smoothing)`` for (B, 1) per-sample weights.

    Args:
        target: (B,) int64 class indices; sample i is mixed with B-1-i (timm's pairing).
        num_classes: columns of the result.
        lam: (B, 1) float32 weights of each sample's own label, on target's device.
        smoothing: timm's label smoothing.
    Returns:
        (B, num_classes) float32 soft targets, bit-identical to timm's.
    """
    off = smoothing / num_classes
    on = 1.0 - smoothing + off
    own = target.view(-1, 1)
    partner = target.flip(0).view(-1, 1)
    rest = 1.0 - lam
    # float32 scalars times lam, as timm's full(..., off/on) matrices times lam
    off_lam, on_lam = lam * off, lam * on
    off_rest, on_rest = rest * off, rest * on
    out = (off_lam + off_rest).expand(len(target), num_classes).contiguous()
    out.scatter_(1, partner, off_lam + on_rest)
    out.scatter_(1, own, on_lam + torch.where(own == partner, on_rest, off_rest))
    return out
