"""Generate a small image-classification set in timm's folder layout, with object masks.

Every image holds one salient object of its class on a cluttered background
(smooth colour field, gratings, noise) with 3-7 smaller, fainter distractor
shapes. A class is a shape and a texture (disk, square, ... x solid, stripes,
checker, dots); the object's colour is drawn per image from a palette, and it
is rotated by up to 20 degrees, so neither colour nor a fixed template gives
the class away. The object covers 3 % to 25 % of the image (box area), at a
random place, size and aspect. It is drawn last, so its mask is exactly its
visible pixels.

``scene="decoys"`` draws the control where saliency misleads instead: larger, opaque,
high-contrast distractors that outshine the object (see ``SCENES``).

    OUT/train/<class>/<nnnnn>.png          timm ImageFolder layout (train split)
    OUT/validation/<class>/<nnnnn>.png     (validation split, timm's default --val-split)
    OUT/masks/<split>/<class>/<nnnnn>.png  object mask, 0/255 grey PNG
    OUT/annotations.json                   per image: label, class, colour, box [x0, y0, x1, y1), mask path
    OUT/.smix_cls_data.json                marker: the generator's parameters
    OUT/.smix_cls_files                    ledger: sha256, size and path of every file written (ledger.py)

Deterministic: each image comes from its own generator seeded with
(seed, split, class, index), so the same arguments give the same pixels.

A rerun into the same folder deletes only the files the earlier run wrote and
that are unchanged; a file added or edited stops it with the file's name. Every
argument is checked before anything is written.

Command line: ``python tools/data/make_cls_data.py --out data/smix_cls --seed 0``.
From Python (tests, benchmarks): ``make_cls_data(out, ...)``, ``load_annotations(out)``,
``load_mask(out, image_path)``.
"""
import hashlib
import io
import json
import os
import time
from typing import Callable, Dict, Optional

import numpy as np
from PIL import Image

from smix_lab.data.ledger import TEMP_SUFFIX, Ledger, foreign_or_changed, read_ledger, remove_recorded, shorten

MARKER = ".smix_cls_data.json"
LEDGER = ".smix_cls_files"
MAX_SIZE = 2048                 # an image and its float64 working copies must fit in memory (2048^2: ~0.5 GB)
MAX_PER_CLASS = 100_000         # file names have five digits
ANNOTATIONS = "annotations.json"
FORMAT = "smix-cls-v2"
SPLITS = ("train", "validation")

SHAPES = ("disk", "square", "triangle", "cross", "ring", "diamond", "star", "crescent")
COLOURS = (
    ("red", (220, 40, 40)), ("green", (40, 180, 60)), ("blue", (40, 80, 225)), ("yellow", (235, 215, 40)),
    ("magenta", (205, 50, 205)), ("cyan", (40, 205, 215)), ("orange", (245, 135, 30)), ("white", (245, 245, 245)),
)
TEXTURES = ("solid", "stripes", "checker", "dots")
MAX_CLASSES = len(SHAPES) * len(TEXTURES)
MAX_ROTATION = 20.0             # degrees; keeps square and diamond apart

OBJECT_AREA = (0.03, 0.25)      # object box area / image area
DISTRACTOR_AREA = (0.004, 0.02)
DISTRACTOR_COUNT = (3, 7)

# Scenes. "salient_object": one salient object among smaller, fainter distractors (the detector finds
# the object by construction). "decoys": the control where saliency misleads: 2-3 distractors larger
# than the standard ones, opaque rectangular blocks (no class's shape, so they carry no label), black
# or white with a hard-edged checker inside, and the object soft-edged and blended into the background
# (DECOY_OBJECT_ALPHA, nearly opaque by default; BENCHMARKS.md says how that range was chosen).
SCENES = ("salient_object", "decoys")
DECOY_AREA = (0.06, 0.14)
DECOY_COUNT = (2, 3)
DECOY_OBJECT_ALPHA = (0.90, 1.00)
DECOY_TRIES = 20                # places tried per decoy to keep it off the object's box


def decoy_parameters(object_alpha=DECOY_OBJECT_ALPHA) -> Dict:
    """The "decoys" scene's settings, written into the data set's marker so a set drawn with other
    settings is never reused as this one.

    Args:
        object_alpha: (low, high) range of the object's blend into the background.

    Returns:
        A JSON-ready dict: decoy shape, area and count ranges, and the object's blend range.
    """
    return dict(decoy_shape="block", decoy_area=list(DECOY_AREA), decoy_count=list(DECOY_COUNT),
                object_alpha=[float(a) for a in object_alpha])


def class_attributes(index: int) -> Dict[str, str]:
    """Shape and texture of class ``index`` (all distinct for index < 32).

    Classes 0-7 are the 8 shapes, solid; 8-15 the same shapes striped; then checker, dots.
    """
    if not 0 <= index < MAX_CLASSES:
        raise ValueError(f"class index must be in [0, {MAX_CLASSES}), got {index}")
    return dict(shape=SHAPES[index % len(SHAPES)], texture=TEXTURES[index // len(SHAPES)])


def class_name(index: int) -> str:
    a = class_attributes(index)
    return f"{index:02d}_{a['shape']}_{a['texture']}"


def _shape_mask(shape: str, h: int, w: int, rng: np.random.Generator, angle: float = 0.0) -> np.ndarray:
    """Boolean (h, w) mask of ``shape`` filling an h x w box, rotated by ``angle`` degrees."""
    v, u = np.meshgrid((np.arange(h) + 0.5) / h * 2 - 1, (np.arange(w) + 0.5) / w * 2 - 1, indexing="ij")
    if angle:
        c, s = np.cos(np.deg2rad(angle)), np.sin(np.deg2rad(angle))
        u, v = c * u + s * v, -s * u + c * v
    r = np.hypot(u, v)
    if shape == "disk":
        m = r <= 1
    elif shape == "square":
        m = (np.abs(u) <= 0.85) & (np.abs(v) <= 0.85)
    elif shape == "triangle":
        m = np.abs(u) <= (v + 1) / 2
    elif shape == "cross":
        m = (np.abs(u) <= 0.34) | (np.abs(v) <= 0.34)
    elif shape == "ring":
        m = (r <= 1) & (r >= 0.55)
    elif shape == "diamond":
        m = np.abs(u) + np.abs(v) <= 1
    elif shape == "star":
        theta = np.arctan2(v, u)
        m = r <= 0.6 + 0.4 * np.cos(5 * theta + np.pi / 2)
    elif shape == "crescent":
        m = (r <= 1) & (np.hypot(u - 0.5, v) > 0.75)
    else:
        raise ValueError(f"unknown shape {shape!r}")
    if m.sum() == 0:  # a tiny box can miss every pixel centre; keep at least the centre pixel
        m[h // 2, w // 2] = True
    return m


def _texture(texture: str, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Multiplicative (h, w) texture in (0, 1]."""
    yy, xx = np.mgrid[0:h, 0:w]
    if texture == "solid":
        return np.ones((h, w))
    if texture == "stripes":
        period = rng.uniform(3.0, 5.0)
        angle = rng.uniform(0, np.pi)
        phase = (xx * np.cos(angle) + yy * np.sin(angle)) / period + rng.uniform()
        return np.where(np.mod(phase, 1.0) < 0.5, 1.0, 0.5)
    if texture == "checker":
        cell = int(rng.integers(2, 4))
        ox, oy = rng.integers(0, cell, size=2)
        return np.where(((xx + ox) // cell + (yy + oy) // cell) % 2 == 0, 1.0, 0.5)
    if texture == "dots":
        spacing = int(rng.integers(4, 6))
        ox, oy = rng.integers(0, spacing, size=2)
        d = np.hypot((xx + ox) % spacing - spacing / 2 + 0.5, (yy + oy) % spacing - spacing / 2 + 0.5)
        return np.where(d <= 1.1, 0.35, 1.0)
    raise ValueError(f"unknown texture {texture!r}")


def _background(size: int, rng: np.random.Generator) -> np.ndarray:
    """Cluttered float (size, size, 3) background: smooth colour field + gratings + noise."""
    grid = rng.uniform(60, 190, size=(4, 4, 3))
    coords = np.linspace(0, 3, size)
    i0 = np.clip(np.floor(coords).astype(int), 0, 2)
    f = coords - i0
    rows = grid[i0] * (1 - f)[:, None, None] + grid[i0 + 1] * f[:, None, None]            # (size, 4, 3)
    img = rows[:, i0] * (1 - f)[None, :, None] + rows[:, i0 + 1] * f[None, :, None]      # (size, size, 3)
    yy, xx = np.mgrid[0:size, 0:size]
    for _ in range(int(rng.integers(2, 4))):
        angle = rng.uniform(0, np.pi)
        period = rng.uniform(4.0, 16.0)
        amp = rng.uniform(6, 18)
        wave = np.sin(2 * np.pi * (xx * np.cos(angle) + yy * np.sin(angle)) / period + rng.uniform(0, 2 * np.pi))
        img += amp * wave[..., None] * rng.uniform(0.5, 1.0, size=3)
    img += rng.normal(0, 6, size=img.shape)
    return img


def _place(size: int, area_range, rng: np.random.Generator):
    """Random box (y0, x0, h, w) inside the image with area fraction in ``area_range``."""
    area = rng.uniform(*area_range) * size * size
    aspect = np.exp(rng.uniform(np.log(0.75), np.log(1.33)))
    h = int(np.clip(round(np.sqrt(area / aspect)), 3, size))
    w = int(np.clip(round(np.sqrt(area * aspect)), 3, size))
    y0 = int(rng.integers(0, size - h + 1))
    x0 = int(rng.integers(0, size - w + 1))
    return y0, x0, h, w


def _overlaps(a, b) -> bool:
    """Whether boxes (y0, x0, h, w) ``a`` and ``b`` share a pixel."""
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _draw_decoys(img: np.ndarray, rng: np.random.Generator, avoid) -> None:
    """Paint the "decoys" scene's distractors into ``img`` (float HxWx3, in place): opaque rectangular
    blocks, black or white, with a one- or two-pixel checker of the opposite tone inside (hard edges),
    each placed off the object's box ``avoid`` (y0, x0, h, w) when one of ``DECOY_TRIES`` places is."""
    size = img.shape[0]
    for _ in range(int(rng.integers(DECOY_COUNT[0], DECOY_COUNT[1] + 1))):
        for _ in range(DECOY_TRIES):
            y0, x0, h, w = _place(size, DECOY_AREA, rng)
            if not _overlaps((y0, x0, h, w), avoid):
                break
        dark = bool(rng.integers(2))
        cell = int(rng.integers(1, 3))
        yy, xx = np.mgrid[0:h, 0:w]
        checker = (yy // cell + xx // cell) % 2 == 0
        tone = np.where(checker, 15.0 if dark else 245.0, 120.0 if dark else 140.0)
        img[y0:y0 + h, x0:x0 + w] = tone[..., None]


def _soft_edges(mask: np.ndarray) -> np.ndarray:
    """Float version of a boolean mask whose rim is smoothed by a 3x3 mean (1 inside, ~0.5 at the edge)."""
    padded = np.pad(mask.astype(float), 1)
    h, w = mask.shape
    return sum(padded[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)) / 9.0 * mask


def render_image(label: int, size: int, rng: np.random.Generator, object_area=OBJECT_AREA,
                 scene: str = "salient_object", object_alpha=DECOY_OBJECT_ALPHA):
    """One image of class ``label``: returns (uint8 HxWx3 RGB, bool HxW object mask, colour name).

    Args:
        label: the class index (its shape and texture: :func:`class_attributes`).
        size: the image side in pixels.
        rng: the image's own generator (all randomness of the image comes from it).
        object_area: the range the object's box area is drawn from, as fractions of the image.
        scene: one of ``SCENES`` (see there); "salient_object" draws exactly what it drew before
            the option existed.
        object_alpha: "decoys" only: the (low, high) range the object's blend is drawn from.
    """
    attrs = class_attributes(label)
    img = _background(size, rng)
    if scene == "decoys":
        y0, x0, h, w = _place(size, object_area, rng)
        _draw_decoys(img, rng, (y0, x0, h, w))
        m = _shape_mask(attrs["shape"], h, w, rng, angle=rng.uniform(-MAX_ROTATION, MAX_ROTATION))
        colour_name, colour = COLOURS[int(rng.integers(len(COLOURS)))]
        tex = _texture(attrs["texture"], h, w, rng)
        alpha = rng.uniform(*object_alpha) * _soft_edges(m)[..., None]
        region = img[y0:y0 + h, x0:x0 + w]
        region[:] = (1 - alpha) * region + alpha * (np.array(colour, float)[None, None, :] * tex[..., None])
        mask = np.zeros((size, size), bool)
        mask[y0:y0 + h, x0:x0 + w] = m
        return np.clip(np.rint(img), 0, 255).astype(np.uint8), mask, colour_name

    n_distractors = int(rng.integers(DISTRACTOR_COUNT[0], DISTRACTOR_COUNT[1] + 1))
    for _ in range(n_distractors):
        y0, x0, h, w = _place(size, DISTRACTOR_AREA, rng)
        m = _shape_mask(SHAPES[int(rng.integers(len(SHAPES)))], h, w, rng)
        colour = np.array(COLOURS[int(rng.integers(len(COLOURS)))][1], float)
        alpha = rng.uniform(0.3, 0.55)
        patch = img[y0:y0 + h, x0:x0 + w]
        patch[m] = (1 - alpha) * patch[m] + alpha * colour

    y0, x0, h, w = _place(size, object_area, rng)
    m = _shape_mask(attrs["shape"], h, w, rng, angle=rng.uniform(-MAX_ROTATION, MAX_ROTATION))
    colour_name, colour = COLOURS[int(rng.integers(len(COLOURS)))]
    colour = np.array(colour, float) + rng.uniform(-15, 15, size=3)
    tex = _texture(attrs["texture"], h, w, rng)
    obj = colour[None, None, :] * tex[..., None] + rng.normal(0, 4, size=(h, w, 3))
    img[y0:y0 + h, x0:x0 + w][m] = obj[m]

    mask = np.zeros((size, size), bool)
    mask[y0:y0 + h, x0:x0 + w] = m
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), mask, colour_name


def _mask_box(mask: np.ndarray):
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]


def _generated_files(params: Dict):
    """Relative paths of every file a generation with ``params`` (an earlier marker) wrote."""
    if not 0 <= int(params["train_per_class"]) <= MAX_PER_CLASS or not 0 <= int(params["val_per_class"]) \
            <= MAX_PER_CLASS or not 0 <= int(params["num_classes"]) <= MAX_CLASSES:
        raise ValueError("counts out of range")
    files = {ANNOTATIONS, MARKER}
    for split, per_class in zip(SPLITS, (params["train_per_class"], params["val_per_class"])):
        for label in range(params["num_classes"]):
            for i in range(per_class):
                name = f"{class_name(label)}/{i:05d}.png"
                files.update({f"{split}/{name}", f"masks/{split}/{name}"})
    return files


def _check_out(out: str, force: bool, log):
    """Make room in ``out`` without ever deleting a file this tool did not write.

    A folder made by this tool (its marker is there) loses exactly the files of that generation, each
    only when its bytes are those the ledger recorded; a file the user added under train/, validation/
    or masks/, or one they changed, stops the run instead (so it is not mixed into the new set or lost).
    A foreign non-empty folder needs ``force`` and must not have train/, validation/, masks/ or
    annotations.json: nothing of the user's is replaced.
    """
    if out == "":
        raise ValueError("--out is empty; pass the folder to write the data set to")
    if not os.path.exists(out):
        return
    if not os.path.isdir(out):
        raise FileExistsError(f"{out} exists and is not a folder; choose another --out")
    marker = os.path.join(out, MARKER)
    ours = SPLITS + ("masks",)
    if not os.path.exists(marker):
        taken = [name for name in ours + (ANNOTATIONS,) if os.path.exists(os.path.join(out, name))]
        if os.listdir(out) and not force:
            raise FileExistsError(
                f"{out} is not empty and was not made by make_cls_data.py (no {MARKER} in it); "
                "choose another --out, or pass --force to add the data set beside what is there")
        if taken:
            raise FileExistsError(f'{out} already has {", ".join(taken)}, not made by make_cls_data.py; nothing is '
                                  'deleted or replaced even with --force: choose another --out')
        return
    try:
        with open(marker) as f:
            earlier = json.load(f)
        generated = _generated_files(earlier)
        ledger = read_ledger(os.path.join(out, LEDGER))
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        raise FileExistsError(f"{marker} or {LEDGER} cannot be read, so what this tool wrote in {out} is unknown; "
                              "nothing was deleted: choose another --out, or delete the folder yourself") from None
    present = {os.path.relpath(os.path.join(root, name), out).replace(os.sep, "/")
               for sub in ours for root, _, names in os.walk(os.path.join(out, sub)) for name in names}
    ours_partial = {rel for rel in present if rel.endswith(TEMP_SUFFIX) and rel[:-len(TEMP_SUFFIX)] in generated}
    added = sorted(present - generated - ours_partial)
    if added:
        raise FileExistsError(f'{out} holds files that make_cls_data.py did not write ({", ".join(added[:3])}'
                              f'{", ..." if len(added) > 3 else ""}); move them out or choose another --out')
    if not ledger and not os.path.exists(os.path.join(out, LEDGER)):  # made before the ledger existed
        ledger = _ledger_by_regeneration(earlier, log)
    changed = foreign_or_changed(out, generated - {MARKER}, ledger)
    if changed:
        why = " (made by an earlier make_cls_data.py that kept no list of its files)" if not ledger else ""
        raise FileExistsError(f"{out} holds files that changed since make_cls_data.py wrote them{why}: "
                              f"{shorten(changed)}; nothing was deleted: move them out or choose another --out")
    log(f"[make_cls_data] replacing earlier generated data in {out}")
    remove_recorded(out, ledger, temporaries=generated)


def make_cls_data(
        out: str,
        seed: int = 0,
        num_classes: int = 10,
        train_per_class: int = 200,
        val_per_class: int = 50,
        size: int = 64,
        object_area=OBJECT_AREA,
        scene: str = "salient_object",
        object_alpha=None,
        force: bool = False,
        reuse: bool = False,
        log: Optional[Callable[[str], None]] = print,
) -> Dict:
    """Write the data set to ``out`` and return its parameters (the marker's content).

    Every argument is checked before anything is written. The image side is bounded although any
    side would draw: above ``MAX_SIZE`` one image and its float64 working copies need gigabytes, and
    the set exists to be small; a clear error beats an out-of-memory kill with half a folder written.

    Args:
        out: the output folder (made if missing).
        seed: an integer >= 0 (numpy's seeds); the same arguments give the same files.
        num_classes: 1..``MAX_CLASSES``.
        train_per_class, val_per_class: images per class and split, 1..``MAX_PER_CLASS``.
        size: image side in pixels, 16..``MAX_SIZE``.
        object_area: (low, high) fractions of the image the object's box covers (default 3-25 %);
            larger objects make a random CutMix box hit the object more often.
        scene: one of ``SCENES``: "salient_object" (default) or "decoys", the control where the
            distractors are more salient than the object (BENCHMARKS.md, the study's control arm).
        object_alpha: "decoys" only: (low, high) blend of the object into the background, 0 < low <=
            high <= 1 (default ``DECOY_OBJECT_ALPHA``); lower is fainter.
        force: allow writing into a non-empty folder this tool did not make (see ``_check_out``).
        reuse: if ``out`` already holds a complete set made with the same parameters, keep it.
        log: progress lines go here (None: quiet).

    Returns:
        The parameters, as the marker holds them (``complete`` True).

    Raises:
        ValueError: a bad argument; nothing is written.
        FileExistsError: ``out`` is a file, not ours, damaged, or holds files this tool did not write or
            that changed (see ``_check_out``); nothing is deleted.
        OSError: a write failed.
    """
    log = log or (lambda msg: None)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0 (numpy's seeds), got {seed!r}")
    if not 1 <= num_classes <= MAX_CLASSES:
        raise ValueError(f"num_classes must be in [1, {MAX_CLASSES}], got {num_classes}")
    if not (1 <= train_per_class <= MAX_PER_CLASS and 1 <= val_per_class <= MAX_PER_CLASS):
        raise ValueError(f"train_per_class and val_per_class must be in [1, {MAX_PER_CLASS}], got "
                         f"{train_per_class} and {val_per_class}")
    if not 16 <= size <= MAX_SIZE:
        raise ValueError(f"size must be from 16 to {MAX_SIZE} pixels (larger images need gigabytes each while "
                         f"drawn), got {size}")
    object_area = _unit_range("object_area", object_area)
    if scene not in SCENES:
        raise ValueError(f"scene must be one of {', '.join(SCENES)}, got {scene!r}")
    if object_alpha is not None and scene != "decoys":
        raise ValueError(f"object_alpha is a setting of the 'decoys' scene; scene {scene!r} draws the object opaque")
    object_alpha = _unit_range("object_alpha", DECOY_OBJECT_ALPHA if object_alpha is None else object_alpha)
    params = dict(format=FORMAT, seed=int(seed), num_classes=int(num_classes), train_per_class=int(train_per_class),
                  val_per_class=int(val_per_class), size=int(size), object_area=object_area)
    if scene != "salient_object":  # the marker of a default set stays as it was before scenes existed
        params["scene"] = scene
        params["scene_parameters"] = decoy_parameters(object_alpha)
    marker = os.path.join(out, MARKER)
    if reuse and os.path.isfile(marker):
        try:
            with open(marker) as f:
                old = json.load(f)
        except (ValueError, UnicodeDecodeError):
            old = None  # a damaged marker: _check_out says so
        if isinstance(old, dict) and old.get("complete") and {k: old.get(k) for k in params} == params \
                and old.get("scene", "salient_object") == scene:
            log(f"[make_cls_data] reusing {out} (same parameters)")
            return old
    _check_out(out, force, log)
    os.makedirs(out, exist_ok=True)
    with open(marker, "w") as f:
        json.dump(dict(params, complete=False), f, indent=1)

    ledger, t0 = Ledger(out, LEDGER), time.time()
    try:
        for rel, data in _files(params, log):
            ledger.write(rel, data)
    finally:
        ledger.close()
    params = dict(params, complete=True)
    with open(marker, "w") as f:
        json.dump(params, f, indent=1)
    log(f"[make_cls_data] wrote {num_classes * (train_per_class + val_per_class)} images, {num_classes} classes, "
        f"{size}x{size} to {out} in {time.time() - t0:.1f}s")
    return params


def _unit_range(name: str, value) -> list:
    """``value`` as [low, high] floats with 0 < low <= high <= 1, or a ValueError naming ``name``."""
    pair = [float(a) for a in value]
    if len(pair) != 2 or not 0.0 < pair[0] <= pair[1] <= 1.0:
        raise ValueError(f"{name} must be (low, high) with 0 < low <= high <= 1, got {pair}")
    return pair


def _files(params: Dict, log=None):
    """Every file of a generation with ``params`` as (relative path, bytes), in writing order: each image
    and mask of both splits, then annotations.json. Progress lines go to ``log`` when given."""
    seed, num_classes, size = int(params["seed"]), int(params["num_classes"]), int(params["size"])
    per_split = (int(params["train_per_class"]), int(params["val_per_class"]))
    object_area = [float(a) for a in params["object_area"]]
    scene = params.get("scene", "salient_object")
    object_alpha = params.get("scene_parameters", {}).get("object_alpha", DECOY_OBJECT_ALPHA)
    classes = [class_name(i) for i in range(num_classes)]
    images = {}
    t0 = time.time()
    for split_idx, (split, per_class) in enumerate(zip(SPLITS, per_split)):
        total = per_class * num_classes
        done = 0
        step = max(1, total // 5)
        for label, cname in enumerate(classes):
            for i in range(per_class):
                rng = np.random.default_rng([seed, split_idx, label, i])
                img, mask, colour = render_image(label, size, rng, object_area, scene, object_alpha)
                fname = f"{i:05d}.png"
                for rel, picture in ((f"{split}/{cname}/{fname}", Image.fromarray(img, "RGB")),
                                     (f"masks/{split}/{cname}/{fname}",
                                      Image.fromarray(mask.astype(np.uint8) * 255, "L"))):
                    png = io.BytesIO()
                    picture.save(png, format="PNG")
                    yield rel, png.getvalue()
                images[f"{split}/{cname}/{fname}"] = dict(
                    label=label, cls=cname, colour=colour, box=_mask_box(mask), area=round(float(mask.mean()), 5),
                    mask=f"masks/{split}/{cname}/{fname}")
                done += 1
                if log and (done % step == 0 or done == total):
                    log(f"[make_cls_data] {split}: {done}/{total} images ({time.time() - t0:.1f}s)")
    base = {k: params[k] for k in ("format", "seed", "num_classes", "train_per_class", "val_per_class", "size",
                                   "object_area", "scene", "scene_parameters") if k in params}
    yield ANNOTATIONS, json.dumps(dict(base, classes=classes,
                                       class_attributes=[class_attributes(i) for i in range(num_classes)],
                                       box_format="xyxy, pixels, x1/y1 exclusive", images=images)).encode()


def _ledger_by_regeneration(params: Dict, log) -> Dict:
    """What an earlier generation that kept no ledger wrote, recomputed from its marker (drawing is
    deterministic); {} when the marker is of another format."""
    if not isinstance(params, dict) or params.get("format") != FORMAT:
        return {}
    params = dict(params, object_area=params.get("object_area", list(OBJECT_AREA)))
    log("[make_cls_data] the earlier set kept no list of its files: redrawing it to tell its files from "
        "changed ones")
    return {rel: (hashlib.sha256(data).hexdigest(), len(data)) for rel, data in _files(params)}


def load_annotations(root: str) -> Dict:
    """Read ``root/annotations.json``: dict with 'classes' and 'images' {relative image path: record}.

    Each record has 'label', 'cls', 'colour' (palette name of the object), 'box' [x0, y0, x1, y1) in
    pixels, 'area' (object pixels / image pixels) and 'mask' (relative path of the mask PNG).
    """
    path = os.path.join(root, ANNOTATIONS)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not found; make the data with tools/data/make_cls_data.py --out {root}")
    with open(path) as f:
        ann = json.load(f)
    if ann.get("format") != FORMAT:
        raise ValueError(f'{path} has format {ann.get("format")!r}, expected {FORMAT!r}')
    return ann


def load_mask(root: str, image_path: str, annotations: Optional[Dict] = None) -> np.ndarray:
    """Object mask (bool HxW) of an image given by its path relative to ``root`` (or absolute)."""
    rel = os.path.relpath(image_path, root) if os.path.isabs(image_path) else image_path
    rel = rel.replace(os.sep, "/")
    ann = annotations if annotations is not None else load_annotations(root)
    if rel not in ann["images"]:
        raise KeyError(f"{rel} is not in {os.path.join(root, ANNOTATIONS)}")
    with Image.open(os.path.join(root, ann["images"][rel]["mask"])) as m:
        return np.asarray(m) > 127
