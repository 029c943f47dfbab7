"""Real photographs for benchmarks, from packages already installed (no download).

matplotlib ships ``grace_hopper.jpg``; scikit-image (the ``dev`` extra) ships
astronaut, coffee, chelsea, rocket and more. ``write_jpeg_folder`` turns them
into an ImageFolder of ImageNet-like JPEGs (random crops, ~500x375, quality 90)
for loader benchmarks; ``photo_crops`` gives a (B, 3, S, S) uint8 batch; ``small_photo_set`` CIFAR-size
images held in memory.
"""
from __future__ import annotations

import os
from typing import Dict, List

import numpy as np
import torch

SKIMAGE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry")


def photographs() -> Dict[str, np.ndarray]:
    """Real photographs as RGB uint8 (H, W, 3) arrays; at least matplotlib's one is always there."""
    import matplotlib
    from PIL import Image

    path = os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg")
    photos = {"grace_hopper": np.asarray(Image.open(path).convert("RGB"))}
    try:
        from skimage import data
    except ImportError:
        return photos
    for name in SKIMAGE_PHOTOS:
        try:
            img = getattr(data, name)()
        except Exception:  # a dataset that is not bundled would need a download: skip it
            continue
        if img.ndim == 3 and img.shape[2] == 3:
            photos[name] = np.ascontiguousarray(img)
    return photos


def photo_crops(batch: int, size: int, seed: int = 0) -> torch.Tensor:
    """(batch, 3, size, size) uint8 RGB: random crops of the photographs, cycling through them."""
    from PIL import Image

    photos: List[np.ndarray] = list(photographs().values())
    rng = np.random.default_rng(seed)
    crops = []
    for k in range(batch):
        p = photos[k % len(photos)]
        if min(p.shape[:2]) < size:
            p = np.asarray(Image.fromarray(p).resize((max(size, p.shape[1]), max(size, p.shape[0]))))
        y, x = rng.integers(0, p.shape[0] - size + 1), rng.integers(0, p.shape[1] - size + 1)
        crops.append(p[y:y + size, x:x + size])
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).contiguous()


def small_photo_set(count: int, size: int, seed: int = 0) -> np.ndarray:
    """``count`` CIFAR-like images, (count, size, size, 3) uint8 RGB in memory (the layout of CIFAR's arrays).

    Each is a random square crop (1/8 to 1/2 of the shorter side of a photograph) shrunk to ``size``
    with PIL's area-averaging resize, flipped at random: real image content at CIFAR's scale.
    """
    from PIL import Image

    photos = list(photographs().values())
    rng = np.random.default_rng(seed)
    out = np.empty((count, size, size, 3), dtype=np.uint8)
    for i in range(count):
        photo = photos[i % len(photos)]
        h, w = photo.shape[:2]
        side = int(rng.integers(max(size, min(h, w) // 8), max(size, min(h, w) // 2) + 1))
        y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        crop = Image.fromarray(photo[y:y + side, x:x + side]).resize((size, size), Image.BOX)
        out[i] = np.asarray(crop)[:, ::-1] if rng.random() < 0.5 else np.asarray(crop)
    return out


def write_jpeg_folder(root: str, images: int, classes: int = 8, seed: int = 0, quality: int = 90) -> int:
    """Write ``images`` JPEGs under ``root/class_k/`` (an ImageFolder timm reads); returns how many.

    Each is a random crop (40-100% of a photograph's area, random aspect), flipped at random and
    resized so its longer side is 500 pixels, like a typical ImageNet JPEG. Files already there
    are left alone (same name, same seed: same file), so a second call only checks.

    Raises:
        FileExistsError: ``root`` holds something other than this generator's class folders.
    """
    from PIL import Image

    os.makedirs(root, exist_ok=True)
    expected = {f"class_{k}" for k in range(classes)}
    foreign = sorted(set(os.listdir(root)) - expected)
    if foreign:
        raise FileExistsError(f"{root} holds {foreign[:3]}, not made by this generator; pass an empty or new folder")
    photos = list(photographs().values())
    rng = np.random.default_rng(seed)
    for i in range(images):
        photo = photos[i % len(photos)]
        h, w = photo.shape[:2]
        area = rng.uniform(0.4, 1.0) * h * w
        aspect = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
        ch, cw = min(h, int(round(np.sqrt(area / aspect)))), min(w, int(round(np.sqrt(area * aspect))))
        y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        flip = rng.random() < 0.5
        path = os.path.join(root, f"class_{i % classes}", f"photo_{i:05d}.jpg")
        if os.path.exists(path):
            continue
        crop = Image.fromarray(photo[y:y + ch, x:x + cw])
        if flip:
            crop = crop.transpose(Image.FLIP_LEFT_RIGHT)
        factor = 500.0 / max(ch, cw)
        crop = crop.resize((max(1, round(cw * factor)), max(1, round(ch * factor))), Image.BICUBIC)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        crop.save(path + ".part", format="JPEG", quality=quality)
        os.replace(path + ".part", path)
    return images
