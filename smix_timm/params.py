"""Random mixing parameters: everything random in a mixing step, drawn apart from the apply step.

``sample_mix_params`` decides, per sample, which method mixes it (none, Mixup,
CutMix or SaliencyMix) and its lambda, and draws CutMix's random boxes. The
SaliencyMix boxes are not random (they follow the saliency peak) and are made
in the apply step. Given the same generator state the same params come out,
so a mixing step can be replayed and tested on its own.

CutMix boxes follow the installed timm's ``rand_bbox`` / ``rand_bbox_minmax`` rules exactly (see
``random_cutmix_boxes``). Drawn from numpy's global RNG (or a RandomState) with SaliencyMix off,
'batch' mode makes timm's ``Mixup`` draws in timm's order (apply, switch, lambda, box), so the same
seed gives the same method, lambda and box batch after batch; it parts from timm's stream only after
a batch left unmixed (``prob < 1``) with both Mixup and CutMix on (one more uniform drawn here) or a
CutMix lambda of exactly 1.0 (a box drawn here, none in timm). 'pair'/'elem'/'half' draw the same
distribution in another order than timm's ``_params_per_elem`` (all applies, all switches, then the
lambdas of each kind), so there the same seed does not give timm's batch.

Semantics follow timm.data.Mixup: ``prob`` is the chance to mix at all,
``switch_prob`` the chance of a patch method (CutMix/SaliencyMix) instead of
Mixup when both kinds are active; when CutMix and SaliencyMix are both active
each takes half of the patch draws. ``mode``: one draw per batch ('batch'), per
pair (i, B-1-i) ('pair'), per element ('elem'; 'half' is 'elem' on the first half).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from .placement import Box, box_areas

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


def _randint(rng, low, high) -> np.ndarray:
    """Uniform integers in [low, high) (arrays broadcast), drawn one after the other in C order.

    An array of bounds consumes the stream exactly as the same number of scalar calls would (checked
    for numpy's Generator and RandomState in tests/test_params.py), so timm's per-sample ``randint``
    order is kept without a Python step per sample.
    """
    draw = rng.integers if isinstance(rng, np.random.Generator) else rng.randint
    return np.asarray(draw(low, high), dtype=np.int64)


@dataclass(frozen=True)
class MixConfig:
    """The static part: which methods are active and how they are chosen (timm ``Mixup``'s arguments).

    Args:
        mixup_alpha: Beta(alpha, alpha) for MixUp's lambda; 0 turns MixUp off.
        cutmix_alpha: Beta(alpha, alpha) for CutMix's lambda; 0 turns CutMix off.
        saliencymix_alpha: Beta(alpha, alpha) for SaliencyMix's lambda (paper sec. 3.2); 0 turns it off.
        cutmix_minmax: (min, max) share of the side for a CutMix box drawn as timm's ``rand_bbox_minmax``;
            None draws from the lambda. Used only with ``cutmix_alpha`` > 0 (timm's ``Mixup``, and so
            ``SaliencyMix``, sets ``cutmix_alpha`` to 1.0 when a range is given).
        prob: chance that a batch (or sample, per ``mode``) is mixed at all.
        switch_prob: with MixUp and a patch method both on, the chance of the patch method over MixUp
            (timm's meaning); with CutMix and SaliencyMix both on, a patch is either one half the time.
        mode: 'batch', 'pair', 'elem' or 'half': how many draws a batch gets, as timm's ``mode``.
    """
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
    """Per-sample draws for one batch of ``len(kind)`` samples (sample i mixes with B-1-i).

    Args:
        kind: int8 (B,), the method per sample: NONE, MIXUP, CUTMIX or SALIENCYMIX.
        lam: float64 (B,), the drawn share of each sample's own image (the paper's lambda, sec. 3.2); for
            CutMix without ``cutmix_minmax`` the Beta draw, which the apply step corrects from the
            clipped box as timm's ``correct_lam``.
        cutmix_box: the CutMix boxes, (B, 4) int64 ``[y0, y1, x0, x1]`` with zero rows for other kinds, or a
            list of B boxes or None; ``cutmix_boxes`` reads either.
        image_size: (H, W) the draws were made for; None when not recorded.
    """
    kind: np.ndarray                       # int8 (B,): NONE / MIXUP / CUTMIX / SALIENCYMIX
    lam: np.ndarray                        # float64 (B,): share of the sample's own image
    # CutMix boxes, (B, 4) int64 [y0, y1, x0, x1]; rows of other kinds are zero. A list of B entries,
    # a box or None, is accepted too (params written by hand) and read by ``cutmix_boxes``.
    cutmix_box: Union[np.ndarray, List[Optional[Box]]] = field(default_factory=list)
    image_size: Optional[Tuple[int, int]] = None  # (H, W) the draws are for; None: not recorded

    def __len__(self) -> int:
        return len(self.kind)

    def cutmix_boxes(self) -> np.ndarray:
        """The CutMix boxes as a (B, 4) int64 array, zero rows for the other samples.

        Raises:
            ValueError: a box list or array of another length than the batch, or a CUTMIX sample without a box.
        """
        batch = len(self.kind)
        cutmix = np.asarray(self.kind) == CUTMIX
        boxes = self.cutmix_box
        if isinstance(boxes, np.ndarray):
            if boxes.shape != (batch, 4):
                raise ValueError(f"params.cutmix_box must be a ({batch}, 4) array, got shape {boxes.shape}")
            return np.where(cutmix[:, None], boxes.astype(np.int64, copy=False), 0)
        boxes = list(boxes or [])
        if not boxes and not cutmix.any():
            return np.zeros((batch, 4), dtype=np.int64)
        if len(boxes) != batch:
            raise ValueError(f"params.cutmix_box has {len(boxes)} entries but the batch has {batch} samples")
        missing = [i for i in np.flatnonzero(cutmix) if boxes[i] is None]
        if missing:
            raise ValueError(f"params.cutmix_box has no box for the CutMix samples {missing[:8]}")
        rows = [box if box is not None and cutmix[i] else (0, 0, 0, 0) for i, box in enumerate(boxes)]
        return np.array(rows, dtype=np.int64).reshape(batch, 4)


def check_cutmix_minmax(minmax: Optional[Sequence[float]], height: int, width: int) -> None:
    """Refuse a ``cutmix_minmax`` whose largest patch is under one pixel on ``height`` x ``width`` images.

    Raises:
        ValueError: naming the smallest maximum that works for this image size.
    """
    if minmax is not None and min(int(height * minmax[1]), int(width * minmax[1])) < 1:
        raise ValueError(f"cutmix_minmax={tuple(minmax)} gives CutMix patches under one pixel on {height}x{width} "
                         f"images; raise its maximum to at least {1.0 / min(height, width):.4g}")


class TimmBoxRules(NamedTuple):
    """The two places where timm's CutMix box rules changed between releases.

    ``odd_end_up``: ``rand_bbox`` ends a box at ``centre + (side + 1) // 2``, so an odd side keeps all its
    pixels (timm 1.0.31); False: at ``centre + side // 2``, one pixel short for odd sides (timm up to
    1.0.28 and the 1.0.29 development tree of 8 Aug 2026). ``flush_start``: ``rand_bbox_minmax`` draws
    the start from ``[0, H - side]``, so a box may touch the far edge (timm 1.0.31); False: from
    ``[0, H - side)`` (the older releases).
    """
    odd_end_up: bool
    flush_start: bool


@lru_cache(maxsize=None)
def timm_box_rules() -> TimmBoxRules:
    """The box rules of the installed timm, read once per process from what its functions return.

    Two calls whose result does not depend on the draw: ``rand_bbox((1, 1), 0.0)`` (a 1-pixel side
    centred on pixel 0: the box ends at 1 or 0) and ``rand_bbox_minmax((1, 1), (1.0, 2.0))`` (a 1-pixel
    side: start drawn from [0, 0], or a ValueError for the empty [0, 0)). numpy's global RNG, which
    timm draws from, is restored afterwards, so the probe changes no one's stream. A timm without these
    functions gets the 1.0.31 rules.
    """
    try:
        from timm.data import mixup as timm_mixup
        state = np.random.get_state()
    except Exception:  # noqa: BLE001 - no timm or no such module: the current rules
        return TimmBoxRules(True, True)
    try:
        try:
            odd_end_up = int(timm_mixup.rand_bbox((1, 1), 0.0)[1]) == 1
        except Exception:  # noqa: BLE001
            odd_end_up = True
        try:
            flush_start = int(timm_mixup.rand_bbox_minmax((1, 1), (1.0, 2.0))[1]) == 1
        except ValueError:  # randint(0, 0): the start range excludes H - side
            flush_start = False
        except Exception:  # noqa: BLE001
            flush_start = True
    finally:
        np.random.set_state(state)
    return TimmBoxRules(odd_end_up, flush_start)


def random_cutmix_boxes(rng, lam: np.ndarray, height: int, width: int,
                        minmax: Optional[Sequence[float]] = None) -> np.ndarray:
    """N CutMix boxes at once, (N,) lambdas -> (N, 4) int64 [y0, y1, x0, x1] (half-open, inside the image).

    The boxes are the installed timm's (``timm_box_rules``; timm 1.0.31 is what the tests pin), drawn
    from ``rng`` with the same ``randint`` calls timm makes on numpy's global RNG. So with ``rng`` a
    ``RandomState`` (or None in ``make_rng``: the global RNG itself) in the state timm's RNG is in, the
    boxes are bit for bit timm's; a ``Generator`` (an int seed) draws from another stream, by the same rules.

    Without ``minmax`` (timm's ``rand_bbox``, margin 0): side ``int(H * sqrt(1 - lam))``, computed as
    timm does in the dtype of ``lam`` (float32 lambdas, which timm's Mixup passes in 'elem'/'pair'/'half'
    modes, in float32 arithmetic: for a few lambdas in a million that side is one pixel off the float64
    one), a centre drawn row then column, the box ``[c - side // 2, c + (side + 1) // 2)`` clipped to
    the image (older timm, ``TimmBoxRules``: ``c + side // 2``, an odd side one pixel short). For N > 1
    the draws are those of N calls of timm's ``rand_bbox`` one after the other (what timm's Mixup does
    per sample), not of one call with ``count=N`` (which draws all rows before all columns).

    With ``minmax`` (timm's ``rand_bbox_minmax``; the lambdas are ignored): sides uniform in
    ``[int(H * min), int(H * max))``, the start uniform in ``[0, H - side]`` (older timm: ``[0, H - side)``;
    an empty side range raises numpy's ValueError, as in timm). For N = 1 the draws are those of one
    call of timm's function. For N > 1 they are those of one call with ``count=N`` (all heights, all
    widths, all top rows, all left columns), not of N calls one after the other as timm's Mixup makes in
    'elem'/'pair' modes: each start's range depends on its side, and numpy's rejection sampling uses a
    varying number of words per draw, so that order cannot be drawn without a Python step per sample.
    The distribution is the same.
    """
    lam = np.asarray(lam)
    lam = (lam if lam.dtype == np.float32 else lam.astype(np.float64)).reshape(-1)
    height, width, n = int(height), int(width), len(lam)
    rules = timm_box_rules()
    if minmax is not None:
        cut_h = _randint(rng, np.full(n, int(height * minmax[0])), np.full(n, int(height * minmax[1])))
        cut_w = _randint(rng, np.full(n, int(width * minmax[0])), np.full(n, int(width * minmax[1])))
        flush = int(rules.flush_start)
        y0 = _randint(rng, np.zeros(n, np.int64), height - cut_h + flush)
        x0 = _randint(rng, np.zeros(n, np.int64), width - cut_w + flush)
        return np.stack([y0, y0 + cut_h, x0, x0 + cut_w], axis=1).reshape(n, 4)
    ratio = np.sqrt(1 - lam)  # float32 lambdas stay float32, as in timm
    cut_h, cut_w = (height * ratio).astype(np.int64), (width * ratio).astype(np.int64)
    centre = _randint(rng, 0, np.tile([height, width], n)).reshape(n, 2)
    cy, cx = centre[:, 0], centre[:, 1]
    up = int(rules.odd_end_up)
    return np.stack([np.clip(cy - cut_h // 2, 0, height), np.clip(cy + (cut_h + up) // 2, 0, height),
                     np.clip(cx - cut_w // 2, 0, width), np.clip(cx + (cut_w + up) // 2, 0, width)],
                    axis=1).reshape(n, 4)


def random_cutmix_box(rng, lam: float, height: int, width: int,
                      minmax: Optional[Sequence[float]] = None) -> Box:
    """One CutMix box ``(y0, y1, x0, x1)``: the box timm's ``rand_bbox((H, W), lam)`` (or
    ``rand_bbox_minmax((H, W), minmax)``) returns, same draws (``random_cutmix_boxes`` with N = 1)."""
    return tuple(int(v) for v in random_cutmix_boxes(rng, np.array([lam]), height, width, minmax)[0])


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
    """Draw kind, lambda and CutMix boxes for a batch (pure given ``rng``'s state).

    The boxes are ``random_cutmix_boxes``'s, from each CutMix sample's lambda as timm's ``Mixup``
    passes it to ``rand_bbox``: float64 in 'batch' mode, rounded to float32 in the other modes (timm's
    per-sample lambdas are float32). 'batch' draws one box; 'pair' one per pair, for its first sample;
    'elem'/'half' one per CutMix sample, in sample order. With ``cutmix_minmax`` the CutMix lambdas become
    ``1 - box area / (H * W)``, as timm's ``cutmix_bbox_and_lam``; without it they stay the Beta draws
    and the apply step makes timm's ``correct_lam`` correction from the (clipped) box.

    Args:
        rng: a ``numpy.random.Generator`` or ``RandomState``; the only source of randomness.
        cfg: the validated ``MixConfig``.
        batch_size: B, the number of samples.
        image_size: (H, W) of the batch, for the CutMix boxes.
        enabled: False draws no mixing at all (every sample NONE, lambda 1), as timm's ``mixup_enabled``.

    Returns:
        ``MixParams`` for the batch.
    """
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
    boxes = np.zeros((batch_size, 4), dtype=np.int64)
    cut = np.flatnonzero(kind == CUTMIX)
    # timm's Mixup hands rand_bbox a float64 lambda per batch, a float32 one per sample (_params_per_elem)
    box_lam = lam if cfg.mode == "batch" else lam.astype(np.float32)
    if len(cut) and cfg.mode == "batch":  # one box for the whole batch, as timm
        boxes[cut] = random_cutmix_boxes(rng, box_lam[cut[:1]], height, width, cfg.cutmix_minmax)
    elif len(cut) and cfg.mode == "pair":  # a pair swaps the same box: draw for the first of each pair
        first = cut[cut < batch_size - 1 - cut]
        boxes[first] = random_cutmix_boxes(rng, box_lam[first], height, width, cfg.cutmix_minmax)
        boxes[batch_size - 1 - first] = boxes[first]
    elif len(cut):
        boxes[cut] = random_cutmix_boxes(rng, box_lam[cut], height, width, cfg.cutmix_minmax)
    if cfg.cutmix_minmax is not None:  # min-max boxes ignore lambda: it comes from the box (as timm)
        lam[cut] = 1.0 - box_areas(boxes[cut]) / float(height * width)
    return MixParams(kind=kind, lam=lam, cutmix_box=boxes, image_size=(int(height), int(width)))
