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

import torch

from smix_lab.bench.loader import build_loader, interleaved_rates, print_costs, print_rates, worker_costs
from smix_lab.bench.photos import write_jpeg_folder
from smix_lab.bench.results import write_json


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
        print_costs(costs, args.batch, args.cost_repeats, log=lambda line: print(line, flush=True))
    print(f"{args.images} JPEGs in {args.data}, batch {args.batch}, {args.workers} worker(s), "
          f"{torch.get_num_threads()} main-process threads; {args.rounds} rounds x {args.passes} passes", flush=True)
    collates = interleaved_rates(lambda collate: build_loader(args.data, collate, args.batch, args.workers),
                                 args.rounds, args.passes, log=lambda line: print(line, flush=True))
    print_rates(collates)
    results = {"images": args.images, "batch": args.batch, "workers": args.workers,
               "main_threads": torch.get_num_threads(), "worker_costs_ms": costs, "collates": collates}
    write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
