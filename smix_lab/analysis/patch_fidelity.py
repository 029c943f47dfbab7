"""Patch fidelity: on annotated images, how often does a mixing method's patch carry the object?

SaliencyMix's premise (paper sec. 1 and Fig. 1): a patch cut at random (CutMix) may hold only
background, yet it is given a label weight equal to its area; a patch cut around the saliency peak
should hold the object, so the label weight is earned. Whether that premise holds depends on the
data: where the most salient thing in an image is not the labelled object, the detector leads the
patch away from it. This module measures it on a user's own annotated images, before any training.

For ``samples`` images (a seeded sample of the set), brought to the training resolution by timm's
own transforms (``crop``: "train" = ``transforms_imagenet_train``'s RandomResizedCrop, "eval" =
``transforms_imagenet_eval``'s resize and centre crop, "none" = a plain resize), every method cuts
one patch per image with the same lambda (Beta(alpha, alpha), one draw per image shared by all
methods). Images are mixed in batches exactly as in training: sample i takes its patch from image
B-1-i. Per patch:

- ``object_share``: the share of the patch's pixels that lie on an annotated object;
- ``any_object``: whether the patch holds at least one object pixel;
- ``honest``: whether ``object_share`` >= the label weight the patch is given (its area share,
  timm's ``correct_lam``): the label is no larger than the object evidence pasted with it.

Each is reported with a 95 % interval (t interval for the mean share, cut to [0, 1]; Wilson's for the two
proportions), plus the paired difference of ``object_share`` to CutMix (same images and lambdas).
Patches of zero pixels (lambda = 1) carry nothing and are left out.

Command line: ``python tools/analysis/patch_fidelity.py --data PATH --size 224``.
"""
from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
import torch
from PIL import Image

from smix_lab.analysis.annotated import AnnotatedImage
from smix_lab.study.stats import mean_interval, paired_difference, wilson_interval
from smix_timm.apply import label_weights, patch_box_pairs
from smix_timm.mix import SaliencyMix
from smix_timm.params import CUTMIX, SALIENCYMIX, MixParams, random_cutmix_boxes
from smix_timm.placement import BoxPairs

CUTMIX_NAME = "CutMix"
DETECTORS = ("fine_grained", "spectral_residual", "frequency_tuned")
CROPS = ("train", "eval", "none")


@dataclass(frozen=True)
class FidelitySettings:
    """What the check reproduces of a training run (sizes in pixels).

    Attributes:
        size: the training resolution (square).
        crop: "train", "eval" or "none" (see the module docstring).
        alpha: the Beta(alpha, alpha) of the lambdas (``--saliencymix`` / ``--cutmix`` in timm).
        detectors: the saliency detectors to measure, each as its own SaliencyMix method.
        scheme, border, per: SaliencyMix's placement (``smix_timm.SaliencyMix`` arguments).
        samples: how many images to draw from the set (all of them when it has fewer).
        batch: images mixed together (sample i takes its patch from B-1-i).
        seed: the sample, the crops, the lambdas and CutMix's boxes all come from it.
    """
    size: int = 224
    crop: str = "train"
    alpha: float = 1.0
    detectors: Tuple[str, ...] = DETECTORS
    scheme: str = "salient_to_corresponding"
    border: str = "shift"
    per: str = "sample"
    samples: int = 500
    batch: int = 64
    seed: int = 0

    def check(self) -> "FidelitySettings":
        """Raises ValueError naming the setting and its allowed values."""
        if not 8 <= self.size <= 4096:
            raise ValueError(f"--size must be from 8 to 4096 pixels, got {self.size}")
        if self.crop not in CROPS:
            raise ValueError(f"--crop must be one of {', '.join(CROPS)}, got {self.crop!r}")
        if not (self.alpha > 0 and math.isfinite(self.alpha)):
            raise ValueError(f"--alpha must be a positive number (Beta(alpha, alpha)), got {self.alpha}")
        unknown = [d for d in self.detectors if d not in DETECTORS]
        if unknown or not self.detectors:
            raise ValueError(f"--detectors must name some of {', '.join(DETECTORS)}, got {list(self.detectors)}")
        if self.samples < 2 or self.batch < 2:
            raise ValueError(f"--samples and --batch must be at least 2, got {self.samples} and {self.batch}")
        return self


@dataclass
class PatchRecords:
    """Per-patch figures of one method, aligned with the sampled images (NaN/False where no patch).

    Attributes:
        object_share: float64 (N,); NaN where the patch has no pixel.
        any_object, honest: bool (N,).
        weight: float64 (N,): the label weight the patch is given.
        has_patch: bool (N,).
    """
    object_share: np.ndarray
    any_object: np.ndarray
    honest: np.ndarray
    weight: np.ndarray
    has_patch: np.ndarray


@dataclass
class Prepared:
    """The sampled images at training resolution: uint8 (N, 3, S, S), masks bool (N, S, S), their files."""
    images: torch.Tensor
    masks: np.ndarray
    paths: List[str] = field(default_factory=list)


def _timm_geometry(settings: FidelitySettings):
    """timm's own transform for the chosen crop, ending in a uint8 CHW tensor (prefetcher form)."""
    from timm.data.transforms_factory import transforms_imagenet_eval, transforms_imagenet_train
    if settings.crop == "train":
        return transforms_imagenet_train(settings.size, hflip=0.0, vflip=0.0, color_jitter=None,
                                         use_prefetcher=True)
    if settings.crop == "eval":
        return transforms_imagenet_eval(settings.size, use_prefetcher=True)
    return lambda image: torch.from_numpy(np.asarray(
        image.resize((settings.size, settings.size), Image.BILINEAR)).copy()).permute(2, 0, 1)


def prepare(items: Sequence[AnnotatedImage], settings: FidelitySettings,
            log: Callable[[str], None] = print) -> Prepared:
    """Draw the sample and bring each image and its mask to the training resolution with one geometry.

    The mask goes through the same timm transform as the image (as an RGB picture, seeded alike, so
    a random crop is the same crop) and is thresholded at half intensity.

    Raises:
        AnnotationError: from reading an image, its mask or its boxes.
    """
    rng = np.random.default_rng([settings.seed, 0])
    count = min(settings.samples, len(items))
    order = np.sort(rng.choice(len(items), size=count, replace=False))
    geometry = _timm_geometry(settings)
    crop_seeds = rng.integers(0, 2 ** 31, size=count)
    images = torch.empty((count, 3, settings.size, settings.size), dtype=torch.uint8)
    masks = np.empty((count, settings.size, settings.size), dtype=bool)
    saved, start = random.getstate(), time.time()
    try:
        for row, index in enumerate(order):
            image, mask = items[int(index)].load()
            random.seed(int(crop_seeds[row]))  # timm's RandomResizedCrop draws from Python's random module
            images[row] = geometry(image)
            random.seed(int(crop_seeds[row]))
            masks[row] = geometry(Image.fromarray(mask.astype(np.uint8) * 255).convert("RGB"))[0].numpy() > 127
            if log and (row + 1) % 100 == 0:
                log(f"[patch_fidelity] read {row + 1}/{count} images ({time.time() - start:.0f}s)")
    finally:
        random.setstate(saved)
    return Prepared(images, masks, [items[int(i)].image_path for i in order])


def _integral(masks: np.ndarray) -> np.ndarray:
    """(N, H+1, W+1) int64 summed-area tables of the masks: any box's object pixels in four lookups."""
    table = np.zeros((masks.shape[0], masks.shape[1] + 1, masks.shape[2] + 1), dtype=np.int64)
    table[:, 1:, 1:] = masks.cumsum(1, dtype=np.int64).cumsum(2)
    return table


def _object_pixels(table: np.ndarray, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Object pixels inside ``boxes`` ((K, 4) [y0, y1, x0, x1]) of images ``image`` ((K,) indices)."""
    y0, y1, x0, x1 = boxes.T
    return table[image, y1, x1] - table[image, y0, x1] - table[image, y1, x0] + table[image, y0, x0]


def _batch_pairs(method: str, x: torch.Tensor, lam: np.ndarray, settings: FidelitySettings,
                 cutmix_rng: np.random.Generator) -> Tuple[MixParams, BoxPairs]:
    """The step's params and patch boxes for one batch, as the library computes them in training."""
    batch, size = len(x), settings.size
    if method == CUTMIX_NAME:
        kind = np.full(batch, CUTMIX, dtype=np.int8)
        params = MixParams(kind, lam.copy(), random_cutmix_boxes(cutmix_rng, lam, size, size), (size, size))
        return params, patch_box_pairs(params, BoxPairs.empty(batch))
    mixer = SaliencyMix(mixup_alpha=0.0, saliencymix_alpha=settings.alpha, method=method, scheme=settings.scheme,
                        border=settings.border, per=settings.per, mode="elem", num_classes=2)
    params = MixParams(np.full(batch, SALIENCYMIX, dtype=np.int8), lam.copy(), np.zeros((batch, 4), np.int64),
                       (size, size))
    return params, patch_box_pairs(params, mixer.saliency_box_pairs(x, params))


def methods_of(settings: FidelitySettings) -> List[str]:
    """CutMix first (the reference), then one SaliencyMix method per detector."""
    return [CUTMIX_NAME] + [f"SaliencyMix {d}" for d in settings.detectors]


def measure(data: Prepared, settings: FidelitySettings, log: Callable[[str], None] = print,
            keep_examples: int = 0) -> Tuple[Dict[str, PatchRecords], Dict[str, Tuple[MixParams, BoxPairs]]]:
    """Every method's patch on every sampled image (the same lambdas for all methods).

    Returns:
        (records by method, the first batch's (params, pairs) by method when ``keep_examples`` > 0).
    """
    count, size = len(data.images), settings.size
    lam = np.random.default_rng([settings.seed, 1]).beta(settings.alpha, settings.alpha, size=count)
    table = _integral(data.masks)
    records, examples = {}, {}
    for method in methods_of(settings):
        start, cutmix_rng = time.time(), np.random.default_rng([settings.seed, 2])
        source = np.empty((count, 4), dtype=np.int64)
        weight = np.empty(count)
        has_patch = np.empty(count, dtype=bool)
        for first in range(0, count, settings.batch):
            x = data.images[first:first + settings.batch]
            params, pairs = _batch_pairs(method.replace("SaliencyMix ", ""), x, lam[first:first + len(x)],
                                         settings, cutmix_rng)
            rows = slice(first, first + len(x))
            source[rows], has_patch[rows] = pairs.source, pairs.has_patch
            weight[rows] = 1.0 - label_weights(params, pairs, (size, size), correct_lam=True)
            if keep_examples and first == 0:
                examples[method] = (params, pairs)
        # sample i of a batch takes its patch from image B-1-i of that batch
        starts = (np.arange(count) // settings.batch) * settings.batch
        lengths = np.minimum(settings.batch, count - starts)
        partner = starts + lengths - 1 - (np.arange(count) - starts)
        area = (source[:, 1] - source[:, 0]) * (source[:, 3] - source[:, 2])
        has_patch &= area > 0
        inside = _object_pixels(table, partner, source)
        share = np.where(has_patch, inside / np.maximum(area, 1), np.nan)
        records[method] = PatchRecords(share, has_patch & (inside > 0), has_patch & (share >= weight - 1e-12),
                                       np.where(has_patch, weight, np.nan), has_patch)
        if log:
            log(f"[patch_fidelity] {method}: {int(has_patch.sum())} patches ({time.time() - start:.1f}s)")
    return records, examples


def _within(figure: Dict, low: float, high: float) -> Dict:
    """``figure``'s interval cut to the range the quantity can take (a t interval on few, skewed values
    can reach past it: a share of 6 patches, say)."""
    return dict(figure, low=max(low, figure["low"]), high=min(high, figure["high"]))


def summarise(records: Dict[str, PatchRecords]) -> Dict[str, Dict]:
    """Per method: patches, the three figures with 95 % intervals, the paired difference to CutMix."""
    reference = records[CUTMIX_NAME]
    out = {}
    for method, r in records.items():
        n = int(r.has_patch.sum())
        row = {"patches": n, "object_share": _within(mean_interval(r.object_share[r.has_patch].tolist()), 0.0, 1.0),
               "any_object": wilson_interval(int(r.any_object.sum()), n),
               "honest": wilson_interval(int(r.honest.sum()), n),
               "mean_label_weight": float(np.nanmean(r.weight)) if n else math.nan}
        if method != CUTMIX_NAME:
            both = r.has_patch & reference.has_patch
            row["object_share_minus_cutmix"] = _within(paired_difference(
                r.object_share[both].tolist(), reference.object_share[both].tolist()), -1.0, 1.0) \
                if both.any() else None
        out[method] = row
    return out


def _pct(figure: Dict, key: str = "mean") -> str:
    return f"{100 * figure[key]:.1f}% [{100 * figure['low']:.1f}, {100 * figure['high']:.1f}]"


def to_markdown(summary: Dict[str, Dict]) -> str:
    """The summary as a Markdown table (percentages, 95 % intervals in brackets)."""
    lines = ["| method | patches | patch pixels on objects | patches holding an object | honest label weight | "
             "on objects − CutMix (paired) |", "|---|---:|---:|---:|---:|---:|"]
    for method, row in summary.items():
        diff = row.get("object_share_minus_cutmix")
        diff_text = "—" if diff is None else (
            f"{100 * diff['mean']:+.1f} [{100 * diff['low']:+.1f}, {100 * diff['high']:+.1f}]")
        lines.append(f"| {method} | {row['patches']} | {_pct(row['object_share'])} | "
                     f"{_pct(row['any_object'], 'p')} | {_pct(row['honest'], 'p')} | {diff_text} |")
    return "\n".join(lines)
