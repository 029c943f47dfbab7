#!/usr/bin/env python3
"""Generate the built-in image-classification set (timm folder layout, with object masks).

    python tools/data/make_cls_data.py --out data/smix_cls --seed 0

What the images hold and how they are laid out: smix_lab/data/classification.py.
"""
import argparse
import sys

from smix_lab.data.classification import DECOY_OBJECT_ALPHA, MAX_CLASSES, OBJECT_AREA, SCENES, make_cls_data


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="output folder (made if missing)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num-classes", type=int, default=10, help=f"1..{MAX_CLASSES} (default 10)")
    p.add_argument("--train-per-class", type=int, default=200)
    p.add_argument("--val-per-class", type=int, default=50)
    p.add_argument("--size", type=int, default=64, help="image side in pixels (default 64)")
    p.add_argument("--object-area", type=float, nargs=2, default=list(OBJECT_AREA), metavar=("LOW", "HIGH"),
                   help="fractions of the image the object's box covers (default %(default)s)")
    p.add_argument("--scene", choices=SCENES, default="salient_object",
                   help="salient_object: one salient object among faint distractors (default); decoys: the control "
                        "where larger, high-contrast distractors outshine the object")
    p.add_argument("--object-alpha", type=float, nargs=2, default=None, metavar=("LOW", "HIGH"),
                   help="--scene decoys only: the range of the object's blend into the background (default "
                        f"{DECOY_OBJECT_ALPHA[0]} {DECOY_OBJECT_ALPHA[1]}; lower is fainter)")
    p.add_argument("--force", action="store_true",
                   help="write into a non-empty folder this tool did not make, when it has no train/, validation/, "
                        "masks/ or annotations.json (nothing there is deleted or replaced)")
    p.add_argument("--reuse", action="store_true", help="keep an existing complete set with the same parameters")
    a = p.parse_args(argv)
    try:
        make_cls_data(a.out, seed=a.seed, num_classes=a.num_classes, train_per_class=a.train_per_class,
                      val_per_class=a.val_per_class, size=a.size, object_area=a.object_area, scene=a.scene,
                      object_alpha=a.object_alpha, force=a.force,
                      reuse=a.reuse)
    except (FileExistsError, ValueError) as e:
        sys.exit(f"make_cls_data.py: error: {e}")
    except OSError as e:  # --out under a file, unwritable, ...
        sys.exit(f"make_cls_data.py: error: cannot write the data set to {a.out!r}: {e.strerror or e}")


if __name__ == "__main__":
    sys.exit(main())
