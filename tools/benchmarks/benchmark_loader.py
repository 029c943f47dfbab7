#!/usr/bin/env python
"""Benchmark: images/s of timm's real training loader with FastCollateSaliencyMix vs timm's CutMix.

JPEGs of real photographs (written once to --data), timm's create_loader (decode,
RandomResizedCrop 224, flip, prefetcher collate, normalisation), --workers
workers, no model. Runs are interleaved; each round measures every collate once
and the ratio to CutMix is taken within a round:

    python tools/benchmarks/benchmark_loader.py --images 768 --workers 1 --rounds 5
"""
from __future__ import annotations

import argparse
import json
import os
import statistics

import torch

from smix_timm.bench.loader import build_loader, images_per_second, standard_collates, worker_costs
from smix_timm.bench.photos import write_jpeg_folder

ANCHOR = "timm FastCollateMixup (CutMix)"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="data/bench_photos", help="folder for the generated JPEGs (reused)")
    parser.add_argument("--images", type=int, default=768)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (each collate once per round)")
    parser.add_argument("--passes", type=int, default=2, help="passes over the images per measurement")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    parser.add_argument("--main-threads", type=int, default=None,
                        help="torch threads of the main process, which normalises the batches "
                             "(default: torch's own choice)")
    parser.add_argument("--cost-repeats", type=int, default=15,
                        help="repeats of the one-thread cost breakdown per batch (0: skip it)")
    args = parser.parse_args(argv)
    if args.main_threads is not None:
        torch.set_num_threads(args.main_threads)
    write_jpeg_folder(args.data, args.images)
    costs = None
    if args.cost_repeats > 0:
        costs = worker_costs(args.data, args.batch, args.cost_repeats)
        print(f"One worker's costs per batch of {args.batch}, one thread, best of {args.cost_repeats}:")
        for name, value in costs.items():
            if name != "expected_ratio":
                print(f"  {name:40s} {value:8.2f} ms")
        print(f"  expected images/s ratio of a worker-bound loader, SaliencyMix to CutMix: "
              f"{costs['expected_ratio']:.3f}x", flush=True)
    print(f"{args.images} JPEGs in {args.data}, batch {args.batch}, {args.workers} worker(s), "
          f"{torch.get_num_threads()} main-process threads; {args.rounds} rounds x {args.passes} passes", flush=True)
    collates = standard_collates()
    rates = {name: [] for name in collates}
    for r in range(args.rounds):
        for name, make in collates.items():
            loader = build_loader(args.data, make(8), args.batch, args.workers)
            rates[name].append(images_per_second(loader, args.passes))
            del loader
        line = ", ".join(f"{name.split(' (')[0]} {rate[-1]:.1f}" for name, rate in rates.items())
        print(f"  round {r + 1}/{args.rounds}: images/s {line}", flush=True)
    results = {"images": args.images, "batch": args.batch, "workers": args.workers,
               "main_threads": torch.get_num_threads(), "worker_costs_ms": costs, "collates": {}}
    print(f"\n{'collate':34s} {'median img/s':>12s} {'vs CutMix (median of per-round ratios)':>40s}")
    for name, values in rates.items():
        ratios = [v / a for v, a in zip(values, rates[ANCHOR])]
        results["collates"][name] = {"images_per_s": values, "median": statistics.median(values),
                                     "ratio_to_cutmix": ratios, "median_ratio": statistics.median(ratios)}
        print(f"{name:34s} {statistics.median(values):12.1f} {statistics.median(ratios):39.3f}x "
              f"(per round {min(ratios):.3f}-{max(ratios):.3f})")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
