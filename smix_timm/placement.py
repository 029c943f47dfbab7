"""Saliency peak -> patch boxes (paper sec. 3.1 eq. 2, sec. 3.2, sec. 3.4). Pure, deterministic.

A box is ``(y0, y1, x0, x1)``, half-open, in pixels. For each mixed sample the
source box is cut from the partner image and pasted at the target box of the
sample itself; both have the same size.

Patch size follows CutMix / timm ``rand_bbox``: side ``int(H * sqrt(1 - lam))``
by ``int(W * sqrt(1 - lam))``. Around a peak the paper centres the patch "if
possible, or keeping the peak on the selected patch" (sec. 3.1):

- ``border='shift'`` (default): the patch keeps its full size and is shifted
  inside the image; the peak stays on the patch.
- ``border='clip'``: the patch is centred on the peak and clipped at the image
  border, as the official code does; it gets smaller near borders.
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple

import torch

Box = Tuple[int, int, int, int]
BoxPair = Tuple[Box, Box]  # (source box in the partner, target box in the sample)
PER_CHOICES = ("sample", "batch")

SCHEMES = {
    # name: (where the source patch comes from, where it goes in the target)
    "salient_to_corresponding": ("max", "same"),
    "salient_to_salient": ("max", "max"),
    "salient_to_nonsalient": ("max", "min"),
    "nonsalient_to_salient": ("min", "max"),
    "nonsalient_to_nonsalient": ("min", "min"),
}
BORDERS = ("shift", "clip")


def check_scheme(scheme: str) -> Tuple[str, str]:
    if scheme not in SCHEMES:
        raise ValueError(f"unknown placement scheme {scheme!r}; choose one of {sorted(SCHEMES)} (paper sec. 3.4)")
    return SCHEMES[scheme]


def check_border(border: str) -> str:
    if border not in BORDERS:
        raise ValueError(f"border must be 'shift' (keep the patch size) or 'clip' (official code), got {border!r}")
    return border


def patch_size(lam: float, height: int, width: int) -> Tuple[int, int]:
    """Patch side lengths for combination ratio ``lam`` (share of the target kept), as timm's rand_bbox."""
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must be in [0, 1], got {lam}")
    ratio = math.sqrt(1.0 - lam)
    return int(height * ratio), int(width * ratio)


def _span_clip(centre: int, size: int, limit: int) -> Tuple[int, int]:
    return max(centre - size // 2, 0), min(centre + (size + 1) // 2, limit)


def _span_shift(centre: int, size: int, limit: int) -> Tuple[int, int]:
    start = min(max(centre - size // 2, 0), limit - size)
    return start, start + size


def box_around(peak: Tuple[int, int], size: Tuple[int, int], image_size: Tuple[int, int],
               border: str = "shift") -> Box:
    """Box of ``size`` = (h, w) around ``peak`` = (y, x); contains the peak whenever h, w >= 1."""
    (py, px), (h, w), (height, width) = peak, size, image_size
    span = _span_shift if check_border(border) == "shift" else _span_clip
    y0, y1 = span(py, h, height)
    x0, x1 = span(px, w, width)
    return y0, y1, x0, x1


def box_area(box: Box) -> int:
    y0, y1, x0, x1 = box
    return max(y1 - y0, 0) * max(x1 - x0, 0)


def peak_positions(maps: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """First maximum and first minimum (row-major) of each (B, H, W) map, as (B, 2) [y, x] on the CPU."""
    flat = maps.flatten(1)
    width = maps.shape[-1]
    # torch.argmax/argmin return the first occurrence, like np.argmax on a C-order array.
    return flat_to_yx(flat.argmax(1), width), flat_to_yx(flat.argmin(1), width)


def flat_to_yx(index: torch.Tensor, width: int) -> torch.Tensor:
    """Row-major flat indices (B,) into an image of ``width`` columns -> (B, 2) [y, x] on the CPU."""
    index = index.cpu()
    return torch.stack([index // width, index % width], dim=1)


def saliency_boxes(source_point: Tuple[int, int], target_point: Tuple[int, int], lam: float,
                   image_size: Tuple[int, int], scheme: str, border: str = "shift") -> Tuple[Box, Box]:
    """Source and target boxes of one sample.

    ``source_point`` is the source map's max (or min, by scheme), ``target_point``
    the target map's max/min (ignored for 'corresponding'). The source box is
    placed around its point with ``border``; the target box has the same size,
    at the same place ('corresponding') or shifted around the target point.
    """
    _, target_kind = check_scheme(scheme)
    size = patch_size(lam, *image_size)
    src = box_around(source_point, size, image_size, border)
    if target_kind == "same":
        return src, src
    real_size = (src[1] - src[0], src[3] - src[2])
    return src, box_around(target_point, real_size, image_size, "shift")


def check_per(per: str) -> str:
    """'sample' (each source image its own map, paper sec. 3.1) or 'batch' (one map per batch)."""
    if per not in PER_CHOICES:
        raise ValueError(f"per must be 'sample' (each source its own map) or 'batch' (one map), got {per!r}")
    return per


def partners(batch: int, chosen: Sequence[int], per: str) -> Tuple[Dict[int, int], Dict[int, int]]:
    """Whose map places each chosen sample's patch: (source image of i, target image of i).

    Args:
        batch: batch size B; sample i takes its patch from sample B-1-i (timm's pairing).
        chosen: indices of the SaliencyMix samples.
        per: 'sample' (paper sec. 3.1: each source its own map) or 'batch' (one map per batch, taken
            from the first source image B-1, and sample 0 as the target; the official code's choice).
    Returns:
        Two dicts, sample index -> image index.
    """
    if check_per(per) == "sample":
        return {int(i): batch - 1 - int(i) for i in chosen}, {int(i): int(i) for i in chosen}
    return {int(i): batch - 1 for i in chosen}, {int(i): 0 for i in chosen}


def images_needed(batch: int, chosen: Sequence[int], scheme: str, per: str) -> List[int]:
    """The images whose saliency maps a step needs, sorted: sources, and targets unless the scheme
    pastes at the corresponding place (``saliency_box_pairs`` takes their peaks in this order)."""
    source_of, target_of = partners(batch, chosen, per)
    _, target_kind = check_scheme(scheme)
    return sorted(set(source_of.values()) | (set(target_of.values()) if target_kind != "same" else set()))


def saliency_box_pairs(batch: int, chosen: Sequence[int], lam: Sequence[float], image_size: Tuple[int, int],
                       maxima, minima, scheme: str = "salient_to_corresponding", border: str = "shift",
                       per: str = "sample") -> List[Optional[BoxPair]]:
    """Peaks -> the source/target boxes of every SaliencyMix sample of a batch (paper sec. 3.1-3.4). Pure.

    Args:
        batch: batch size B.
        chosen: indices of the SaliencyMix samples (``np.flatnonzero(params.kind == SALIENCYMIX)``).
        lam: each sample's combination ratio (the share of its own image kept).
        image_size: (H, W).
        maxima, minima: (N, 2) [y, x] first maximum / minimum of the maps of
            ``images_needed(batch, chosen, scheme, per)``, in that order (``saliency.saliency_peaks``).
        scheme, border, per: as ``saliency_boxes`` and ``partners``.
    Returns:
        A list of B entries: (source box, target box) for each chosen sample, None elsewhere.
    Raises:
        ValueError: peaks for another number of images than ``images_needed`` gives.

    >>> saliency_box_pairs(2, [0, 1], [0.75, 0.75], (8, 8), [[1, 1], [6, 6]], [[0, 0], [0, 0]])
    [((4, 8, 4, 8), (4, 8, 4, 8)), ((0, 4, 0, 4), (0, 4, 0, 4))]
    """
    source_kind, target_kind = check_scheme(scheme)
    needed = images_needed(batch, chosen, scheme, per)
    if len(maxima) != len(needed) or len(minima) != len(needed):
        raise ValueError(f"need the peaks of {len(needed)} maps (images {needed[:8]}...), got {len(maxima)}")
    row = {image: k for k, image in enumerate(needed)}
    source_of, target_of = partners(batch, chosen, per)

    def point(image: int, kind: str) -> Tuple[int, int]:
        yx = (maxima if kind == "max" else minima)[row[image]]
        return int(yx[0]), int(yx[1])

    pairs: List[Optional[BoxPair]] = [None] * batch
    for i in chosen:
        i = int(i)
        source_point = point(source_of[i], source_kind)
        target_point = source_point if target_kind == "same" else point(target_of[i], target_kind)
        pairs[i] = saliency_boxes(source_point, target_point, float(lam[i]), image_size, scheme, border)
    return pairs
