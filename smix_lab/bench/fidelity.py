"""Patch fidelity: do pasted patches carry the source object? (paper sec. 3.1's premise, measured)

On the built-in classification data (each image has one object and its mask),
mixes many batches with each method and counts, per mixed sample:

- hit:        the pasted patch contains at least one source-object pixel;
- backed:     share of the source label weight (1 - lam) backed by object pixels,
              i.e. object pixels in the patch / patch pixels;
- carried:    share of the source object that the patch carries;
- occluded:   share of the target's own object covered by the patch.

Every method sees the same images, the same pairs and the same lambdas
(Beta(1,1) drawn from the seed), so only the box placement differs. Deterministic.
Command line: ``python tools/benchmarks/benchmark_fidelity.py --data-dir data/fidelity --seed 0 --samples 2048``.
"""
from __future__ import annotations

import os
import time
from typing import Dict, List

import numpy as np
import torch
from PIL import Image
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

from smix_lab.data.classification import load_annotations, load_mask, make_cls_data
from smix_timm import SaliencyMix
from smix_timm.params import CUTMIX, SALIENCYMIX, MixParams, random_cutmix_box


class RandomPeak:
    """Control detector: a random map, so the 'peak' is a uniformly random pixel. With
    border='shift' this is a full-size patch at a random place: it separates the effect of
    placement (saliency) from that of patch size (shift vs CutMix's clipping)."""

    def __init__(self, seed: int):
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        b, _, h, w = images.shape
        return torch.rand((b, h, w), generator=self.generator)


METHODS = {
    "CutMix (timm box)": dict(cutmix_alpha=1.0),
    "control: random place, full size (shift)": dict(saliencymix_alpha=1.0, method="random_peak"),
    "SaliencyMix fine_grained per-sample": dict(saliencymix_alpha=1.0, method="fine_grained"),
    "SaliencyMix spectral_residual per-sample": dict(saliencymix_alpha=1.0, method="spectral_residual"),
    "SaliencyMix frequency_tuned per-sample": dict(saliencymix_alpha=1.0, method="frequency_tuned"),
    "SaliencyMix fine_grained per-batch": dict(saliencymix_alpha=1.0, per="batch"),
    "SaliencyMix fine_grained clip border": dict(saliencymix_alpha=1.0, border="clip"),
    "official-code preset": dict(saliencymix_alpha=1.0, official=True),
}


def load_split(root: str, split: str):
    ann = load_annotations(root)
    paths = sorted(p for p in ann["images"] if p.startswith(split + "/"))
    images = np.stack([np.asarray(Image.open(os.path.join(root, p)).convert("RGB")) for p in paths])
    masks = np.stack([load_mask(root, p, ann) for p in paths])
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(masks)


def fidelity(masks: torch.Tensor, order: np.ndarray, pairs) -> Dict[str, List[float]]:
    """Per-sample fidelity figures of one batch (``order``: dataset indices of the batch)."""
    out = {"hit": [], "backed": [], "carried": [], "occluded": []}
    b = len(order)
    for i, pair in enumerate(pairs):
        if pair is None:
            continue
        (sy0, sy1, sx0, sx1), (ty0, ty1, tx0, tx1) = pair
        src, tgt = masks[order[b - 1 - i]], masks[order[i]]
        area = (sy1 - sy0) * (sx1 - sx0)
        if area == 0:
            continue
        obj = int(src[sy0:sy1, sx0:sx1].sum())
        out["hit"].append(float(obj > 0))
        out["backed"].append(obj / area)
        out["carried"].append(obj / max(int(src.sum()), 1))
        out["occluded"].append(int(tgt[ty0:ty1, tx0:tx1].sum()) / max(int(tgt.sum()), 1))
    return out


def run(data_dir: str, seed: int = 0, samples: int = 2048, batch: int = 64, size: int = 64,
        log=print) -> Dict[str, Dict[str, float]]:
    make_cls_data(data_dir, seed=seed, num_classes=10, train_per_class=max(1, samples // 10), val_per_class=1,
                  size=size, reuse=True, log=log)
    images, masks = load_split(data_dir, "train")
    n = (min(samples, len(images)) // batch) * batch
    mean = torch.tensor(IMAGENET_DEFAULT_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_DEFAULT_STD).view(1, 3, 1, 1)
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(n // batch):  # the same batches, pairs and lambdas for every method
        order = rng.choice(len(images), batch, replace=False)
        batches.append((order, rng.beta(1.0, 1.0, size=batch)))
    results = {}
    for name, kw in METHODS.items():
        start = time.time()
        if kw.get("method") == "random_peak":
            kw = dict(kw, method=RandomPeak(seed))
        mix = SaliencyMix(mixup_alpha=0.0, mode="elem", num_classes=10, mean=IMAGENET_DEFAULT_MEAN,
                          std=IMAGENET_DEFAULT_STD, seed=seed, **kw)
        kind = CUTMIX if "cutmix_alpha" in kw else SALIENCYMIX
        box_rng = np.random.default_rng(seed)
        figures = {"hit": [], "backed": [], "carried": [], "occluded": []}
        for order, lam in batches:
            x = (images[order].float() / 255 - mean) / std
            params = MixParams(kind=np.full(batch, kind, np.int8), lam=lam.copy(), cutmix_box=[None] * batch)
            if kind == CUTMIX:  # timm's rand_bbox distribution, drawn from a seeded generator
                pairs = [(box, box) for box in (random_cutmix_box(box_rng, float(v), size, size) for v in lam)]
            else:
                pairs = mix.saliency_box_pairs(x, params)
            for key, values in fidelity(masks, order, pairs).items():
                figures[key] += values
        results[name] = {k: float(np.mean(v)) for k, v in figures.items()}
        results[name]["n"] = len(figures["hit"])
        if log:
            log(f"[fidelity] {name}: {results[name]['n']} patches in {time.time() - start:.1f}s")
    return results


def to_markdown(results: Dict[str, Dict[str, float]]) -> str:
    lines = ["| method | patches | patch holds source object | label weight backed by object | "
             "source object carried | target object occluded |", "|---|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['n']} | {100 * r['hit']:.1f}% | {100 * r['backed']:.1f}% | "
                     f"{100 * r['carried']:.1f}% | {100 * r['occluded']:.1f}% |")
    return "\n".join(lines)
