#!/usr/bin/env python
"""Accuracy and cost evidence: baseline vs CutMix vs official-code SaliencyMix vs SaliencyMix.

    python tools/benchmarks/benchmark_accuracy.py --data-dir data/accuracy --seeds 0 1 2 --epochs 8

How the runs are made and read: smix_lab/study/accuracy.py.
"""
import argparse
import json
import os

from smix_lab.study.accuracy import VARIANTS, run, to_markdown

BASELINE_RECIPE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                               "configs", "timm", "tiny_cpu_baseline.yaml")  # this checkout's


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=BASELINE_RECIPE)
    parser.add_argument("--data-dir", default="data/accuracy")
    parser.add_argument("--output", default="output/accuracy")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--num-classes", type=int, default=10)
    parser.add_argument("--train-per-class", type=int, default=200)
    parser.add_argument("--val-per-class", type=int, default=50)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS),
                        help="which variants to train (default: all four)")
    parser.add_argument("--json", default=None, help="write raw results here")
    parser.add_argument("extra", nargs=argparse.REMAINDER, help="after --: more tools/train.py flags")
    args = parser.parse_args(argv)
    args.extra = [a for a in args.extra if a != "--"]
    results = run(args)
    table = to_markdown(results)
    print(table)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
