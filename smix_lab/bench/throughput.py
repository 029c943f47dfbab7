"""Training throughput of our trainer: ``--saliencymix`` against ``--cutmix``, on both loader paths.

The same recipe (a timm YAML of ``configs/timm/``) trains once per variant, loader path and round,
interleaved (round r runs every variant on every path before round r + 1), and the images/s of
each run is the median of the trainer's own end-of-epoch lines (``accuracy.train_once``). The
ratio to CutMix is taken within a round and path. Used by the GPU check
(``tools/benchmarks/gpu_check.sh``) and ``tools/benchmarks/benchmark_train_throughput.py``.
"""
from __future__ import annotations

import argparse
import statistics
from typing import Dict, List

from smix_lab.study.accuracy import VARIANTS, train_once

LOADER_PATHS = {"prefetcher": [], "no-prefetcher": ["--no-prefetcher"]}
COMPARED = ("cutmix", "saliencymix")


def train_throughput(config: str, data_dir: str, out_dir: str, rounds: int, epochs: int, extra: List[str],
                     log=print) -> Dict[str, dict]:
    """Images/s of CutMix and SaliencyMix training runs, per loader path, interleaved.

    Args:
        config: the trainer's ``-c`` YAML.
        data_dir: the data (e.g. made by ``make_cls_data``).
        out_dir: where the run folders go (overwritten: they are the benchmark's own).
        rounds: rounds of runs; epochs: epochs per run.
        extra: more trainer flags for every run (e.g. ``-b 256 --workers 8 --amp``).
        log: a print-like function for progress lines.
    Returns:
        {path: {variant name: {"img_s": [per round], "median": ..., "ratio_to_cutmix": [per round],
        "median_ratio": ...}}}.
    """
    args = argparse.Namespace(config=config, data_dir=data_dir, epochs=epochs, extra=list(extra))
    names = {key: VARIANTS[key][0] for key in COMPARED}
    rates = {path: {names[key]: [] for key in COMPARED} for path in LOADER_PATHS}
    for r in range(rounds):
        for path, path_flags in LOADER_PATHS.items():
            for key in COMPARED:
                name, flags = VARIANTS[key]
                result = train_once(f"{name} {path}", flags + path_flags, r, args, out_dir, log)
                rates[path][name].append(result["img_s"])
        log(f"[throughput] round {r + 1}/{rounds} done")
    anchor = names["cutmix"]
    out: Dict[str, dict] = {}
    for path, by_name in rates.items():
        out[path] = {}
        for name, values in by_name.items():
            ratios = [v / a for v, a in zip(values, by_name[anchor])]
            out[path][name] = {"img_s": values, "median": statistics.median(values), "ratio_to_cutmix": ratios,
                               "median_ratio": statistics.median(ratios)}
    return out


def to_markdown(results: Dict[str, dict]) -> str:
    """One row per loader path and variant: median images/s and the median per-round ratio to CutMix."""
    lines = ["| loader path | variant | images/s (median) | vs CutMix (median of per-round ratios) |",
             "|---|---|---:|---:|"]
    for path, by_name in results.items():
        for name, r in by_name.items():
            lines.append(f"| {path} | {name} | {r['median']:.1f} | {r['median_ratio']:.3f}x |")
    return "\n".join(lines)
