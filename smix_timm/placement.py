"""Saliency peak -> patch boxes (paper sec. 3.1 eq. 2, sec. 3.2, sec. 3.4). Pure, deterministic.

A box is ``(y0, y1, x0, x1)``, half-open, in pixels. For each mixed sample the
source box is cut from the partner image and pasted at the target box of the
sample itself; both have the same size.

Patch size uses CutMix's formula (timm's ``rand_bbox``): side ``int(H * sqrt(1 - lam))``
by ``int(W * sqrt(1 - lam))``, computed in float64 (timm computes it in the lambda's own dtype, so a
float32 lambda can give a side one pixel apart from timm's in a few cases per million). Around a peak
the paper centres the patch "if possible, or keeping the peak on the selected patch" (sec. 3.1):

- ``border='shift'`` (default): the patch keeps its full size and is shifted
  inside the image; the peak stays on the patch.
- ``border='clip'``: the patch is centred on the peak and clipped at the image
  border, as the official code does; it gets smaller near borders.
"""
from __future__ import annotations

import math
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
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
    """Patch side lengths for combination ratio ``lam``: CutMix's ``int(side * sqrt(1 - lam))``, in float64
    (paper sec. 3.2: the patch covers ``1 - lam`` of the image).

    Args:
        lam: the share of the target image kept, in [0, 1].
        height: the image height H.
        width: the image width W.

    Returns:
        (h, w), the patch's side lengths in pixels.
    """
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
    """Box of ``size`` = (h, w) around ``peak`` = (y, x); contains the peak whenever h, w >= 1.

    Args:
        peak: (y, x), the point the box is centred on (the saliency peak, paper sec. 3.1 eq. 2).
        size: (h, w) of the box.
        image_size: (H, W) of the image; the box stays inside it.
        border: 'shift' moves a box that would cross the image edge back inside, keeping its size;
            'clip' cuts it at the edge, as the official code does (docs/saliency.md).

    Returns:
        The box as ``(y0, y1, x0, x1)``, ends exclusive.
    """
    (py, px), (h, w), (height, width) = peak, size, image_size
    span = _span_shift if check_border(border) == "shift" else _span_clip
    y0, y1 = span(py, h, height)
    x0, x1 = span(px, w, width)
    return y0, y1, x0, x1


def box_area(box: Box) -> int:
    y0, y1, x0, x1 = box
    return max(y1 - y0, 0) * max(x1 - x0, 0)


# ------------------------------------------------------------------------------ a whole batch at once
def patch_sizes(lam: np.ndarray, height: int, width: int) -> np.ndarray:
    """``patch_size`` for an array of lambdas: (N,) -> (N, 2) int64 [h, w], the same numbers.

    Raises:
        ValueError: a lambda outside [0, 1] (NaN included).
    """
    lam = np.asarray(lam, dtype=np.float64)
    if not ((lam >= 0.0) & (lam <= 1.0)).all():
        raise ValueError(f"lam must be in [0, 1], got values {lam.min()}..{lam.max()}")
    ratio = np.sqrt(1.0 - lam)  # IEEE sqrt is correctly rounded: the same float as math.sqrt
    return (np.multiply.outer(ratio, np.array([height, width], dtype=np.float64))).astype(np.int64)


def boxes_around(points: np.ndarray, sizes: np.ndarray, image_size: Tuple[int, int],
                 border: str = "shift") -> np.ndarray:
    """``box_around`` for N points at once: (N, 2) [y, x] points, (N, 2) [h, w] sizes -> (N, 4) int64 boxes.

    Row k is exactly ``box_around(points[k], sizes[k], image_size, border)``.
    """
    points = np.asarray(points, dtype=np.int64).reshape(-1, 2)
    sizes = np.asarray(sizes, dtype=np.int64).reshape(-1, 2)
    border = check_border(border)
    limits = np.array(image_size[:2], dtype=np.int64)
    boxes = np.empty((len(points), 4), dtype=np.int64)  # columns y0, y1, x0, x1: starts at 0::2, ends at 1::2
    if border == "shift":
        start = np.minimum(np.maximum(points - sizes // 2, 0), limits - sizes)
        boxes[:, 0::2], boxes[:, 1::2] = start, start + sizes
    else:
        boxes[:, 0::2] = np.maximum(points - sizes // 2, 0)
        boxes[:, 1::2] = np.minimum(points + (sizes + 1) // 2, limits)
    return boxes


def box_areas(boxes: np.ndarray) -> np.ndarray:
    """``box_area`` of each row of an (N, 4) array, int64 (N,)."""
    boxes = np.asarray(boxes, dtype=np.int64).reshape(-1, 4)
    return np.maximum(boxes[:, 1] - boxes[:, 0], 0) * np.maximum(boxes[:, 3] - boxes[:, 2], 0)


def boxes_inside(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    """Which rows of an (N, 4) array are boxes inside a ``height`` x ``width`` image (0 <= y0 <= y1 <= H,
    0 <= x0 <= x1 <= W), bool (N,)."""
    boxes = np.asarray(boxes, dtype=np.int64).reshape(-1, 4)
    limits = np.array([height, height, width, width])
    return ((boxes >= 0) & (boxes <= limits)).all(axis=1) & (boxes[:, 1::2] >= boxes[:, 0::2]).all(axis=1)


def _int64_rows(boxes) -> np.ndarray:
    """(N, 4) C-contiguous int64 (the native paste step reads the memory), converting only when needed."""
    if isinstance(boxes, np.ndarray) and boxes.dtype == np.int64 and boxes.ndim == 2 and boxes.flags.c_contiguous:
        return boxes
    return np.ascontiguousarray(boxes, dtype=np.int64).reshape(-1, 4)


def _is_flags(flags) -> bool:
    return isinstance(flags, np.ndarray) and flags.dtype == np.bool_ and flags.ndim == 1


class BoxPairs:
    """The patch boxes of one batch: for each sample, where its patch is cut from its partner and where it goes.

    ``source`` and ``target`` are (B, 4) int64 arrays of half-open boxes [y0, y1, x0, x1] (the source in
    the partner B-1-i, the target in sample i, always of one size); ``has_patch`` (B,) bool says which
    samples take a patch; the other rows are all zero. Indexing gives the single-sample form:
    ``pairs[i]`` is ``(source box, target box)`` as tuples of ints, or None.
    """

    __slots__ = ("source", "target", "has_patch")

    def __init__(self, source: np.ndarray, target: np.ndarray, has_patch: np.ndarray):
        self.source = _int64_rows(source)
        self.target = _int64_rows(target)
        self.has_patch = has_patch if _is_flags(has_patch) else np.asarray(has_patch, dtype=bool).reshape(-1)
        if not len(self.source) == len(self.target) == len(self.has_patch):
            raise ValueError(f"BoxPairs needs one source box, target box and flag per sample, got "
                             f"{len(self.source)}, {len(self.target)} and {len(self.has_patch)}")

    @classmethod
    def empty(cls, batch: int) -> "BoxPairs":
        """No sample takes a patch."""
        zeros = np.zeros((batch, 4), dtype=np.int64)
        return cls(zeros, zeros.copy(), np.zeros(batch, dtype=bool))

    @classmethod
    def from_list(cls, pairs: Sequence[Optional[BoxPair]]) -> "BoxPairs":
        """From the single-sample form: a list of B entries, (source box, target box) or None."""
        has = np.array([p is not None for p in pairs], dtype=bool)
        flat = [p if p is not None else ((0, 0, 0, 0), (0, 0, 0, 0)) for p in pairs]
        arr = np.array(flat, dtype=np.int64).reshape(len(pairs), 2, 4)
        return cls(arr[:, 0], arr[:, 1], has)

    def __len__(self) -> int:
        return len(self.has_patch)

    def __getitem__(self, i: int) -> Optional[BoxPair]:
        if not self.has_patch[i]:
            return None
        return tuple(int(v) for v in self.source[i]), tuple(int(v) for v in self.target[i])

    def __iter__(self) -> Iterator[Optional[BoxPair]]:
        return (self[i] for i in range(len(self)))

    def __eq__(self, other) -> bool:
        if not isinstance(other, BoxPairs):
            return NotImplemented
        return (np.array_equal(self.has_patch, other.has_patch) and np.array_equal(self.source, other.source)
                and np.array_equal(self.target, other.target))

    def __repr__(self) -> str:
        return f"BoxPairs({list(self)})"

    def where(self, mask: np.ndarray, other: "BoxPairs") -> "BoxPairs":
        """These pairs where ``mask`` (B,) is true, ``other``'s elsewhere."""
        m = np.asarray(mask, dtype=bool)
        return BoxPairs(np.where(m[:, None], self.source, other.source),
                        np.where(m[:, None], self.target, other.target),
                        np.where(m, self.has_patch, other.has_patch))


def peak_positions(maps: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """First maximum and first minimum (row-major) of each (B, H, W) map, as (B, 2) [y, x] on the CPU."""
    flat = maps.flatten(1)
    width = maps.shape[-1]
    # torch.argmax/argmin return the first occurrence, like np.argmax on a C-order array.
    return flat_to_yx(flat.argmax(1), width), flat_to_yx(flat.argmin(1), width)


def flat_to_yx(index: torch.Tensor, width: int) -> torch.Tensor:
    """Row-major flat indices (B,) or (B, K) into an image of ``width`` columns -> (B, 2) or (B, K, 2)
    int64 [y, x] on the CPU.

    One device-to-host copy, then numpy (no torch op per coordinate: this runs on every mixing step).
    """
    flat = index.cpu().numpy().astype(np.int64, copy=False)
    yx = np.empty(flat.shape + (2,), dtype=np.int64)
    np.divmod(flat, width, out=(yx[..., 0], yx[..., 1]))
    return torch.from_numpy(yx)


def saliency_boxes(source_point: Tuple[int, int], target_point: Tuple[int, int], lam: float,
                   image_size: Tuple[int, int], scheme: str, border: str = "shift") -> Tuple[Box, Box]:
    """Source and target boxes of one sample (the placement schemes of paper sec. 3.4).

    The source box is placed around its point with ``border``; the target box has the same size, at the
    same place ('corresponding') or shifted around the target point.

    Args:
        source_point: (y, x), the source map's max (or min, by scheme).
        target_point: (y, x), the target map's max or min; ignored for 'corresponding'.
        lam: the share of the target kept, in [0, 1]; sets the patch size as ``patch_size``.
        image_size: (H, W) of both images.
        scheme: one of the placement schemes (``SCHEMES``), e.g. 'salient_to_corresponding'.
        border: 'shift' or 'clip', as ``box_around``.

    Returns:
        (source box, target box), each ``(y0, y1, x0, x1)``.
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
    return _needed(*_source_and_target_images(batch, chosen, per), check_scheme(scheme)[1] == "same").tolist()


def _source_and_target_images(batch: int, chosen, per: str) -> Tuple[np.ndarray, np.ndarray]:
    """``partners`` as arrays: for each chosen sample, the image its patch comes from and the one it goes to."""
    chosen = np.asarray(chosen, dtype=np.int64).reshape(-1)
    if check_per(per) == "sample":
        return batch - 1 - chosen, chosen
    return np.full_like(chosen, batch - 1), np.zeros_like(chosen)


def _needed(sources: np.ndarray, targets: np.ndarray, same_place: bool) -> np.ndarray:
    """The distinct image indices, sorted (a count per index: O(B), where np.unique hashes or sorts)."""
    images = sources if same_place else np.concatenate([sources, targets])
    if not len(images):
        return images
    return np.flatnonzero(np.bincount(images, minlength=int(images.max()) + 1))


def batch_box_pairs(batch: int, chosen: Sequence[int], lam: Sequence[float], image_size: Tuple[int, int],
                    maxima, minima, scheme: str = "salient_to_corresponding", border: str = "shift",
                    per: str = "sample") -> BoxPairs:
    """Peaks -> the boxes of every SaliencyMix sample of a batch, as arrays (paper sec. 3.1-3.4). Pure.

    The batch form of ``saliency_box_pairs``: the same boxes, computed with a fixed number of numpy
    operations whatever the batch size (no Python step per sample).

    Args:
        batch, chosen, lam, image_size, maxima, minima, scheme, border, per: as ``saliency_box_pairs``.
    Returns:
        ``BoxPairs`` of B rows; ``has_patch`` is true exactly for ``chosen``.
    Raises:
        ValueError: peaks for another number of images than ``images_needed`` gives, an unknown
            scheme, border or per, or a lambda outside [0, 1].

    >>> pairs = batch_box_pairs(2, [0, 1], [0.75, 0.75], (8, 8), [[1, 1], [6, 6]], [[0, 0], [0, 0]])
    >>> pairs.source.tolist(), pairs.target.tolist()
    ([[4, 8, 4, 8], [0, 4, 0, 4]], [[4, 8, 4, 8], [0, 4, 0, 4]])
    """
    source_kind, target_kind = check_scheme(scheme)
    check_border(border)
    chosen = np.asarray(chosen, dtype=np.int64).reshape(-1)
    maxima = np.asarray(maxima, dtype=np.int64).reshape(-1, 2)
    minima = np.asarray(minima, dtype=np.int64).reshape(-1, 2)
    source_image, target_image = _source_and_target_images(batch, chosen, per)
    same = target_kind == "same"
    needed = _needed(source_image, target_image, same)
    if len(maxima) != len(needed) or len(minima) != len(needed):
        raise ValueError(f"need the peaks of {len(needed)} maps (images {needed[:8].tolist()}...), "
                         f"got {len(maxima)}")
    pick = {"max": maxima, "min": minima}
    if not len(chosen):
        return BoxPairs.empty(batch)
    # Peaks row of each image: the image itself when every image was needed (the usual per-sample step).
    every_image = len(needed) == batch
    source_points = pick[source_kind][source_image if every_image else np.searchsorted(needed, source_image)]
    lam = np.asarray(lam, dtype=np.float64).reshape(-1)
    whole_batch = len(chosen) == batch and bool((chosen == np.arange(batch)).all())
    sizes = patch_sizes(lam if whole_batch else lam[chosen], *image_size)
    source = boxes_around(source_points, sizes, image_size, border)
    if same:
        target = source
    else:
        target_points = pick[target_kind][target_image if every_image else np.searchsorted(needed, target_image)]
        target = boxes_around(target_points, source[:, 1::2] - source[:, 0::2], image_size, "shift")
    if whole_batch:
        return BoxPairs(source, target, np.ones(batch, dtype=bool))
    pairs = BoxPairs.empty(batch)
    pairs.source[chosen] = source
    pairs.target[chosen] = target
    pairs.has_patch[chosen] = True
    return pairs


def saliency_box_pairs(batch: int, chosen: Sequence[int], lam: Sequence[float], image_size: Tuple[int, int],
                       maxima, minima, scheme: str = "salient_to_corresponding", border: str = "shift",
                       per: str = "sample") -> List[Optional[BoxPair]]:
    """Peaks -> the source/target boxes of every SaliencyMix sample of a batch (paper sec. 3.1-3.4). Pure.

    The single-sample form, one ``saliency_boxes`` call per sample: the documented definition and the
    tests' oracle for ``batch_box_pairs``, which the mixing classes use.

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
