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
non-empty folder is refused unless ``--force``. A rerun deletes only files this
tool wrote and that are unchanged (``OUT/.smix_voc_files`` records each file's
SHA-256, see ``ledger.py``); a file it did not write, or one edited since, stops
it with the file's name, and ``--force`` never replaces a file that is there.
Every argument is checked before anything is written.
"""
from __future__ import annotations

import argparse
import colorsys
import hashlib
import io
import json
import os
import time
from typing import Dict, List, Sequence, Tuple
from xml.sax.saxutils import escape

import numpy as np
from PIL import Image, ImageDraw

from smix_lab.data.ledger import Ledger, foreign_or_changed, read_ledger, remove_recorded, shorten

VOC_CLASSES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car",
               "cat", "chair", "cow", "diningtable", "dog", "horse",
               "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
               "tvmonitor")
SHAPES = ("ellipse", "box", "triangle", "diamond", "cross")
TEXTURES = ("solid", "stripes", "checker", "dots")
MARKER = ".smix_voc_generated"
LEDGER = ".smix_voc_files"       # one line per file written: sha256 size path
GENERATOR_VERSION = 2            # 2: keeps the ledger
MIN_SIDE, MAX_SIDE = 64, 4096    # an image and its float copies must fit in memory (4096^2: ~0.6 GB)
MAX_IMAGES = 999_999             # VOC ids have six digits; VOC2007 test ids follow the trainval ones


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
    if len(nums) != 2 or min(nums) < MIN_SIDE or max(nums) > MAX_SIDE:
        raise argparse.ArgumentTypeError(
            f"--size {text!r}: use N or WxH with sides from {MIN_SIDE} to "
            f"{MAX_SIDE} px")
    return nums[0], nums[1]


def check_arguments(out: str, seed: int, num_train: int, num_test: int,
                    size: Tuple[int, int]) -> None:
    """Check every argument of :func:`generate` before anything is written.

    The size has an upper bound although any size would draw: a side above
    ``MAX_SIDE`` needs gigabytes per image (the generator holds float copies),
    and the set exists to be small; a clear error beats an out-of-memory
    kill halfway through.

    Raises:
        ValueError: an empty ``out``, a seed that is not an integer >= 0
            (numpy's seeds), counts below 1 or above ``MAX_IMAGES`` together,
            or a side outside ``MIN_SIDE..MAX_SIDE``.
    """
    if not out:
        raise ValueError("--out is empty; pass the VOCdevkit folder to write")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) \
            or seed < 0:
        raise ValueError(f"--seed must be an integer >= 0, got {seed!r}")
    for flag, count in (("--num-train", num_train), ("--num-test", num_test)):
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) \
                or count < 1:
            raise ValueError(f"{flag} must be an integer >= 1, got {count!r}")
    if num_train + num_test > MAX_IMAGES:
        raise ValueError(f"--num-train + --num-test must be at most {MAX_IMAGES} "
                         f"(six-digit VOC ids), got {num_train + num_test}")
    try:
        w, h = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"size must be (width, height), got {size!r}") from None
    if min(w, h) < MIN_SIDE or max(w, h) > MAX_SIDE:
        raise ValueError(f"--size {w}x{h}: sides must be from {MIN_SIDE} to "
                         f"{MAX_SIDE} px")


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

    Raises:
        FileExistsError: ``out`` is a file, or a non-empty folder we did not
            make and ``force`` is not set.
        ValueError: the marker cannot be read (damaged or edited), so what
            this tool wrote there is unknown.
    """
    if not os.path.exists(out):
        return {}
    if not os.path.isdir(out):
        raise FileExistsError(f"--out {out} exists and is not a folder; "
                              "choose another --out")
    marker = os.path.join(out, MARKER)
    if os.path.isfile(marker):
        try:
            with open(marker) as f:
                found = json.load(f)
            _generated_files(found)  # the counts it names must make sense
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise ValueError(
                f"{marker} cannot be read ({type(err).__name__}: {err}), so "
                f"what make_voc_data wrote in {out} is unknown; nothing was "
                "deleted: choose another --out, or delete the folder yourself")\
                from None
        return found
    if os.listdir(out) and not force:
        raise FileExistsError(
            f"{out} is not empty and was not generated by this "
            f"tool (no {MARKER} file). Refusing to write into it: it may be "
            "a real VOCdevkit. Choose another --out, or pass --force to "
            "write the generated files beside what is there (a file that "
            "is there is never replaced: the run stops instead).")
    return {}


def _generated_files(marker: dict) -> List[str]:
    """Files (relative, '/'-separated) a generation described by ``marker``
    (or by the same keys) writes."""
    files = []
    n_train, n_test = int(marker["num_train"]), int(marker["num_test"])
    if n_train < 0 or n_test < 0 or n_train + n_test > MAX_IMAGES:
        raise ValueError(f"num_train {n_train}, num_test {n_test}")
    for year, split, count in (("VOC2007", "trainval", n_train),
                               ("VOC2007", "test", n_test),
                               ("VOC2012", "trainval", n_train)):
        for img_id in image_ids(year, split, count, n_train):
            files.append(f"{year}/JPEGImages/{img_id}.jpg")
            files.append(f"{year}/Annotations/{img_id}.xml")
        names = [split] + (["train", "val"] if split == "trainval" else [])
        for name in names:
            main = f"{year}/ImageSets/Main"
            files.append(f"{main}/{name}.txt")
            files += [f"{main}/{c}_{name}.txt" for c in VOC_CLASSES]
    return files


def _make_room(out: str, previous: dict, planned: List[str]) -> int:
    """Delete the earlier generation's files, after checking that every
    file about to be deleted or replaced is ours and unchanged.

    Returns:
        The number of files deleted.

    Raises:
        FileExistsError: a file to delete or replace that the ledger does not
            vouch for (not written by this tool, or changed since); nothing
            is deleted then.
        ValueError: the ledger is damaged.
    """
    try:  # a forced run into a foreign folder keeps a ledger too: its files stay replaceable
        ledger = read_ledger(os.path.join(out, LEDGER))
    except ValueError as err:
        raise ValueError(f"{err}, so what make_voc_data wrote in {out} is "
                         "unknown; nothing was deleted: choose another --out, "
                         "or delete the folder yourself") from None
    if previous and not ledger and int(previous.get("version", 1)) < 2:
        ledger = _ledger_by_regeneration(previous)
    earlier = _generated_files(previous) if previous else []
    blocked = foreign_or_changed(out, set(planned) | set(earlier) | set(ledger),
                                 ledger)
    if blocked:
        why = " (made by an earlier make_voc_data that kept no list of its " \
              "files)" if previous and not ledger and \
              int(previous.get("version", 1)) < 2 else ""
        raise FileExistsError(
            f"{out} holds files that make_voc_data did not write or that "
            f"changed since it wrote them{why}: {shorten(blocked)}; nothing "
            "was deleted or replaced: move them out or choose another --out")
    return remove_recorded(out, ledger, temporaries=set(planned) | set(earlier))


def generate(out: str, seed: int = 0, num_train: int = 200,
             num_test: int = 100, size: Tuple[int, int] = (160, 160),
             force: bool = False, progress: bool = True) -> Dict[str, int]:
    """Write the VOCdevkit; return image and object counts per year/split.

    A folder generated before (marker present) first loses the files of that
    generation, each only if it is unchanged; nothing else is ever deleted or
    replaced. Writing into a foreign folder (``force``) replaces nothing and
    leaves no marker, so it is never taken for ours later.

    Raises:
        ValueError: a bad argument (:func:`check_arguments`) or a damaged
            marker or ledger; nothing is written.
        FileExistsError: ``out`` is not ours (without ``force``), or holds a
            file to replace that this tool did not write or that changed.
        OSError: a write failed.
    """
    check_arguments(out, seed, num_train, num_test, size)
    w, h = (int(v) for v in size)
    previous = check_out_dir(out, force)
    foreign = os.path.isdir(out) and bool(os.listdir(out)) and not previous
    planned = _generated_files(dict(num_train=num_train, num_test=num_test))
    removed = _make_room(out, previous, planned)
    if (previous or removed) and progress:
        print(f"[make_voc_data] {out}: removed the {removed} unchanged files "
              "of the earlier generated set", flush=True)
    os.makedirs(out, exist_ok=True)
    if not foreign:  # written first: an interrupted run is still ours
        with open(os.path.join(out, MARKER), "w") as f:
            json.dump(dict(generator="smix_lab.data.make_voc_data",
                           version=GENERATOR_VERSION, seed=int(seed),
                           num_train=int(num_train), num_test=int(num_test),
                           size=[w, h]), f, indent=1)
            f.write("\n")
    ledger = Ledger(out, LEDGER)
    try:
        return _draw_all(out, ledger, int(seed), int(num_train), int(num_test),
                         w, h, foreign, progress)
    finally:
        ledger.close()


def _draw_all(out: str, ledger: Ledger, seed: int, num_train: int,
              num_test: int, w: int, h: int, foreign: bool,
              progress: bool) -> Dict[str, int]:
    """Draw and write every image, annotation and list (see generate)."""
    counts: Dict[str, int] = {}
    t0 = time.time()
    for year in ("VOC2007", "VOC2012"):
        for sub in ("JPEGImages", "Annotations",
                    os.path.join("ImageSets", "Main")):
            os.makedirs(os.path.join(out, year, sub), exist_ok=True)
    for rel, data in _files(seed, num_train, num_test, w, h, counts):
        ledger.write(rel, data)
        done = counts.pop("_done", None)
        if progress and done:
            year, split, i, count = done
            print(f"[make_voc_data] {year} {split}: {i}/{count} "
                  f"images ({time.time() - t0:.1f}s)", flush=True)
    if foreign and progress:
        print(f"[make_voc_data] {out} was not empty: no {MARKER} written, so "
              "later runs into it need --force again", flush=True)
    return counts


def _files(seed: int, num_train: int, num_test: int, w: int, h: int,
           counts: Dict):
    """Every file of a generation as (relative path, bytes), in writing
    order; fills ``counts`` (images and objects per year/split) and sets
    ``counts['_done']`` = (year, split, images done, count) at progress
    points."""
    plan = [("VOC2007", "trainval", num_train), ("VOC2007", "test", num_test),
            ("VOC2012", "trainval", num_train)]
    for year, split, count in plan:
        ids = image_ids(year, split, count, num_train)
        present: Dict[str, set] = {c: set() for c in VOC_CLASSES}
        n_obj = 0
        step = max(1, count // 5)
        for i, img_id in enumerate(ids):
            rng = np.random.default_rng([seed, SPLIT_CODES[(year, split)], i])
            img, objects = draw_image(rng, w, h)
            jpeg = io.BytesIO()
            Image.fromarray(img).save(jpeg, format="JPEG", quality=92)
            yield f"{year}/JPEGImages/{img_id}.jpg", jpeg.getvalue()
            if (i + 1) % step == 0 or i + 1 == count:
                counts["_done"] = (year, split, i + 1, count)
            yield (f"{year}/Annotations/{img_id}.xml",
                   annotation_xml(year, img_id, w, h, objects).encode("utf-8"))
            for name, _ in objects:
                present[name].add(img_id)
            n_obj += len(objects)
        main = f"{year}/ImageSets/Main"
        lists = {split: ids}
        if split == "trainval":
            half = (len(ids) + 1) // 2
            lists.update(train=ids[:half], val=ids[half:])
        for name, members in lists.items():
            yield f"{main}/{name}.txt", "".join(f"{i}\n" for i in members).encode()
            for cls in VOC_CLASSES:
                yield f"{main}/{cls}_{name}.txt", "".join(
                    f"{i} {1 if i in present[cls] else -1:2d}\n"
                    for i in members).encode()
        counts[f"{year}/{split}"] = count
        counts[f"{year}/{split}/objects"] = n_obj


def _ledger_by_regeneration(previous: dict) -> Dict[str, Tuple[str, int]]:
    """What an earlier generation that kept no ledger (version 1) wrote,
    recomputed from its marker: drawing is deterministic, so the bytes it
    wrote are known. {} when the marker lacks what is needed."""
    try:
        seed, w, h = int(previous["seed"]), *(int(v) for v in previous["size"])
        check_arguments("-", seed, int(previous["num_train"]),
                        int(previous["num_test"]), (w, h))
    except (KeyError, TypeError, ValueError):
        return {}
    print("[make_voc_data] the earlier set kept no list of its files: "
          "redrawing it to tell its files from changed ones", flush=True)
    return {rel: (hashlib.sha256(data).hexdigest(), len(data)) for rel, data in
            _files(seed, int(previous["num_train"]), int(previous["num_test"]),
                   w, h, {})}
