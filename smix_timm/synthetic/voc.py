"""Generate a small, deterministic PASCAL VOC-style VOCdevkit.

Layout (what mmdet's ``VOCDataset``/``VOCMetric`` and the VOC devkit read)::

    OUT/VOC2007/{JPEGImages,Annotations,ImageSets/Main}   trainval + test
    OUT/VOC2012/{JPEGImages,Annotations,ImageSets/Main}   trainval
    OUT/.smix_voc_generated                               marker (JSON)

Each image holds 2-4 objects of the 20 VOC classes on a cluttered background.
A class has its own shape, colour and texture (``CLASS_LOOKS``), so a
detector can learn them. Boxes are 1-based inclusive pixel coordinates as in
VOC (mmdet subtracts 1). Every image is drawn from its own RNG seeded by
(seed, year, split, index): the same arguments give byte-identical files,
and more images do not change the first ones.

Command line: ``python tools/data/make_voc_data.py --out data/VOCdevkit --seed 0 --num-train 200
--num-test 100 --size 160``.

An existing folder is only rewritten when it carries our marker; any other
non-empty folder is refused unless ``--force``.
"""
from __future__ import annotations

import argparse
import colorsys
import json
import os
import sys
import time
from typing import Dict, List, Sequence, Tuple
from xml.sax.saxutils import escape

import numpy as np
from PIL import Image, ImageDraw

VOC_CLASSES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car",
               "cat", "chair", "cow", "diningtable", "dog", "horse",
               "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
               "tvmonitor")
SHAPES = ("ellipse", "box", "triangle", "diamond", "cross")
TEXTURES = ("solid", "stripes", "checker", "dots")
MARKER = ".smix_voc_generated"
GENERATOR_VERSION = 1


def _class_looks() -> Dict[str, Tuple[str, str, Tuple[int, int, int]]]:
    """Class -> (shape, texture, RGB colour); all 20 (shape, texture) differ.
    """
    looks = {}
    for i, name in enumerate(VOC_CLASSES):
        hue = ((i * 7) % 20) / 20.0  # neighbours in the list far apart
        r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 0.95)
        looks[name] = (SHAPES[i % 5], TEXTURES[i // 5],
                       (int(r * 255), int(g * 255), int(b * 255)))
    return looks


CLASS_LOOKS = _class_looks()


def parse_size(text: str) -> Tuple[int, int]:
    """'160' -> (160, 160); '200x150' -> (200, 150) as (width, height)."""
    parts = text.lower().split("x")
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--size {text!r}: use N or WxH, e.g. 160 or 200x150") from None
    if len(nums) == 1:
        nums = nums * 2
    if len(nums) != 2 or min(nums) < 64:
        raise argparse.ArgumentTypeError(
            f"--size {text!r}: use N or WxH with sides >= 64 px")
    return nums[0], nums[1]


def _background(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """Muted gradient + noise + grey clutter (distractors without a class)."""
    c0 = rng.uniform(60, 190, 3)
    c1 = rng.uniform(60, 190, 3)
    grey0, grey1 = c0.mean(), c1.mean()
    c0 = 0.3 * c0 + 0.7 * grey0  # low saturation so objects stand out
    c1 = 0.3 * c1 + 0.7 * grey1
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = (np.cos(angle) * xx / w + np.sin(angle) * yy / h)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    img = c0[None, None] * (1 - t[..., None]) + c1[None, None] * t[..., None]
    img += rng.normal(0, 6, (h, w, 1)) + rng.normal(0, 3, (h, w, 3))
    pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(pil)
    for _ in range(int(rng.integers(3, 8))):
        v = int(rng.uniform(70, 200))
        x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
        x1 = x0 + rng.uniform(-w / 3, w / 3)
        y1 = y0 + rng.uniform(-h / 3, h / 3)
        draw.line([(x0, y0), (x1, y1)], fill=(v, v, v),
                  width=int(rng.integers(1, 3)))
    return np.asarray(pil).astype(np.float32)


def _shape_mask(shape: str, w: int, h: int) -> np.ndarray:
    mask = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(mask)
    if shape == "ellipse":
        d.ellipse([0, 0, w - 1, h - 1], fill=255)
    elif shape == "box":
        d.rectangle([0, 0, w - 1, h - 1], fill=255)
    elif shape == "triangle":
        d.polygon([(w / 2, 0), (w - 1, h - 1), (0, h - 1)], fill=255)
    elif shape == "diamond":
        d.polygon([(w / 2, 0), (w - 1, h / 2), (w / 2, h - 1), (0, h / 2)],
                  fill=255)
    elif shape == "cross":
        d.rectangle([w // 3, 0, w - 1 - w // 3, h - 1], fill=255)
        d.rectangle([0, h // 3, w - 1, h - 1 - h // 3], fill=255)
    else:
        raise ValueError(shape)
    return np.asarray(mask) > 127


def _texture(texture: str, w: int, h: int, phase: int) -> np.ndarray:
    """1 where the object shows its main colour, 0 for the second colour."""
    yy, xx = np.mgrid[0:h, 0:w]
    if texture == "solid":
        return np.ones((h, w), bool)
    if texture == "stripes":
        return ((xx + yy + phase) // 4) % 2 == 0
    if texture == "checker":
        return ((xx + phase) // 5 + (yy + phase) // 5) % 2 == 0
    if texture == "dots":
        return ((xx + phase) % 7 - 3)**2 + ((yy + phase) % 7 - 3)**2 > 4
    raise ValueError(texture)


def _iou(a: Sequence[int], b: Sequence[int]) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return inter / max(area - inter, 1)


def draw_image(rng: np.random.Generator, w: int,
               h: int) -> Tuple[np.ndarray, List[Tuple[str, Tuple[int, ...]]]]:
    """One image and its objects as (class, (x0, y0, x1, y1)) 0-based,
    exclusive end."""
    img = _background(rng, w, h)
    n = int(rng.integers(2, 5))
    classes = list(rng.choice(len(VOC_CLASSES), size=n, replace=False))
    objects = []
    side = min(w, h)
    for cls_idx in classes:
        name = VOC_CLASSES[int(cls_idx)]
        shape, texture, colour = CLASS_LOOKS[name]
        for _ in range(60):
            s = rng.uniform(0.2, 0.45) * side
            ow = int(np.clip(s * rng.uniform(0.75, 1.3), 16, w - 2))
            oh = int(np.clip(s * rng.uniform(0.75, 1.3), 16, h - 2))
            x0 = int(rng.integers(0, w - ow + 1))
            y0 = int(rng.integers(0, h - oh + 1))
            box = (x0, y0, x0 + ow, y0 + oh)
            if all(_iou(box, o[1]) < 0.1 for o in objects):
                break
        else:
            continue  # no room left: fewer objects in this image
        mask = _shape_mask(shape, ow, oh)
        main = np.array(colour, np.float32) + rng.uniform(-12, 12, 3)
        second = main * 0.4
        pattern = _texture(texture, ow, oh, int(rng.integers(0, 8)))
        patch = np.where(pattern[..., None], main, second)
        patch += rng.normal(0, 4, patch.shape)
        region = img[y0:y0 + oh, x0:x0 + ow]
        region[mask] = patch[mask]
        ys, xs = np.nonzero(mask)
        tight = (x0 + int(xs.min()), y0 + int(ys.min()),
                 x0 + int(xs.max()) + 1, y0 + int(ys.max()) + 1)
        objects.append((name, tight))
    return np.clip(img, 0, 255).astype(np.uint8), objects


def annotation_xml(year: str, img_id: str, w: int, h: int,
                   objects: Sequence[Tuple[str, Sequence[int]]]) -> str:
    """A VOC annotation; boxes written 1-based and inclusive as in VOC."""
    parts = [
        "<annotation>", f"\t<folder>{year}</folder>",
        f"\t<filename>{escape(img_id)}.jpg</filename>",
        "\t<source>", "\t\t<database>smix synthetic VOC</database>",
        "\t\t<annotation>tools/data/make_voc_data.py</annotation>", "\t</source>",
        "\t<size>", f"\t\t<width>{w}</width>", f"\t\t<height>{h}</height>",
        "\t\t<depth>3</depth>", "\t</size>", "\t<segmented>0</segmented>"
    ]
    for name, (x0, y0, x1, y1) in objects:
        parts += [
            "\t<object>", f"\t\t<name>{name}</name>",
            "\t\t<pose>Unspecified</pose>", "\t\t<truncated>0</truncated>",
            "\t\t<difficult>0</difficult>", "\t\t<bndbox>",
            f"\t\t\t<xmin>{x0 + 1}</xmin>", f"\t\t\t<ymin>{y0 + 1}</ymin>",
            f"\t\t\t<xmax>{x1}</xmax>", f"\t\t\t<ymax>{y1}</ymax>",
            "\t\t</bndbox>", "\t</object>"
        ]
    parts.append("</annotation>")
    return "\n".join(parts) + "\n"


SPLIT_CODES = {("VOC2007", "trainval"): 0, ("VOC2007", "test"): 1,
               ("VOC2012", "trainval"): 2}


def image_ids(year: str, split: str, count: int,
              num_train_2007: int) -> List[str]:
    if year == "VOC2012":
        return [f"2012_{i + 1:06d}" for i in range(count)]
    start = 1 if split == "trainval" else num_train_2007 + 1
    return [f"{start + i:06d}" for i in range(count)]


def check_out_dir(out: str, force: bool) -> dict:
    """Return the marker of an earlier generation in ``out`` ({} if none).

    Exits with a message when ``out`` is a file, or a non-empty folder we did
    not make and ``force`` is not set.
    """
    if not os.path.exists(out):
        return {}
    if not os.path.isdir(out):
        sys.exit(f"make_voc_data: --out {out} exists and is not a folder; "
                 "choose another --out")
    marker = os.path.join(out, MARKER)
    if os.path.isfile(marker):
        with open(marker) as f:
            return json.load(f)
    if os.listdir(out) and not force:
        sys.exit(
            f"make_voc_data: {out} is not empty and was not generated by this "
            f"tool (no {MARKER} file). Refusing to write into it: it may be "
            "a real VOCdevkit. Choose another --out, or pass --force to "
            "write the generated files into it anyway (same-named files are "
            "overwritten, others are kept, ImageSets lists are replaced).")
    return {}


def _generated_files(out: str, marker: dict) -> List[str]:
    """Files an earlier generation (described by its marker) wrote."""
    files = []
    n_train, n_test = int(marker["num_train"]), int(marker["num_test"])
    for year, split, count in (("VOC2007", "trainval", n_train),
                               ("VOC2007", "test", n_test),
                               ("VOC2012", "trainval", n_train)):
        root = os.path.join(out, year)
        for img_id in image_ids(year, split, count, n_train):
            files.append(os.path.join(root, "JPEGImages", f"{img_id}.jpg"))
            files.append(os.path.join(root, "Annotations", f"{img_id}.xml"))
        names = [split] + (["train", "val"] if split == "trainval" else [])
        for name in names:
            main = os.path.join(root, "ImageSets", "Main")
            files.append(os.path.join(main, f"{name}.txt"))
            files += [os.path.join(main, f"{c}_{name}.txt")
                      for c in VOC_CLASSES]
    return files


def generate(out: str, seed: int = 0, num_train: int = 200,
             num_test: int = 100, size: Tuple[int, int] = (160, 160),
             force: bool = False, progress: bool = True) -> Dict[str, int]:
    """Write the VOCdevkit; return image and object counts per year/split.

    A folder generated before (marker present) first loses exactly the files
    of that generation; nothing else is ever deleted. Writing into a foreign
    folder (``force``) leaves no marker, so it is never taken for ours later.
    """
    w, h = size
    previous = check_out_dir(out, force)
    foreign = os.path.isdir(out) and bool(os.listdir(out)) and not previous
    if previous:
        removed = 0
        for path in _generated_files(out, previous):
            if os.path.isfile(path):
                os.remove(path)
                removed += 1
        if progress:
            print(f"[make_voc_data] {out}: removed the {removed} files of the "
                  "earlier generated set", flush=True)
    os.makedirs(out, exist_ok=True)
    if not foreign:  # written first: an interrupted run is still ours
        with open(os.path.join(out, MARKER), "w") as f:
            json.dump(dict(generator="tools/data/make_voc_data.py",
                           version=GENERATOR_VERSION, seed=seed,
                           num_train=num_train, num_test=num_test,
                           size=[w, h]), f, indent=1)
            f.write("\n")
    plan = [("VOC2007", "trainval", num_train), ("VOC2007", "test", num_test),
            ("VOC2012", "trainval", num_train)]
    counts: Dict[str, int] = {}
    t0 = time.time()
    for year, split, count in plan:
        root = os.path.join(out, year)
        for sub in ("JPEGImages", "Annotations",
                    os.path.join("ImageSets", "Main")):
            os.makedirs(os.path.join(root, sub), exist_ok=True)
        ids = image_ids(year, split, count, num_train)
        present: Dict[str, set] = {c: set() for c in VOC_CLASSES}
        n_obj = 0
        step = max(1, count // 5)
        for i, img_id in enumerate(ids):
            rng = np.random.default_rng([seed, SPLIT_CODES[(year, split)], i])
            img, objects = draw_image(rng, w, h)
            Image.fromarray(img).save(
                os.path.join(root, "JPEGImages", f"{img_id}.jpg"),
                quality=92)
            with open(os.path.join(root, "Annotations", f"{img_id}.xml"),
                      "w", encoding="utf-8") as f:
                f.write(annotation_xml(year, img_id, w, h, objects))
            for name, _ in objects:
                present[name].add(img_id)
            n_obj += len(objects)
            if progress and ((i + 1) % step == 0 or i + 1 == count):
                print(f"[make_voc_data] {year} {split}: {i + 1}/{count} "
                      f"images ({time.time() - t0:.1f}s)", flush=True)
        main = os.path.join(root, "ImageSets", "Main")
        lists = {split: ids}
        if split == "trainval":
            half = (len(ids) + 1) // 2
            lists.update(train=ids[:half], val=ids[half:])
        for name, members in lists.items():
            with open(os.path.join(main, f"{name}.txt"), "w") as f:
                f.writelines(f"{i}\n" for i in members)
            for cls in VOC_CLASSES:
                with open(os.path.join(main, f"{cls}_{name}.txt"), "w") as f:
                    f.writelines(
                        f"{i} {1 if i in present[cls] else -1:2d}\n"
                        for i in members)
        counts[f"{year}/{split}"] = count
        counts[f"{year}/{split}/objects"] = n_obj
    if foreign and progress:
        print(f"[make_voc_data] {out} was not empty: no {MARKER} written, so "
              "later runs into it need --force again", flush=True)
    return counts
