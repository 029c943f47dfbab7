"""Random mixing parameters: everything random in a mixing step, drawn apart from the apply step.

``sample_mix_params`` decides, per sample, which method mixes it (none, Mixup,
CutMix or SaliencyMix) and its lambda, and draws CutMix's random boxes. The
SaliencyMix boxes are not random (they follow the saliency peak) and are made
in the apply step. Given the same generator state the same params come out,
so a mixing step can be replayed and tested on its own.

Semantics follow timm.data.Mixup: ``prob`` is the chance to mix at all,
``switch_prob`` the chance of a patch method (CutMix/SaliencyMix) instead of
Mixup when both kinds are active; when CutMix and SaliencyMix are both active
each takes half of the patch draws. ``mode``: one draw per batch ('batch'), per
pair (i, B-1-i) ('pair'), per element ('elem'; 'half' is 'elem' on the first half).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from .placement import Box, box_area

NONE, MIXUP, CUTMIX, SALIENCYMIX = 0, 1, 2, 3
KIND_NAMES = {NONE: "none", MIXUP: "mixup", CUTMIX: "cutmix", SALIENCYMIX: "saliencymix"}
MODES = ("batch", "pair", "elem", "half")

RandomSource = Union[None, int, np.random.Generator, np.random.RandomState]


def make_rng(seed: RandomSource):
    """None: numpy's global RNG (what timm's Mixup uses, seeded by timm's ``random_seed``);
    an int: a private ``np.random.Generator``; a Generator/RandomState: used as is."""
    if seed is None:
        return np.random.mtrand._rand
    if isinstance(seed, (np.random.Generator, np.random.RandomState)):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        if seed < 0:
            raise ValueError(f"seed must be an int >= 0 (numpy's seeds are non-negative), got {seed}")
        return np.random.default_rng(int(seed))
    raise TypeError(f"seed must be None, an int or a numpy Generator/RandomState, got {type(seed).__name__}")


def _randint(rng, low: int, high: int) -> int:
    draw = rng.integers if isinstance(rng, np.random.Generator) else rng.randint
    return int(draw(low, high))


@dataclass(frozen=True)
class MixConfig:
    """The static part: which methods are active and how they are chosen."""
    mixup_alpha: float = 1.0
    cutmix_alpha: float = 0.0
    saliencymix_alpha: float = 0.0
    cutmix_minmax: Optional[Tuple[float, float]] = None
    prob: float = 1.0
    switch_prob: float = 0.5
    mode: str = "batch"

    def validate(self) -> "MixConfig":
        for name in ("mixup_alpha", "cutmix_alpha", "saliencymix_alpha"):
            if not 0 <= getattr(self, name) < float("inf"):  # NaN fails too
                raise ValueError(f"{name} must be >= 0 and finite (0 disables it), got {getattr(self, name)}")
        if not (self.mixup_alpha > 0 or self.cutmix_alpha > 0 or self.saliencymix_alpha > 0):
            raise ValueError("nothing to mix: set at least one of mixup_alpha, cutmix_alpha, "
                             "saliencymix_alpha > 0 (or cutmix_minmax)")
        for name in ("prob", "switch_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.cutmix_minmax is not None:
            lo, hi = self.cutmix_minmax
            if not 0.0 < lo < hi <= 1.0:
                raise ValueError(f"cutmix_minmax must be (min, max) with 0 < min < max <= 1, got {self.cutmix_minmax}")
        return self


@dataclass
class MixParams:
    """Per-sample draws for one batch of ``len(kind)`` samples (sample i mixes with B-1-i)."""
    kind: np.ndarray                       # int8 (B,): NONE / MIXUP / CUTMIX / SALIENCYMIX
    lam: np.ndarray                        # float64 (B,): share of the sample's own image
    cutmix_box: List[Optional[Box]] = field(default_factory=list)  # per sample, CUTMIX only
    image_size: Optional[Tuple[int, int]] = None  # (H, W) the draws are for; None: not recorded

    def __len__(self) -> int:
        return len(self.kind)


def check_cutmix_minmax(minmax: Optional[Sequence[float]], height: int, width: int) -> None:
    """Refuse a ``cutmix_minmax`` whose largest patch is under one pixel on ``height`` x ``width`` images.

    Raises:
        ValueError: naming the smallest maximum that works for this image size.
    """
    if minmax is not None and min(int(height * minmax[1]), int(width * minmax[1])) < 1:
        raise ValueError(f"cutmix_minmax={tuple(minmax)} gives CutMix patches under one pixel on {height}x{width} "
                         f"images; raise its maximum to at least {1.0 / min(height, width):.4g}")


def random_cutmix_box(rng, lam: float, height: int, width: int,
                      minmax: Optional[Sequence[float]] = None) -> Box:
    """A CutMix box with timm's rand_bbox / rand_bbox_minmax distribution, drawn from ``rng``."""
    if minmax is not None:
        cut_h = _randint(rng, int(height * minmax[0]), int(height * minmax[1]))
        cut_w = _randint(rng, int(width * minmax[0]), int(width * minmax[1]))
        y0 = _randint(rng, 0, height - cut_h + 1)
        x0 = _randint(rng, 0, width - cut_w + 1)
        return y0, y0 + cut_h, x0, x0 + cut_w
    ratio = np.sqrt(1.0 - lam)
    cut_h, cut_w = int(height * ratio), int(width * ratio)
    cy, cx = _randint(rng, 0, height), _randint(rng, 0, width)
    return (int(np.clip(cy - cut_h // 2, 0, height)), int(np.clip(cy + (cut_h + 1) // 2, 0, height)),
            int(np.clip(cx - cut_w // 2, 0, width)), int(np.clip(cx + (cut_w + 1) // 2, 0, width)))


def _draw(rng, cfg: MixConfig, count: int, enabled: bool) -> Tuple[np.ndarray, np.ndarray]:
    kind = np.full(count, NONE, dtype=np.int8)
    lam = np.ones(count, dtype=np.float64)
    if not enabled or count == 0:
        return kind, lam
    apply = rng.random(count) < cfg.prob
    patch_kinds = [k for k, a in ((CUTMIX, cfg.cutmix_alpha), (SALIENCYMIX, cfg.saliencymix_alpha)) if a > 0]
    if cfg.mixup_alpha > 0 and patch_kinds:
        use_patch = rng.random(count) < cfg.switch_prob
    else:
        use_patch = np.full(count, bool(patch_kinds))
    patch_kind = np.full(count, patch_kinds[0] if patch_kinds else NONE, dtype=np.int8)
    if len(patch_kinds) == 2:
        patch_kind = np.where(rng.random(count) < 0.5, SALIENCYMIX, CUTMIX).astype(np.int8)
    kind = np.where(apply, np.where(use_patch, patch_kind, MIXUP), NONE).astype(np.int8)
    alpha = {MIXUP: cfg.mixup_alpha, CUTMIX: cfg.cutmix_alpha, SALIENCYMIX: cfg.saliencymix_alpha}
    for k, a in alpha.items():
        sel = kind == k
        if sel.any():
            lam[sel] = rng.beta(a, a, size=int(sel.sum()))
    return kind, lam


def sample_mix_params(rng, cfg: MixConfig, batch_size: int, image_size: Tuple[int, int],
                      enabled: bool = True) -> MixParams:
    """Draw kind, lambda and CutMix boxes for a batch (pure given ``rng``'s state)."""
    height, width = image_size
    check_cutmix_minmax(cfg.cutmix_minmax, height, width)
    half = batch_size // 2
    if cfg.mode == "batch":
        kinds, lams = _draw(rng, cfg, 1, enabled)
        kind, lam = np.repeat(kinds, batch_size), np.repeat(lams, batch_size)
    elif cfg.mode == "pair":
        kinds, lams = _draw(rng, cfg, half, enabled)
        kind = np.concatenate([kinds, np.full(batch_size - 2 * half, NONE, np.int8), kinds[::-1]])
        lam = np.concatenate([lams, np.ones(batch_size - 2 * half), lams[::-1]])
    else:
        n = half if cfg.mode == "half" else batch_size
        kind, lam = _draw(rng, cfg, n, enabled)
        kind = np.concatenate([kind, np.full(batch_size - n, NONE, np.int8)])
        lam = np.concatenate([lam, np.ones(batch_size - n)])
    if batch_size % 2 == 1:  # the middle sample is its own partner: leave it as it is
        kind[half], lam[half] = NONE, 1.0
    boxes: List[Optional[Box]] = [None] * batch_size
    cut = np.flatnonzero(kind == CUTMIX)
    if cfg.mode == "batch" and len(cut):  # one box for the whole batch, as timm
        box = random_cutmix_box(rng, float(lam[cut[0]]), height, width, cfg.cutmix_minmax)
        for i in cut:
            boxes[i] = box
    else:
        for i in cut:
            partner = batch_size - 1 - i
            if cfg.mode == "pair" and boxes[partner] is not None:  # a pair swaps the same box
                boxes[i] = boxes[partner]
            else:
                boxes[i] = random_cutmix_box(rng, float(lam[i]), height, width, cfg.cutmix_minmax)
    if cfg.cutmix_minmax is not None:  # min-max boxes ignore lambda: it comes from the box (as timm)
        for i in cut:
            lam[i] = 1.0 - box_area(boxes[i]) / float(height * width)
    return MixParams(kind=kind, lam=lam, cutmix_box=boxes, image_size=(int(height), int(width)))
