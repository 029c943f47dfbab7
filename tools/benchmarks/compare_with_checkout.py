#!/usr/bin/env python
"""Before/after: the same timings for this checkout and another one (e.g. main before a change), alternating.

    git worktree add /tmp/before 101deb7 && (cd /tmp/before && python setup.py -q build_ext --inplace)
    python tools/benchmarks/compare_with_checkout.py /tmp/before --rounds 2

Each round runs one process per checkout (``PYTHONPATH`` pointing at it, one thread) that times, at
256x3x32x32 and 128x3x64x64 photo crops: the fine_grained kernel (uint8 / float peaks), one
``SaliencyMix`` call, timm's CutMix and per-sample CutMix, and both collates on contiguous and on
interleaved samples (best of --repeat). The tables print both checkouts' figures side by side.
The measuring code sits in this script, not in the package, because the other checkout's package
may not have it: each child imports only the public API both checkouts share.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

SIZES = ((256, 32), (128, 64))


def measure(repeat: int) -> dict:
    """The timings of the smix importable here (run in a child process per checkout), in ms."""
    import numpy as np
    import torch
    from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, FastCollateMixup, Mixup

    from smix_lab.bench.photos import photo_crops
    from smix_lab.bench.speed import timed
    from smix_timm import FastCollateSaliencyMix, SaliencyMix
    from smix_timm.saliency import native

    torch.set_num_threads(1)
    mean = torch.tensor(IMAGENET_DEFAULT_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_DEFAULT_STD).view(1, 3, 1, 1)
    scale, offset = [255 * v for v in IMAGENET_DEFAULT_STD], [255 * v for v in IMAGENET_DEFAULT_MEAN]
    out = {}
    for batch, size in SIZES:
        u8 = photo_crops(batch, size)
        x = (u8.float() / 255 - mean) / std
        target = torch.arange(batch) % 1000
        mix = SaliencyMix(mixup_alpha=0.0, saliencymix_alpha=1.0, num_classes=1000, mean=IMAGENET_DEFAULT_MEAN,
                          std=IMAGENET_DEFAULT_STD)
        cutmix = Mixup(mixup_alpha=0.0, cutmix_alpha=1.0, num_classes=1000)
        elem = Mixup(mixup_alpha=0.0, cutmix_alpha=1.0, num_classes=1000, mode="elem")
        contiguous = [(img.numpy().copy(), k) for k, img in enumerate(u8)]
        interleaved = [(np.moveaxis(np.ascontiguousarray(img.permute(1, 2, 0).numpy()), 2, 0), k)
                       for k, img in enumerate(u8)]
        ours = FastCollateSaliencyMix(mixup_alpha=0.0, saliencymix_alpha=1.0, num_classes=1000)
        timms = FastCollateMixup(mixup_alpha=0.0, cutmix_alpha=1.0, num_classes=1000)
        rows = {
            "kernel uint8": timed(lambda: native.fine_grained_u8_native(u8, "rgb", 1, maps=None, peaks=True), repeat),
            "kernel float": timed(lambda: native.fine_grained_f32_native(x, scale, offset, 1.0, "rgb", 1, maps=None,
                                                                         peaks=True), repeat),
            "SaliencyMix call": timed(lambda xi: mix(xi, target), repeat, setup=x.clone),
            "timm CutMix call": timed(lambda xi: cutmix(xi, target), repeat, setup=x.clone),
            "timm per-sample CutMix": timed(lambda xi: elem(xi, target), max(3, repeat // 4), setup=x.clone),
            "collate ours, contiguous": timed(lambda: ours(contiguous), repeat),
            "collate timm, contiguous": timed(lambda: timms(contiguous), repeat),
            "collate ours, interleaved": timed(lambda: ours(interleaved), repeat),
            "collate timm, interleaved": timed(lambda: timms(interleaved), repeat),
        }
        out[f"{batch}x{size}"] = {name: 1e3 * t for name, t in rows.items()}
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("other", help="the other checkout (its C extension built in place)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.repeat)))
        return {}
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    trees = {"other": os.path.abspath(args.other), "this": here}
    results = {name: [] for name in trees}
    for r in range(args.rounds):
        for name, tree in trees.items():
            env = dict(os.environ, PYTHONPATH=tree, PYTHONWARNINGS="ignore")
            done = subprocess.run([sys.executable, os.path.abspath(__file__), tree, "--child", "--repeat",
                                   str(args.repeat)], capture_output=True, text=True, env=env, cwd=tree)
            if done.returncode != 0:
                raise SystemExit(f"the measurement failed in {tree}:\n{done.stderr[-2000:]}")
            results[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"round {r + 1}/{args.rounds} done", flush=True)
    for size in results["this"][0]:
        print(f"\n{size}: ms, best of {args.repeat} (each round: other -> this)")
        for row in results["this"][0][size]:
            cells = "   ".join(f"{o[size][row]:7.2f} -> {t[size][row]:7.2f}"
                               for o, t in zip(results["other"], results["this"]))
            print(f"  {row:28s} {cells}")
    return results


if __name__ == "__main__":
    main()
