#!/usr/bin/env python3
"""Link an unpacked Tiny-ImageNet (tiny-imagenet-200/) into timm's folder layout.

The zip holds train/<wnid>/images/*.JPEG and val/images/*.JPEG with the labels in
val/val_annotations.txt; timm's ImageFolder labels an image by its innermost folder,
so both need rearranging. This makes, with symlinks (no copies):

    OUT/train/<wnid>/*.JPEG
    OUT/validation/<wnid>/*.JPEG

    python tools/data/prepare_tiny_imagenet.py --src tiny-imagenet-200 --out data/tiny-imagenet
"""
import argparse
import os
import sys


def prepare(src: str, out: str) -> dict:
    """Make OUT/{train,validation}/<wnid>/ symlinks; return image counts per split."""
    train_src = os.path.join(src, "train")
    val_ann = os.path.join(src, "val", "val_annotations.txt")
    if not os.path.isdir(train_src) or not os.path.isfile(val_ann):
        raise FileNotFoundError(f"{src} does not look like tiny-imagenet-200 (needs train/ and "
                                f"val/val_annotations.txt)")
    if os.path.exists(out) and os.listdir(out):
        raise FileExistsError(f"{out} exists and is not empty; choose another --out")
    counts = {"train": 0, "validation": 0}
    wnids = sorted(d for d in os.listdir(train_src) if os.path.isdir(os.path.join(train_src, d)))
    for wnid in wnids:
        img_dir = os.path.join(train_src, wnid, "images")
        if not os.path.isdir(img_dir):
            img_dir = os.path.join(train_src, wnid)
        dst = os.path.join(out, "train", wnid)
        os.makedirs(dst)
        for f in sorted(os.listdir(img_dir)):
            if f.lower().endswith((".jpeg", ".jpg", ".png")):
                os.symlink(os.path.abspath(os.path.join(img_dir, f)), os.path.join(dst, f))
                counts["train"] += 1
    with open(val_ann) as fh:
        for line in fh:
            parts = line.split("\t")
            if len(parts) < 2:
                continue
            fname, wnid = parts[0], parts[1]
            dst = os.path.join(out, "validation", wnid)
            os.makedirs(dst, exist_ok=True)
            os.symlink(os.path.abspath(os.path.join(src, "val", "images", fname)), os.path.join(dst, fname))
            counts["validation"] += 1
    return counts


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--src", required=True, help="the unpacked tiny-imagenet-200 folder")
    p.add_argument("--out", required=True, help="output folder (timm layout)")
    a = p.parse_args(argv)
    try:
        counts = prepare(a.src, a.out)
    except (FileNotFoundError, FileExistsError) as e:
        sys.exit(f"prepare_tiny_imagenet.py: error: {e}")
    print(f'linked {counts["train"]} train and {counts["validation"]} validation images into {a.out}')


if __name__ == "__main__":
    main()
