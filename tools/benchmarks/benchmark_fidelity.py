#!/usr/bin/env python
"""Patch fidelity: do pasted patches carry the source object? (paper sec. 3.1's premise, measured)

    python tools/benchmarks/benchmark_fidelity.py --data-dir data/fidelity --seed 0 --samples 2048

What is counted and how: smix_lab/bench/fidelity.py.
"""
import argparse

from smix_lab.bench.fidelity import run, to_markdown


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="data/fidelity", help="built-in data folder (made if missing)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--out", default=None, help="also write the markdown table here")
    args = parser.parse_args(argv)
    results = run(args.data_dir, args.seed, args.samples, args.batch, args.size)
    table = to_markdown(results)
    print(table)
    if args.out:
        with open(args.out, "w") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
