"""The patch-fidelity command: read a user's annotated set, measure (patch_fidelity.py), write the report.

Writes to ``--out``: ``fidelity.md`` (the table and the settings), ``fidelity.json`` (the figures),
``fidelity.png`` (per method: the distribution of the patches' object share, and the three shares
with their 95 % intervals) and ``examples.png`` (sampled images with each method's patch box, the
object tinted, and the mixed image the library makes from them).

Command line: ``python tools/analysis/patch_fidelity.py --data PATH --size 224 --out results/fidelity``.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from typing import Dict, List, Optional

import numpy as np

from smix_lab.analysis.annotated import AnnotationError, check_has_objects, read_annotated
from smix_lab.analysis.common import check_out, writing_out
from smix_lab.analysis.patch_fidelity import (
    CROPS,
    DETECTORS,
    FidelitySettings,
    Prepared,
    measure,
    prepare,
    summarise,
    to_markdown,
)
from smix_timm.apply import apply_mix

EXAMPLES = 6  # images in examples.png


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="patch_fidelity.py",
        description="How often does a SaliencyMix patch carry the object, compared with CutMix, on your own "
                    "annotated images? Measured before any training; see smix_lab/analysis/patch_fidelity.py.")
    p.add_argument("--data", required=True, help="a VOC folder (Annotations/ + JPEGImages/, or a VOCdevkit), a COCO "
                   "instances .json (with --images), or a built-in set made by tools/data/make_cls_data.py")
    p.add_argument("--images", help="the image folder of a COCO .json")
    p.add_argument("--split", help="a VOC ImageSets/Main split (e.g. trainval; default: every annotation) or a "
                   "built-in set's split (default train)")
    p.add_argument("--year", help="with a VOCdevkit holding several years: which (2007, 2012)")
    p.add_argument("--size", type=int, default=224, help="the training resolution in pixels (default 224)")
    p.add_argument("--crop", choices=CROPS, default="train", help="train: timm's RandomResizedCrop as in training "
                   "(default); eval: timm's resize and centre crop; none: a plain resize to --size")
    p.add_argument("--alpha", type=float, default=1.0, help="lambda ~ Beta(alpha, alpha), as --saliencymix/--cutmix")
    p.add_argument("--detectors", nargs="+", default=list(DETECTORS), choices=DETECTORS)
    p.add_argument("--scheme", default="salient_to_corresponding", help="SaliencyMix's placement scheme")
    p.add_argument("--border", default="shift", help="SaliencyMix's border handling (shift or clip)")
    p.add_argument("--per", default="sample", help="one saliency map per sample (default) or per batch")
    p.add_argument("--samples", type=int, default=500, help="images drawn from the set (default 500)")
    p.add_argument("--batch", type=int, default=64, help="images mixed together (default 64)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-empty", action="store_true", help="leave out images annotated with no object "
                   "(default: stop and name the first)")
    p.add_argument("--out", default="results/patch_fidelity", help="report folder (default %(default)s)")
    return p.parse_args(argv)


def settings_from(args: argparse.Namespace) -> FidelitySettings:
    return FidelitySettings(size=args.size, crop=args.crop, alpha=args.alpha, detectors=tuple(args.detectors),
                            scheme=args.scheme, border=args.border, per=args.per, samples=args.samples,
                            batch=args.batch, seed=args.seed).check()


def run(args: argparse.Namespace, log=print) -> Dict:
    """Read, measure and write the report; returns the summary (method -> figures).

    Raises:
        AnnotationError, ValueError: bad data or settings (one line each); OutputFolderError.
    """
    settings = settings_from(args)
    check_out(args.out)
    start = time.time()
    layout, items = read_annotated(args.data, images=args.images, split=args.split, year=args.year)
    items = check_has_objects(items, args.skip_empty)
    log(f"[patch_fidelity] {layout} set {args.data}: {len(items)} annotated images; measuring "
        f"{min(settings.samples, len(items))} at {settings.size} px ({settings.crop} crop)")
    data = prepare(items, settings, log)
    records, examples = measure(data, settings, log, keep_examples=EXAMPLES)
    summary = summarise(records)
    with writing_out(args.out):
        header = (f"Patch fidelity of `{args.data}` ({layout}, {len(data.images)} images, {settings.size} px, "
                  f"{settings.crop} crop, Beta({settings.alpha:g}, {settings.alpha:g}), scheme {settings.scheme}, "
                  f"border {settings.border}, per {settings.per}, seed {settings.seed}); object pixels: "
                  f"{'exact masks' if layout == 'built-in' else 'the union of the annotated boxes'}.")
        with open(os.path.join(args.out, "fidelity.md"), "w") as f:
            f.write(header + "\n\n" + to_markdown(summary) + "\n")
        with open(os.path.join(args.out, "fidelity.json"), "w") as f:
            json.dump({"data": args.data, "layout": layout, "images": len(data.images),
                       "settings": dataclasses.asdict(settings), "methods": summary}, f, indent=1)
        plot_distributions(records, summary, os.path.join(args.out, "fidelity.png"))
        plot_examples(data, examples, os.path.join(args.out, "examples.png"))
    log(f"[patch_fidelity] done in {time.time() - start:.1f}s; wrote fidelity.md, fidelity.json, fidelity.png, "
        f"examples.png to {args.out}")
    return summary


def plot_distributions(records, summary: Dict, path: str) -> None:
    """Left: the distribution of each method's per-patch object share; right: the three shares with
    their 95 % intervals."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2))
    bins = np.linspace(0, 1, 21)
    for method, r in records.items():
        left.hist(r.object_share[r.has_patch], bins=bins, histtype="step", linewidth=1.6, label=method,
                  weights=np.full(int(r.has_patch.sum()), 100.0 / max(int(r.has_patch.sum()), 1)))
    left.set_xlabel("share of the patch's pixels on an annotated object")
    left.set_ylabel("% of patches")
    left.legend(fontsize=8)
    keys = (("object_share", "mean", "pixels on objects"), ("any_object", "p", "patches holding an object"),
            ("honest", "p", "honest label weight"))
    width = 0.8 / len(summary)
    for m, (method, row) in enumerate(summary.items()):
        xs = np.arange(len(keys)) + (m - (len(summary) - 1) / 2) * width
        values = [100 * row[k][v] for k, v, _ in keys]
        errors = [[100 * (row[k][v] - row[k]["low"]) for k, v, _ in keys],
                  [100 * (row[k]["high"] - row[k][v]) for k, v, _ in keys]]
        right.bar(xs, values, width, yerr=errors, capsize=3, label=method)
    right.set_xticks(np.arange(len(keys)), [label for _, _, label in keys])
    right.set_ylabel("% (95 % interval)")
    right.set_ylim(0, 100)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _tinted(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """HWC uint8 with the object pixels tinted green (so the reader sees what counts as object)."""
    out = image.astype(np.float32)
    out[mask] = 0.6 * out[mask] + 0.4 * np.array([0, 255, 0], np.float32)
    return out.astype(np.uint8)


def plot_examples(data: Prepared, examples: Dict, path: str, count: Optional[int] = None) -> None:
    """A grid: one row per sampled image of the first batch; per method, the source image (object
    tinted, patch box in red) and the mixed image the library produces with that method's boxes."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle
    first = next(iter(examples.values()))[0]
    batch = len(first)
    rows = min(count or EXAMPLES, batch)
    methods: List[str] = list(examples)
    fig, axes = plt.subplots(rows, 2 * len(methods), figsize=(2.0 * 2 * len(methods), 2.1 * rows), squeeze=False)
    x = data.images[:batch]
    for m, method in enumerate(methods):
        params, pairs = examples[method]
        mixed = x.clone()
        apply_mix(mixed, params, pairs, correct_lam=True)
        for i in range(rows):
            partner = batch - 1 - i
            source = _tinted(x[partner].permute(1, 2, 0).numpy(), data.masks[partner])
            ax_source, ax_mixed = axes[i, 2 * m], axes[i, 2 * m + 1]
            ax_source.imshow(source)
            if pairs.has_patch[i]:
                y0, y1, x0, x1 = (int(v) for v in pairs.source[i])
                ax_source.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor="red",
                                              linewidth=1.5))
            ax_mixed.imshow(mixed[i].permute(1, 2, 0).numpy())
            if i == 0:
                ax_source.set_title(f"{method}\nsource + patch", fontsize=7)
                ax_mixed.set_title("mixed", fontsize=7)
            for ax in (ax_source, ax_mixed):
                ax.set_xticks([])
                ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        summary = run(args, log=lambda msg: print(msg, file=sys.stderr, flush=True))
    except (AnnotationError, ValueError, FileNotFoundError) as err:
        print(f"patch_fidelity.py: error: {err}", file=sys.stderr)
        return 2
    print(to_markdown(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
