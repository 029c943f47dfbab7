"""Test images: real photographs shipped inside installed packages, and structured synthetic ones.

No network: matplotlib ships grace_hopper.jpg; scikit-image (dev extra) ships
several photographs (astronaut, coffee, chelsea, rocket, ...).
"""
from __future__ import annotations

from typing import Dict

import numpy as np
import torch
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

from smix_lab.bench import photos as bench_photos


def photographs() -> Dict[str, np.ndarray]:
    """Real photographs as RGB uint8 HWC arrays (at least one is always available)."""
    return bench_photos.photographs()


def photo_tensor(count: int = 4, size: int = 48) -> torch.Tensor:
    """The top-left ``size`` x ``size`` corners of the first ``count`` photographs, (B, 3, H, W) uint8."""
    images = [np.ascontiguousarray(p[:size, :size]) for p in photographs().values()][:count]
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()


def imagenet_normalise(u8: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 3, H, W) pixels as timm normalises them with the ImageNet mean and std."""
    mean = torch.tensor(IMAGENET_DEFAULT_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_DEFAULT_STD).view(1, 3, 1, 1)
    return (u8.float() / 255 - mean) / std


def synthetic(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A structured RGB image: gradient background, clutter, a few shapes, mild noise."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = rng.uniform(0, 255, 3) * 0.5
    tilt = rng.uniform(-1, 1, (2, 3))
    img = base + yy[..., None] * tilt[0] * 120 / max(height, 1) + xx[..., None] * tilt[1] * 120 / max(width, 1)
    for _ in range(int(rng.integers(1, 6))):
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        r = rng.uniform(1, max(2.0, min(height, width) / 3))
        colour = rng.uniform(0, 255, 3)
        if rng.random() < 0.5:
            mask = (yy - cy) ** 2 + (xx - cx) ** 2 < r ** 2
        else:
            mask = (np.abs(yy - cy) < r) & (np.abs(xx - cx) < r * rng.uniform(0.3, 2))
        img[mask] = colour
    img += rng.normal(0, rng.uniform(0, 12), img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)
