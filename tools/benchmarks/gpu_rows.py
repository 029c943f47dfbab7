#!/usr/bin/env python
"""The accelerator rows of the speed benchmarks at several image sizes, one JSON.

Per size: each detector on a (batch, 3, S, S) batch, one per-sample SaliencyMix call against timm's
CutMix (batch and per-sample), its torch-op count, and one ResNet-50 bf16 channels-last training
step (smix_lab/bench/speed.py, device_rows). Without CUDA it says so and runs the same rows on the
CPU with a small batch (a check that the script works, not figures to record):

    python tools/benchmarks/gpu_rows.py --sizes 224 32 --batch 256 --json out/gpu_rows.json
"""
import argparse

import torch

from smix_lab.bench.results import write_json
from smix_lab.bench.speed import device_rows


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[224, 32])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cpu-batch", type=int, default=4, help="batch of the CPU stand-in rows without CUDA")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    if torch.cuda.is_available():
        device, batch, model = torch.device("cuda"), args.batch, "resnet50"
    else:
        print("no CUDA device: running the rows on the CPU with a small batch and resnet18 (not figures to record)",
              flush=True)
        device, batch, model = torch.device("cpu"), args.cpu_batch, "resnet18"
    results = {"device": str(device), "torch": torch.__version__, "rows": {}}
    for size in args.sizes:
        results["rows"][str(size)] = device_rows(device, batch, size, args.repeat, model)
    write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
