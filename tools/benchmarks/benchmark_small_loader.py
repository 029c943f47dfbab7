#!/usr/bin/env python
"""Benchmark: images/s of timm's training loader on small in-memory images, FastCollateSaliencyMix vs CutMix.

CIFAR's setting: images held in memory as uint8 arrays (CIFAR-size crops of real photographs),
timm's create_loader with the CIFAR recipe (pad 4 + random crop, flip; tools/train.py --train-pad),
the prefetcher's uint8 collate, --workers workers, no model. For each size the collates run in
interleaved rounds and the ratio to timm's FastCollateMixup (CutMix) is taken within a round; a
one-thread cost breakdown of one worker's batch comes first:

    python tools/benchmarks/benchmark_small_loader.py --sizes 32:256 64:128 --workers 1 --rounds 5
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from smix_lab.bench.loader import (
    build_small_image_loader,
    interleaved_rates,
    print_costs,
    print_rates,
    small_image_costs,
)
from smix_lab.bench.photos import small_photo_set
from smix_lab.bench.results import write_json


def size_and_batch(text: str):
    size, _, batch = text.partition(":")
    if not (size.isdigit() and batch.isdigit() and int(size) > 0 and int(batch) > 0):
        raise argparse.ArgumentTypeError(f"expected SIZE:BATCH such as 32:256, got {text!r}")
    return int(size), int(batch)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=size_and_batch, nargs="+", default=[(32, 256), (64, 128)],
                        help="image size and batch size pairs, SIZE:BATCH")
    parser.add_argument("--batches", type=int, default=12, help="batches per pass (images = batches x batch)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (each collate once per round)")
    parser.add_argument("--passes", type=int, default=2, help="passes over the images per measurement")
    parser.add_argument("--cost-repeats", type=int, default=15, help="repeats of the cost breakdown (0: skip it)")
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    log = lambda line: print(line, flush=True)  # noqa: E731
    results = {"workers": args.workers, "main_threads": torch.get_num_threads(), "sizes": {}}
    for size, batch in args.sizes:
        count = args.batches * batch
        images = small_photo_set(count, size)
        labels = np.arange(count) % args.classes
        make = lambda collate: build_small_image_loader(images, labels, collate, batch, args.workers)  # noqa: E731
        log(f"\n== {count} images of {size}x{size} in memory, batch {batch}, {args.workers} worker(s), "
            f"{torch.get_num_threads()} main-process threads; {args.rounds} rounds x {args.passes} passes")
        costs = None
        if args.cost_repeats > 0:
            costs = small_image_costs(make(None), batch, args.cost_repeats)
            print_costs(costs, batch, args.cost_repeats, log)
        rates = interleaved_rates(make, args.rounds, args.passes, args.classes, log)
        print_rates(rates, log)
        results["sizes"][f"{size}:{batch}"] = {"size": size, "batch": batch, "images": count,
                                               "worker_costs_ms": costs, "collates": rates}
    write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
