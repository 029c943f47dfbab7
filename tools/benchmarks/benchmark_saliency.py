#!/usr/bin/env python
"""Benchmark: saliency detectors vs the OpenCV per-image loop, SaliencyMix vs timm's CutMix.

One batch, one run, ratios against the anchors measured in the same run:

    python tools/benchmarks/benchmark_saliency.py --batch 64 --size 224 --threads 2

Prints images/s of each torch detector and of OpenCV's loop (exactness of
fine_grained checked on the same batch), and the time of one mixing call
(SaliencyMix vs timm.data.Mixup with CutMix; FastCollateSaliencyMix vs
FastCollateMixup) on the same batch. CUDA rows are added when a GPU is present.
"""
from __future__ import annotations

import argparse
import json
import platform

import torch
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, FastCollateMixup, Mixup

from smix_timm import FastCollateSaliencyMix, SaliencyMix, saliency_map
from smix_timm.bench.photos import photo_crops
from smix_timm.bench.speed import device_rows, timed
from smix_timm.saliency import fine_grained_torch, native


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch CPU threads")
    parser.add_argument("--repeat", type=int, default=3, help="timed repeats (best is kept)")
    parser.add_argument("--cuda-batch", type=int, default=256, help="batch of the CUDA rows (when CUDA is present)")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    u8 = photo_crops(args.batch, args.size)
    mean = torch.tensor(IMAGENET_DEFAULT_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_DEFAULT_STD).view(1, 3, 1, 1)
    x = (u8.float() / 255 - mean) / std
    n = args.batch
    cpu = platform.processor() or platform.machine()
    print(f"batch {n}x3x{args.size}x{args.size}, {args.threads} torch threads, {cpu}"
          f", torch {torch.__version__}", flush=True)
    results = {"batch": n, "size": args.size, "threads": args.threads, "detectors": {}, "mixing": {}}

    print("\n== saliency detectors (images/s; ratio = vs OpenCV per-image loop, same run)")
    for method in ("fine_grained", "spectral_residual", "frequency_tuned"):
        t_cv = timed(lambda: saliency_map(u8, method, backend="opencv"), args.repeat)
        variants = {"torch": lambda: saliency_map(u8, method)}
        if method == "fine_grained":
            variants = {"torch (fused C kernel)": lambda: fine_grained_torch.fine_grained(u8, impl="native"),
                        "fused C kernel, 1 thread": lambda: native.fine_grained_u8_native(u8, "rgb", 1, maps="unit"),
                        "torch (eager ops)": lambda: fine_grained_torch.fine_grained(u8, impl="eager")}
            exact = torch.equal(saliency_map(u8), saliency_map(u8, backend="opencv"))
            print(f"  fine_grained torch == OpenCV on this batch: {exact}; kernel built for {native.dispatch()}")
        print(f"  {method:18s} opencv loop             {n / t_cv:9.1f} img/s")
        for name, fn in variants.items():
            t = timed(fn, args.repeat)
            print(f"  {method:18s} {name:23s} {n / t:9.1f} img/s   {t_cv / t:6.1f}x")
            results["detectors"][f"{method} {name}"] = {"img_s": n / t, "opencv_img_s": n / t_cv, "ratio": t_cv / t}

    print("\n== one mixing call on the same batch (ms; ratio = time / timm CutMix time)")
    cutmix = Mixup(mixup_alpha=0.0, cutmix_alpha=1.0, num_classes=1000)
    target = torch.arange(n) % 1000
    t_cut = timed(lambda xi: cutmix(xi, target), args.repeat, setup=x.clone)
    rows = {"timm Mixup (CutMix)": t_cut}
    for name, kw in {"SaliencyMix per-sample": {}, "SaliencyMix per-batch": {"per": "batch"},
                     "SaliencyMix official preset": {"official": True}}.items():
        mix = SaliencyMix(mixup_alpha=0.0, saliencymix_alpha=1.0, num_classes=1000, mean=IMAGENET_DEFAULT_MEAN,
                          std=IMAGENET_DEFAULT_STD, **kw)
        rows[name] = timed(lambda xi: mix(xi, target), args.repeat, setup=x.clone)
    for name, t in rows.items():
        print(f"  {name:28s} {1e3 * t:8.1f} ms   {t / t_cut:6.2f}x")
        results["mixing"][name] = {"ms": 1e3 * t, "vs_cutmix": t / t_cut}

    samples = [(img.numpy(), int(k) % 1000) for k, img in enumerate(u8)]
    t_fc = timed(lambda: FastCollateMixup(mixup_alpha=0.0, cutmix_alpha=1.0, num_classes=1000)(samples), args.repeat)
    fcs = FastCollateSaliencyMix(mixup_alpha=0.0, saliencymix_alpha=1.0, num_classes=1000)
    t_fs = timed(lambda: fcs(samples), args.repeat)
    print(f"  {'FastCollateMixup (CutMix)':28s} {1e3 * t_fc:8.1f} ms")
    print(f"  {'FastCollateSaliencyMix':28s} {1e3 * t_fs:8.1f} ms   {t_fs / t_fc:6.2f}x")
    results["mixing"]["collate"] = {"cutmix_ms": 1e3 * t_fc, "saliencymix_ms": 1e3 * t_fs, "ratio": t_fs / t_fc}
    print("  (batch path: each call mixes a fresh copy of the batch in place, copied outside the timer; "
          "SaliencyMix's extra cost is one saliency pass over the batch)")

    if torch.cuda.is_available():
        results["cuda"] = device_rows(torch.device("cuda"), args.cuda_batch, args.size, args.repeat)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
