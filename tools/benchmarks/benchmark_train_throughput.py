#!/usr/bin/env python
"""Benchmark: tools/train.py images/s with --saliencymix against --cutmix, both loader paths, interleaved.

    python tools/benchmarks/benchmark_train_throughput.py --rounds 2 --epochs 2 -- -b 256 --workers 8 --amp

The data is the built-in classification set (made once under --data-dir). How runs are made and
read: smix_lab/bench/throughput.py.
"""
import argparse
import os

from smix_lab.bench.results import write_json
from smix_lab.bench.throughput import to_markdown, train_throughput
from smix_lab.data.classification import make_cls_data

BASELINE_RECIPE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                               "configs", "timm", "tiny_cpu_baseline.yaml")  # this checkout's


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=BASELINE_RECIPE)
    parser.add_argument("--data-dir", default="data/throughput")
    parser.add_argument("--output", default="output/throughput")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train-per-class", type=int, default=100)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    parser.add_argument("extra", nargs=argparse.REMAINDER, help="after --: more tools/train.py flags")
    args = parser.parse_args(argv)
    extra = args.extra[1:] if args.extra[:1] == ["--"] else args.extra
    log = lambda line: print(line, flush=True)  # noqa: E731
    make_cls_data(args.data_dir, seed=0, num_classes=10, train_per_class=args.train_per_class, val_per_class=10,
                  size=args.size, reuse=True, log=log)
    results = train_throughput(args.config, args.data_dir, os.path.abspath(args.output), args.rounds, args.epochs,
                               extra, log)
    print(to_markdown(results), flush=True)
    write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
