"""Annotated images a user already has, read as (image, object mask) pairs for the patch-fidelity check.

Three layouts are recognised from the path alone:

- **VOC**: a folder with ``Annotations/*.xml`` and ``JPEGImages/`` (``VOC2007/``, ``VOC2012/``, or
  a ``VOCdevkit/`` holding one of them), optionally restricted to a split listed in
  ``ImageSets/Main/<split>.txt``. Objects are the ``<bndbox>`` of every ``<object>``; VOC's
  coordinates are 1-based and inclusive, so a box covers pixels ``xmin-1 .. xmax-1``.
- **COCO**: an instances JSON (``images``, ``annotations`` with ``bbox`` = [x, y, width, height]
  in pixels) and the folder its ``file_name`` entries are relative to.
- **built-in**: a set written by ``tools/data/make_cls_data.py`` (``annotations.json`` and one
  exact object mask per image).

For VOC and COCO the object pixels are the union of the boxes (boxes contain background too, so
an "in-object" share measured on boxes is an upper bound of the share on the objects' own pixels);
for the built-in sets they are the exact masks.

Reading never runs code from a file: XML through ``xml.etree`` and JSON through ``json``.
Every problem is a :class:`AnnotationError` whose one-line message names the file and the fix.
"""
from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

Box = Tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels, x1/y1 exclusive

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


class AnnotationError(ValueError):
    """The annotated data cannot be read as it stands; the one-line message says what to change."""


@dataclass(frozen=True)
class AnnotatedImage:
    """One image and where its objects are: boxes (VOC, COCO) or an exact mask file (built-in sets).

    Attributes:
        image_path: the image file.
        boxes: object boxes (x0, y0, x1, y1), pixels, x1/y1 exclusive; empty when ``mask_path`` is set.
        mask_path: a grey PNG, object where > 127 (the built-in sets); None for box annotations.
        source: the annotation file (named in error messages).
    """
    image_path: str
    boxes: Tuple[Box, ...] = ()
    mask_path: Optional[str] = None
    source: str = ""

    def load(self) -> Tuple[Image.Image, np.ndarray]:
        """The RGB image and its boolean (H, W) object mask.

        Raises:
            AnnotationError: the image cannot be decoded, the mask has another size than the image,
                or a box lies outside the image.
        """
        try:
            with Image.open(self.image_path) as opened:
                image = opened.convert("RGB")
        except (OSError, ValueError) as err:
            raise AnnotationError(f"{self.image_path} cannot be read as an image ({err}); replace or remove "
                                  "it from the set") from None
        width, height = image.size
        if self.mask_path is not None:
            with Image.open(self.mask_path) as opened:
                mask = np.asarray(opened.convert("L")) > 127
            if mask.shape != (height, width):
                raise AnnotationError(f"{self.mask_path} is {mask.shape[1]}x{mask.shape[0]} but its image "
                                      f"{self.image_path} is {width}x{height}; regenerate the set")
            return image, mask
        return image, boxes_to_mask(self.boxes, height, width, self.source or self.image_path)


def boxes_to_mask(boxes: Sequence[Box], height: int, width: int, where: str) -> np.ndarray:
    """Union of ``boxes`` as a boolean (height, width) mask; a pixel is inside when its centre is.

    Raises:
        AnnotationError: a box that is empty or reaches outside the image by more than one pixel
            (one pixel of slack absorbs the usual rounding of hand-drawn boxes; it is clipped).
    """
    mask = np.zeros((height, width), dtype=bool)
    for x0, y0, x1, y1 in boxes:
        if not (x1 > x0 and y1 > y0):
            raise AnnotationError(f"{where}: box {_fmt((x0, y0, x1, y1))} is empty (x1 <= x0 or y1 <= y0); "
                                  "fix or delete that object")
        if x0 < -1 or y0 < -1 or x1 > width + 1 or y1 > height + 1:
            raise AnnotationError(f"{where}: box {_fmt((x0, y0, x1, y1))} lies outside the {width}x{height} "
                                  "image; fix the box (or the image size the annotation was drawn on)")
        c0, r0 = max(0, int(np.ceil(x0 - 0.5))), max(0, int(np.ceil(y0 - 0.5)))
        c1, r1 = min(width, int(np.ceil(x1 - 0.5))), min(height, int(np.ceil(y1 - 0.5)))
        mask[r0:r1, c0:c1] = True
    return mask


def _fmt(box: Box) -> str:
    return "[" + ", ".join(f"{v:g}" for v in box) + "]"


# ---------------------------------------------------------------------------------------------- VOC
def _voc_root(path: str, year: Optional[str]) -> Optional[str]:
    """The VOC folder (the one with Annotations/ and JPEGImages/) at or under ``path``, or None."""
    def is_voc(folder):
        return os.path.isdir(os.path.join(folder, "Annotations")) and os.path.isdir(os.path.join(folder, "JPEGImages"))
    if is_voc(path):
        return path
    years = sorted(name for name in os.listdir(path) if name.startswith("VOC") and is_voc(os.path.join(path, name)))
    if year is not None:
        wanted = f"VOC{year}"
        if wanted not in years:
            raise AnnotationError(f"{path} has no {wanted}/ with Annotations/ and JPEGImages/ "
                                  f"(it has {', '.join(years) or 'none'}); pass another --year")
        return os.path.join(path, wanted)
    if len(years) > 1:
        raise AnnotationError(f"{path} holds {', '.join(years)}; pick one with --year "
                              f"(e.g. --year {years[0][3:]}) or pass that folder")
    return os.path.join(path, years[0]) if years else None


def _voc_number(node, tag: str, source: str) -> float:
    text = node.findtext(tag)
    try:
        return float(text)
    except (TypeError, ValueError):
        raise AnnotationError(f"{source}: <{tag}> is {text!r}, not a number; fix the annotation") from None


def read_voc(root: str, split: Optional[str] = None) -> List[AnnotatedImage]:
    """Every annotated image of a VOC folder (or of one ``ImageSets/Main/<split>.txt``), in file order.

    Raises:
        AnnotationError: a missing split file, an unreadable XML, an object without ``<bndbox>``,
            or an annotation whose image is not in ``JPEGImages/``.
    """
    annotations = os.path.join(root, "Annotations")
    if split is not None:
        listing = os.path.join(root, "ImageSets", "Main", f"{split}.txt")
        if not os.path.isfile(listing):
            have = sorted(name[:-4] for name in os.listdir(os.path.dirname(listing))
                          if name.endswith(".txt") and "_" not in name) \
                if os.path.isdir(os.path.dirname(listing)) else []
            raise AnnotationError(f"{listing} not found; pass one of the splits there "
                                  f"({', '.join(have) or 'none'}) to --split, or leave --split out to read "
                                  "every annotation")
        with open(listing) as f:
            ids = [line.split()[0] for line in f if line.strip()]
    else:
        ids = sorted(name[:-4] for name in os.listdir(annotations) if name.endswith(".xml"))
    items = []
    for image_id in ids:
        xml_path = os.path.join(annotations, f"{image_id}.xml")
        try:
            tree = ElementTree.parse(xml_path)
        except (OSError, ElementTree.ParseError) as err:
            raise AnnotationError(f"{xml_path} cannot be read as VOC XML ({err}); fix or remove it") from None
        node = tree.getroot()
        name = node.findtext("filename") or f"{image_id}.jpg"
        image_path = os.path.join(root, "JPEGImages", name)
        if not os.path.isfile(image_path):
            image_path = os.path.join(root, "JPEGImages", f"{image_id}.jpg")
        if not os.path.isfile(image_path):
            raise AnnotationError(f"{xml_path}: its image {name} is not in {os.path.join(root, 'JPEGImages')}; "
                                  "add the image or remove the annotation")
        boxes = []
        for obj in node.iter("object"):
            box = obj.find("bndbox")
            if box is None:
                raise AnnotationError(f"{xml_path}: an <object> has no <bndbox>; fix the annotation")
            x0, y0, x1, y1 = (_voc_number(box, tag, xml_path) for tag in ("xmin", "ymin", "xmax", "ymax"))
            boxes.append((x0 - 1.0, y0 - 1.0, x1, y1))  # 1-based inclusive -> 0-based, end exclusive
        items.append(AnnotatedImage(image_path, tuple(boxes), source=xml_path))
    return items


# --------------------------------------------------------------------------------------------- COCO
def read_coco(json_path: str, image_dir: Optional[str]) -> List[AnnotatedImage]:
    """Every image of a COCO instances JSON with its boxes (crowd regions count as objects), in id order.

    Args:
        json_path: the instances file.
        image_dir: the folder the ``file_name`` entries are relative to (required).

    Raises:
        AnnotationError: no ``image_dir``, a JSON without ``images``/``annotations``, a bbox that is
            not four numbers, or an annotation of an image id the file does not list.
    """
    if not image_dir:
        raise AnnotationError(f"{json_path} is a COCO-style file: pass the folder of its images with --images")
    if not os.path.isdir(image_dir):
        raise AnnotationError(f"--images {image_dir} is not a folder")
    try:
        with open(json_path) as f:
            data = json.load(f)
    except (OSError, ValueError) as err:
        raise AnnotationError(f"{json_path} cannot be read as JSON ({err})") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("annotations"), list):
        raise AnnotationError(f"{json_path} is not a COCO instances file (it needs 'images' and 'annotations' "
                              "lists); pass a VOC folder, a COCO JSON, or a built-in set")
    boxes = {}
    for ann in data["annotations"]:
        bbox = ann.get("bbox") if isinstance(ann, dict) else None
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, (int, float)) for v in bbox)):
            raise AnnotationError(f"{json_path}: annotation {ann.get('id') if isinstance(ann, dict) else ann!r} "
                                  "has no bbox of four numbers [x, y, width, height]; fix the file")
        x, y, w, h = (float(v) for v in bbox)
        boxes.setdefault(ann.get("image_id"), []).append((x, y, x + w, y + h))
    known = {img.get("id") for img in data["images"] if isinstance(img, dict)}
    stray = [i for i in boxes if i not in known]
    if stray:
        raise AnnotationError(f"{json_path}: annotations refer to image id {stray[0]!r}, which 'images' does not "
                              "list; fix the file")
    items = []
    for img in sorted((i for i in data["images"] if isinstance(i, dict)), key=lambda i: str(i.get("id"))):
        name = img.get("file_name")
        if not isinstance(name, str):
            raise AnnotationError(f"{json_path}: image {img.get('id')!r} has no file_name; fix the file")
        items.append(AnnotatedImage(os.path.join(image_dir, name), tuple(boxes.get(img.get("id"), ())),
                                    source=f"{json_path} (image {img.get('id')!r})"))
    return items


# ----------------------------------------------------------------------------------------- built-in
def read_built_in(root: str, split: Optional[str] = None) -> List[AnnotatedImage]:
    """The images (of one split, default train) of a built-in set, each with its exact object mask."""
    from smix_lab.data.classification import SPLITS, load_annotations
    split = split or "train"
    if split not in SPLITS:
        raise AnnotationError(f"a built-in set has the splits {', '.join(SPLITS)}; got --split {split}")
    try:
        ann = load_annotations(root)
    except (OSError, ValueError) as err:
        raise AnnotationError(f"{root}: {err}") from None
    return [AnnotatedImage(os.path.join(root, rel), mask_path=os.path.join(root, rec["mask"]),
                           source=os.path.join(root, "annotations.json"))
            for rel, rec in sorted(ann["images"].items()) if rel.startswith(split + "/")]


# ------------------------------------------------------------------------------------------- entry
def read_annotated(path: str, images: Optional[str] = None, split: Optional[str] = None,
                   year: Optional[str] = None) -> Tuple[str, List[AnnotatedImage]]:
    """Recognise the layout at ``path`` and read it; returns (layout name, images).

    Args:
        path: a VOC folder (or VOCdevkit), a COCO JSON file, or a built-in set's folder.
        images: the image folder of a COCO JSON.
        split: a VOC ``ImageSets/Main`` split, or a built-in set's split (train, validation).
        year: with a VOCdevkit holding several years, the one to read (2007, 2012).

    Raises:
        AnnotationError: ``path`` is none of the three layouts (the message lists what each needs),
            or reading it failed.
    """
    if os.path.isfile(path):
        if path.endswith(".json"):
            return "coco", read_coco(path, images)
        raise AnnotationError(f"{path} is a file but not a COCO .json; pass a VOC folder (Annotations/ + "
                              "JPEGImages/), a COCO instances .json with --images, or a built-in set's folder")
    if not os.path.isdir(path):
        raise AnnotationError(f"{path} does not exist")
    if os.path.isfile(os.path.join(path, "annotations.json")) and os.path.isdir(os.path.join(path, "masks")):
        return "built-in", read_built_in(path, split)
    voc = _voc_root(path, year)
    if voc is not None:
        return "voc", read_voc(voc, split)
    raise AnnotationError(f"{path} is not an annotated set: a VOC folder needs Annotations/ and JPEGImages/ "
                          "(or VOC2007/ or VOC2012/ holding them), a COCO set is its instances .json (with "
                          "--images), a built-in set has annotations.json and masks/")


def check_has_objects(items: Sequence[AnnotatedImage], skip_empty: bool) -> List[AnnotatedImage]:
    """Refuse (or, with ``skip_empty``, drop) images annotated with no object at all.

    Raises:
        AnnotationError: with ``skip_empty`` False, the first image with no object, and the fix.
    """
    empty = [item for item in items if item.mask_path is None and not item.boxes]
    if empty and not skip_empty:
        more = f" (and {len(empty) - 1} more)" if len(empty) > 1 else ""
        raise AnnotationError(f"{empty[0].source}: {os.path.basename(empty[0].image_path)} has no object boxes"
                              f"{more}; annotate it, or pass --skip-empty to leave such images out")
    kept = [item for item in items if item.mask_path is not None or item.boxes]
    if not kept:
        raise AnnotationError("no image of the set has an annotated object; nothing to measure")
    return kept
