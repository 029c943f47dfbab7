"""Test images: real photographs shipped inside installed packages, and structured synthetic ones.

No network: matplotlib ships grace_hopper.jpg; scikit-image (dev extra) ships
several photographs (astronaut, coffee, chelsea, rocket, ...).
"""
from __future__ import annotations

import os
from typing import Dict

import numpy as np


def photographs() -> Dict[str, np.ndarray]:
    """Real photographs as RGB uint8 HWC arrays (at least one is always available)."""
    import matplotlib
    from PIL import Image

    photos = {}
    path = os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg")
    photos["grace_hopper"] = np.asarray(Image.open(path).convert("RGB"))
    try:
        from skimage import data
    except ImportError:
        return photos
    for name in ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry"):
        try:
            img = getattr(data, name)()
        except Exception:  # a dataset that is not bundled would need a download: skip it
            continue
        if img.ndim == 3 and img.shape[2] == 3:
            photos[name] = np.ascontiguousarray(img)
    return photos


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
