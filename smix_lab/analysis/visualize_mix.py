#!/usr/bin/env python3
"""Pictures of SaliencyMix at work (paper Fig. 2, sec. 3.1-3.4), as PNG grids plus a text summary.

    python tools/analysis/visualize_mix.py --out output/viz                      # matplotlib's sample photographs
    python tools/analysis/visualize_mix.py --out output/viz --data-dir data/smix_cls --num 3
    python tools/analysis/visualize_mix.py --out output/viz --images a.jpg b.jpg c.jpg d.jpg --size 224

Writes to --out:
    mix_grid.png      per pair, one row per method (the five placement schemes of sec. 3.4,
                      CutMix with timm's random box, the official code's preset):
                      source | source saliency map, peak and source box | target, target box | result
    detectors.png     the detectors of sec. 3.3 (fine_grained, spectral_residual, frequency_tuned)
                      on the same images, peak marked
    mix_summary.txt   what each panel is, boxes (y0, y1, x0, x1), points (y, x) and lambdas
    mix_summary.json  the same, for scripts
Deterministic given --seed (image picks, lambdas, CutMix boxes).
"""
import argparse
import json
import os
import sys
import time

import numpy as np

from smix_lab.analysis import viz  # noqa: E402
from smix_lab.analysis.common import check_images, check_out, split_dir, writing_out

SCHEME_LABELS = {
    "salient_to_corresponding": "salient ->\ncorresponding\n(paper default)",
    "salient_to_salient": "salient ->\nsalient",
    "salient_to_nonsalient": "salient ->\nnon-salient",
    "nonsalient_to_salient": "non-salient ->\nsalient",
    "nonsalient_to_nonsalient": "non-salient ->\nnon-salient",
    "cutmix": "CutMix\n(random box)",
    "official": "official code\n(official=True)",
}
PANELS = ("source: the image the patch is cut from",
          "source saliency map (white = salient); + first maximum, x first minimum or official peak; "
          "yellow box = patch cut from the source",
          "target: the image the patch is pasted into; cyan box = where it goes; o = target point used "
          "by the scheme",
          "result: target with the pasted patch (box outlined); title = soft-label weights")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="output/viz", help="output folder (created)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--images", nargs="+", metavar="PATH", help="image files or folders (pairs in order)")
    src.add_argument("--data-dir", metavar="DIR", help="a folder in timm layout (e.g. the built-in data)")
    p.add_argument("--split", default="validation", help="split of --data-dir (default: validation)")
    p.add_argument("--num", type=int, default=2, help="number of source/target pairs (default 2)")
    p.add_argument("--size", type=int, default=None,
                   help="side of the square images (default: the images' own size when all are square "
                        "and equal, else 224)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--alpha", type=float, default=1.0, help="lambda ~ Beta(alpha, alpha) (default 1)")
    p.add_argument("--lam", type=float, default=None, help="a fixed lambda instead of drawing one")
    p.add_argument("--method", default="fine_grained", choices=viz.DETECTORS,
                   help="detector used by the schemes (default fine_grained, the paper's)")
    p.add_argument("--border", default="shift", choices=("shift", "clip"))
    p.add_argument("--no-official", action="store_true", help="leave out the official-code row")
    p.add_argument("--dpi", type=int, default=100, help="resolution (text is 9 pt)")
    args = p.parse_args(argv)
    if args.num < 1:
        p.error("--num must be >= 1")
    if args.size is not None and args.size < 8:
        p.error("--size must be >= 8")
    return args


def collect(args):
    """([(source name, target name, source, target)] per pair, image side): 2*num images when there are
    enough, else the images reused in a cycle.

    Raises:
        FileNotFoundError: no such image, data dir or split (:func:`smix_lab.analysis.common.split_dir`).
        ValueError: fewer than 2 images, or a file that is not a readable image.
    """
    if args.data_dir:
        folder = split_dir(args.data_dir, args.split)
        picks = viz.data_dir_images(args.data_dir, 2 * args.num, seed=args.seed, split=os.path.basename(folder))
        paths = check_images([p for p, _ in picks])
        names = [f"{os.path.basename(p)} ({c})" for p, c in picks]
    else:
        paths = (viz.image_files(args.images) if args.images else viz.default_photo_paths())[:2 * args.num]
        paths = check_images(paths)
        names = [os.path.basename(p) for p in paths]
    if len(paths) < 2:
        raise ValueError(f"need at least 2 images to make a pair, got {len(paths)}")
    size = args.size or viz.common_square_size(paths) or 224
    images = [viz.load_image(p, size) for p in paths]
    if len(paths) >= 2 * args.num:
        order = [(2 * j, 2 * j + 1) for j in range(args.num)]
    else:
        order = [(j % len(paths), (j + 1) % len(paths)) for j in range(args.num)]
    return [(names[s], names[t], images[s], images[t]) for s, t in order], size


# ------------------------------------------------------------------ drawing
CELL = 200


def _source_title(pair, panel):
    if panel.method == "official":
        return f"official peak (x) {panel.source_point}"
    if panel.source_point is None:
        return "random box, peak (+) ignored"
    if panel.source_point == pair.source_peak:
        return f"box around max (+) {panel.source_point}"
    return f"box around min (x) {panel.source_point}"


def draw_mix_grid(pairs, path, dpi):
    """Rows: per pair one row per method; columns: source, source map, target, result."""
    rows = [(pair, panel) for pair in pairs for panel in pair.panels]
    headers, r = {}, 0
    for k, pair in enumerate(pairs):
        headers[r] = (f"pair {k + 1}:  source {_short(pair.source_name, 48)}  ->  target "
                      f"{_short(pair.target_name, 48)}\nlambda = {pair.lam:.3f} (share of the target kept)")
        r += len(pair.panels)
    grid = viz.Mosaic(len(rows), 4, cell=CELL, label_width=150, headers=headers, dpi=dpi,
                      title="SaliencyMix at work: source | source saliency, peak, box | target | result")
    for r, (pair, panel) in enumerate(rows):
        grid.label(r, SCHEME_LABELS.get(panel.method, panel.method))
        grid.put(r, 0, pair.source)
        grid.title(r, 0, "source")
        grid.put(r, 1, pair.source_map)
        grid.mark(r, 1, pair.source_peak, "+", "red", 15)
        if panel.source_point is not None and panel.source_point != pair.source_peak:
            grid.mark(r, 1, panel.source_point, "x", "magenta" if panel.method == "official" else "deepskyblue")
        grid.box(r, 1, panel.source_box, "yellow")
        grid.title(r, 1, _source_title(pair, panel))
        grid.put(r, 2, pair.target)
        grid.box(r, 2, panel.target_box, "cyan", "--")
        grid.mark(r, 2, panel.target_point, "o", "cyan")
        grid.title(r, 2, "target, same place" if panel.target_point is None
                   else f"target, moved to (o) {panel.target_point}")
        grid.put(r, 3, panel.mixed)
        grid.box(r, 3, panel.target_box, "yellow")
        grid.title(r, 3, f"label {panel.label_weight:.2f} tgt + {1 - panel.label_weight:.2f} src")
    grid.save(path)


def draw_detectors(names, images, maps, path, dpi):
    grid = viz.Mosaic(len(images), 1 + len(maps), cell=CELL, title_lines=2, dpi=dpi,
                      title="Saliency detectors of paper sec. 3.3 (white = salient, + = first maximum)")
    for r, image in enumerate(images):
        grid.put(r, 0, image)
        grid.title(r, 0, _short(names[r]))
        for c, (method, (m, peaks)) in enumerate(maps.items(), start=1):
            peak = tuple(int(v) for v in peaks[r])
            grid.put(r, c, m[r])
            grid.mark(r, c, peak, "+", "red", 15)
            grid.title(r, c, f"{method}\npeak (y, x) = {peak}")
    grid.save(path)


def _short(name, limit=30):
    return name if len(name) <= limit else name[:limit - 3] + "..."


# ------------------------------------------------------------------ summary
def summary_records(pairs):
    out = []
    for k, pair in enumerate(pairs):
        rec = dict(pair=k, source=pair.source_name, target=pair.target_name, lam=pair.lam,
                   source_peak=list(pair.source_peak), source_least=list(pair.source_least),
                   target_peak=list(pair.target_peak), target_least=list(pair.target_least),
                   official_peak=list(pair.official_peak) if pair.official_peak else None,
                   skipped=pair.skipped, methods=[])
        for p in pair.panels:
            rec["methods"].append(dict(
                method=p.method, lam=p.lam, label_weight_target=p.label_weight, source_box=list(p.source_box),
                target_box=list(p.target_box), source_point=list(p.source_point) if p.source_point else None,
                target_point=list(p.target_point) if p.target_point else None,
                box_contains_source_peak=viz.box_contains(p.source_box, pair.source_peak), note=p.note))
        out.append(rec)
    return out


def summary_text(records, args, size, det_names, det_maps):
    lines = ["SaliencyMix pictures (tools/analysis/visualize_mix.py)",
             f"images {size}x{size}, seed {args.seed}, detector {args.method}, border {args.border}, "
             + (f"fixed lambda {args.lam}" if args.lam is not None else f"lambda ~ Beta({args.alpha}, {args.alpha})"),
             "Boxes are (y0, y1, x0, x1), half-open; points are (y, x). lambda is the share of the target kept "
             "(paper eq. 4); the label weight comes from the pasted box (timm correct_lam).",
             "", "mix_grid.png: per pair one row per method; columns:"]
    lines += [f"  {i + 1}. {text}" for i, text in enumerate(PANELS)]
    for rec in records:
        lines += ["", f"pair {rec['pair'] + 1}: source {rec['source']}, target {rec['target']}, "
                      f"lambda {rec['lam']:.4f}",
                  f"  source map: max {tuple(rec['source_peak'])}, min {tuple(rec['source_least'])}; "
                  f"target map: max {tuple(rec['target_peak'])}, min {tuple(rec['target_least'])}"]
        for m in rec["methods"]:
            lines.append(f"  {m['method']:<25} source box {tuple(m['source_box'])} -> target box "
                         f"{tuple(m['target_box'])}, label weight target {m['label_weight_target']:.4f}, "
                         f"source peak in box: {'yes' if m['box_contains_source_peak'] else 'no'}")
            if m["note"]:
                lines.append(f"  {'':<25} ({m['note']})")
        for method, why in rec["skipped"].items():
            lines.append(f"  {method:<25} not shown: {why}")
    lines += ["", "detectors.png: each image and the maps of " + ", ".join(det_maps) + " (first maximum marked):"]
    for r, name in enumerate(det_names):
        peaks = ", ".join(f"{m} {tuple(int(v) for v in p[r])}" for m, (_, p) in det_maps.items())
        lines.append(f"  {name}: {peaks}")
    return "\n".join(lines) + "\n"


def main(argv=None):
    args = parse_args(argv)
    try:
        check_out(args.out)
        items, size = collect(args)
        params = viz.draw_params(len(items), (size, size), alpha=args.alpha, seed=args.seed, lam=args.lam)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    pairs = []
    for j, ((s_name, t_name, source, target), prm) in enumerate(zip(items, params)):
        start = time.time()
        pairs.append(viz.mix_pair(source, target, prm, method=args.method, border=args.border,
                                  cutmix_seed=args.seed * 1000 + j, official=not args.no_official,
                                  names=(s_name, t_name)))
        print(f"visualize_mix: pair {j + 1}/{len(items)} mixed ({len(pairs[-1].panels)} methods, "
              f"{time.time() - start:.1f} s)", file=sys.stderr, flush=True)
    for pair in pairs:
        for method, why in pair.skipped.items():
            print(f"visualize_mix: warning: {method} row left out: {why}", file=sys.stderr)
    det_names, det_images, seen = [], [], set()
    for pair in pairs:
        for name, image in ((pair.source_name, pair.source), (pair.target_name, pair.target)):
            if name not in seen:
                seen.add(name)
                det_names.append(name)
                det_images.append(image)
    det_maps = viz.detector_maps(np.stack(det_images))
    try:
        with writing_out(args.out):
            write_outputs(args, pairs, size, det_names, det_images, det_maps)
    except ValueError as err:  # OutputFolderError: --out not writable
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"visualize_mix: wrote mix_grid.png, detectors.png, mix_summary.txt, mix_summary.json to {args.out}")
    return 0


def write_outputs(args, pairs, size, det_names, det_images, det_maps) -> None:
    """mix_grid.png, detectors.png, mix_summary.json and mix_summary.txt into ``args.out`` (an existing folder)."""
    draw_mix_grid(pairs, os.path.join(args.out, "mix_grid.png"), args.dpi)
    draw_detectors(det_names, det_images, det_maps, os.path.join(args.out, "detectors.png"), args.dpi)
    records = summary_records(pairs)
    with open(os.path.join(args.out, "mix_summary.json"), "w") as f:
        json.dump(dict(size=size, seed=args.seed, method=args.method, border=args.border, pairs=records,
                       detectors={n: {m: [int(v) for v in p[r]] for m, (_, p) in det_maps.items()}
                                  for r, n in enumerate(det_names)}), f, indent=1)
    text = summary_text(records, args, size, det_names, det_maps)
    with open(os.path.join(args.out, "mix_summary.txt"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main())
