"""Deterministic apply step: given params and boxes, mix a batch in place (paper sec. 3.2, eq. 3-4).

Sample i mixes with its partner B-1-i (timm's ``x.flip(0)`` pairing). Every
source pixel is read before any pixel is written, so the result does not
depend on the order of samples. Returns the label weight of each sample's own
image: with ``correct_lam`` (timm's default) exactly the share of its pixels
that did not come from the partner.

The whole batch is mixed with a fixed number of operations, whatever its size:

- on a CPU tensor that does not require grad, the patches move in one call of the
  native extension (``batch_kernel.c``: a loop in C, any dtype and layout) and the
  MixUp samples are blended by three tensor ops on the selected samples;
- elsewhere (CUDA, autograd, no compiled extension) a fixed sequence of tensor ops
  over the batch: a (B, 1, H, W) box mask from coordinate ranges compared with
  the (B, 4) boxes, the partner's pixels read at per-sample offsets with one
  ``gather``, the MixUp blend, two ``where``s and one copy back into ``x``.

Both give the same bytes (tests/test_apply.py); on a GPU the second is about
twenty kernel launches per call.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np
import torch

from .params import CUTMIX, MIXUP, SALIENCYMIX, MixParams
from .placement import BoxPairs, box_areas, boxes_inside
from .saliency import native


def patch_box_pairs(params: MixParams, saliency_pairs: BoxPairs) -> BoxPairs:
    """Source/target boxes of every patch sample: CutMix's random box (same place in both) or SaliencyMix's.

    Args:
        params: the step's random parameters (their CutMix boxes are used for the CUTMIX samples).
        saliency_pairs: the SaliencyMix samples' boxes (``placement.batch_box_pairs``), B rows.
    Returns:
        ``BoxPairs`` of B rows: CUTMIX and SALIENCYMIX samples have a patch, the others none.
    """
    kind = np.asarray(params.kind)
    saliency_pairs = saliency_pairs if isinstance(saliency_pairs, BoxPairs) else BoxPairs.from_list(saliency_pairs)
    only_saliency = BoxPairs(saliency_pairs.source, saliency_pairs.target,
                             saliency_pairs.has_patch & (kind == SALIENCYMIX))
    is_cutmix = kind == CUTMIX
    if not is_cutmix.any():
        return only_saliency
    cutmix = params.cutmix_boxes()
    return BoxPairs(cutmix, cutmix, is_cutmix).where(is_cutmix, only_saliency)


def _blend(own: torch.Tensor, partner: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
    mixed = own.float() * lam + partner.float() * (1.0 - lam)
    if own.dtype == torch.uint8:  # as timm's FastCollateMixup: round to the nearest integer
        mixed = mixed.round().clamp(0, 255)
    return mixed.to(own.dtype)


def check_box_pairs(pairs: BoxPairs, batch: int, height: int, width: int) -> None:
    """Refuse boxes the apply step cannot honour: another batch length, outside the images, or a source
    box of another size than its target box (checked for the whole batch at once).

    Raises:
        ValueError: naming the first offending sample and its boxes.
    """
    if len(pairs) != batch:
        raise ValueError(f"box pairs are for {len(pairs)} samples but the batch has {batch}")
    same_size = ((pairs.source[:, 1::2] - pairs.source[:, 0::2]) == (pairs.target[:, 1::2] - pairs.target[:, 0::2]))
    good = boxes_inside(pairs.source, height, width) & boxes_inside(pairs.target, height, width) & same_size.all(1)
    bad = pairs.has_patch & ~good
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"sample {i}: source box {pairs.source[i].tolist()} and target box "
                         f"{pairs.target[i].tolist()} must have one size and lie inside the {height}x{width} "
                         "images ([y0, y1, x0, x1], half-open)")


def label_weights(params: MixParams, pairs: BoxPairs, image_size: Tuple[int, int], correct_lam: bool) -> np.ndarray:
    """Each sample's own-label weight, float64 (B,) (paper eq. 4).

    A patch sample with ``correct_lam`` gets exactly the share of its pixels outside its target box;
    every other sample keeps its lambda.
    """
    lam = np.asarray(params.lam, dtype=np.float64)
    if not correct_lam:
        return lam.copy()
    kept = 1.0 - box_areas(pairs.target) / float(image_size[0] * image_size[1])
    return np.where(pairs.has_patch, kept, lam)


def _mix_on_cpu(x: torch.Tensor, params: MixParams, pairs: BoxPairs) -> None:
    """MixUp by index_select/blend/index_copy_ and every patch in one C call (see the module docstring).

    A step without MixUp samples skips the blend's ops, so their number depends on the draws here (on a
    CPU an op is a function call, not a kernel launch); ``_mix_with_tensor_ops`` issues the same ops
    whatever the draws.
    """
    batch = len(x)
    mixup_idx = np.flatnonzero(params.kind == MIXUP)
    if not len(mixup_idx):
        native.paste_patches(x, pairs.source, pairs.target, pairs.has_patch)
        return
    dst = torch.from_numpy(mixup_idx)
    weights = torch.from_numpy(params.lam[mixup_idx].astype(np.float32)).view(-1, 1, 1, 1)
    # The blend reads the originals before the patches are written (a patch may come from a MixUp sample).
    blended = _blend(x.index_select(0, dst), x.index_select(0, batch - 1 - dst), weights)
    native.paste_patches(x, pairs.source, pairs.target, pairs.has_patch)
    x.index_copy_(0, dst, blended)


def _mix_with_tensor_ops(x: torch.Tensor, params: MixParams, pairs: BoxPairs) -> None:
    """The same mix as ``_mix_on_cpu`` as a fixed sequence of tensor ops on ``x``'s device (autograd too)."""
    batch, channels, height, width = x.shape
    device = x.device
    # One int64 table and one float32 vector cross to the device: target box, source offset, MixUp flag.
    table = np.concatenate([pairs.target, pairs.source[:, [0, 2]] - pairs.target[:, [0, 2]],
                            (params.kind == MIXUP)[:, None]], axis=1).astype(np.int64)
    table = torch.from_numpy(table).to(device).view(batch, 7, 1, 1)
    lam = torch.from_numpy(params.lam.astype(np.float32)).to(device).view(batch, 1, 1, 1)
    rows = torch.arange(height, device=device).view(1, 1, height, 1)
    cols = torch.arange(width, device=device).view(1, 1, 1, width)
    inside = ((rows >= table[:, 0:1]) & (rows < table[:, 1:2])) & ((cols >= table[:, 2:3]) & (cols < table[:, 3:4]))
    source_rows = (rows + table[:, 4:5]).clamp(0, height - 1)
    source_cols = (cols + table[:, 5:6]).clamp(0, width - 1)
    index = (source_rows * width + source_cols).view(batch, 1, height * width).expand(batch, channels, -1)
    partner = x.flip(0)
    moved = partner.reshape(batch, channels, height * width).gather(2, index).view(batch, channels, height, width)
    blended = torch.where(table[:, 6:7].bool(), _blend(x, partner, lam), x)
    x.copy_(torch.where(inside, moved, blended))


def _native_applies(x: torch.Tensor) -> bool:
    """Whether ``x`` takes the CPU path: a CPU tensor autograd does not track, and the extension built."""
    return x.device.type == "cpu" and not (x.requires_grad and torch.is_grad_enabled()) and native.load() is not None


def apply_mix(x: torch.Tensor, params: MixParams, pairs: BoxPairs, correct_lam: bool = True) -> np.ndarray:
    """Mix ``x`` (B, C, H, W) in place; return each sample's own-image weight, float64 (B,).

    Args:
        x: the batch, changed in place; uint8 or floating point, any layout whose samples do not share
            memory. If it requires grad, the mix is recorded by autograd (gradients reach the pixels
            that end up in the mixed batch); a leaf that requires grad cannot be changed in place
            (as with timm's Mixup) and is refused.
        params: this step's random parameters (``sample_mix_params``).
        pairs: (source box, target box) of each patch sample (``patch_box_pairs``).
        correct_lam: timm's ``correct_lam``: the weight is the share of own pixels actually kept.
    Returns:
        float64 (B,) weights of each sample's own label (paper eq. 4).
    Raises:
        ValueError: boxes of another batch length, outside the images or of unequal sizes, or a
            leaf tensor that requires grad.
    """
    pairs = pairs if isinstance(pairs, BoxPairs) else BoxPairs.from_list(pairs)
    check_box_pairs(pairs, len(x), x.shape[-2], x.shape[-1])
    return apply_checked(x, params, pairs, correct_lam)


def apply_checked(x: torch.Tensor, params: MixParams, pairs: BoxPairs, correct_lam: bool = True) -> np.ndarray:
    """``apply_mix`` for boxes already known to be valid (``check_box_pairs``): those of
    ``placement.batch_box_pairs`` and of ``sample_mix_params``, which lie inside the images by construction.
    The mixing classes call it for the params they drew themselves (replayed params go through apply_mix)."""
    height, width = x.shape[-2], x.shape[-1]
    if x.requires_grad and x.is_leaf:
        raise ValueError("x is a leaf tensor that requires grad; mixing happens in place (as timm's Mixup), "
                         "which autograd forbids on a leaf: pass x.clone() (gradients then flow to x)")
    if _native_applies(x):
        with torch.no_grad():
            _mix_on_cpu(x, params, pairs)
    else:
        _mix_with_tensor_ops(x, params, pairs)
    return label_weights(params, pairs, (height, width), correct_lam)
