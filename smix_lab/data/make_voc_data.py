#!/usr/bin/env python
"""Generate the built-in PASCAL VOC-style VOCdevkit (what mmdet's VOC configs read).

    python tools/data/make_voc_data.py --out data/VOCdevkit --seed 0 \\
        --num-train 200 --num-test 100 --size 160

What the images hold and how they are laid out: smix_lab/data/voc.py.
"""
import argparse
import sys
import time

from smix_lab.data.voc import generate, parse_size


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="data/VOCdevkit",
                        help="VOCdevkit folder to write (default: "
                        "data/VOCdevkit, where mmdet VOC configs look)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-train", type=int, default=200,
                        help="trainval images per year (VOC2007 and VOC2012)")
    parser.add_argument("--num-test", type=int, default=100,
                        help="VOC2007 test images")
    parser.add_argument("--size", type=parse_size, default=(160, 160),
                        help="image size N or WxH in pixels (default 160)")
    parser.add_argument("--force", action="store_true",
                        help="write into a non-empty folder not made by us")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.num_train < 1 or args.num_test < 1:
        parser.error("--num-train and --num-test must be >= 1")
    if not args.out:
        parser.error("--out is empty; pass the VOCdevkit folder to write")
    t0 = time.time()
    try:
        counts = generate(args.out, seed=args.seed, num_train=args.num_train,
                          num_test=args.num_test, size=args.size,
                          force=args.force, progress=not args.quiet)
    except (ValueError, FileExistsError) as err:  # bad arguments, a folder that is not ours, a changed file
        sys.exit(f"make_voc_data: error: {err}")
    except OSError as err:  # --out under a file, unwritable, disk full
        sys.exit(f"make_voc_data: error: cannot write the VOCdevkit to {args.out!r}: "
                 f"{err.strerror or err}")
    if not args.quiet:
        summary = ", ".join(f'{k}: {counts[k]} images '
                            f'({counts[k + "/objects"]} objects)'
                            for k in counts if not k.endswith("/objects"))
        print(f"[make_voc_data] wrote {args.out} in {time.time() - t0:.1f}s: "
              f"{summary}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
