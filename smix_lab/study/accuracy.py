"""Accuracy and cost evidence: baseline vs CutMix vs official-code SaliencyMix vs SaliencyMix.

Trains the same small recipe on the built-in data with each mixing variant and
several seeds through the trainer (``python -m smix_timm.train``, interleaved, so every variant sees the
same machine conditions), then reports the mean and spread of the final and best
validation top-1 (from timm's summary.csv) and the training throughput
(images/s of each training epoch, from the trainer's end-of-epoch log line).

Command line: ``python tools/benchmarks/benchmark_accuracy.py --data-dir data/accuracy --seeds 0 1 2 --epochs 8``.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from typing import Dict, List

import numpy as np

from smix_timm.train.summary import SUMMARY, read_summary

TRAINER = ("-m", "smix_timm.train")  # the trainer of tools/train.py, run as a module (no checkout needed)
VARIANTS = {  # --variants key -> (name in tables, trainer flags)
    "baseline": ("baseline (no mixing)", ["--mixup", "0", "--cutmix", "0", "--saliencymix", "0"]),
    "cutmix": ("CutMix", ["--mixup", "0", "--cutmix", "1.0", "--saliencymix", "0"]),
    "official": ("official-code SaliencyMix",
                 ["--mixup", "0", "--cutmix", "0", "--saliencymix", "1.0", "--saliency-official"]),
    "saliencymix": ("SaliencyMix (per-sample, fine_grained)",
                    ["--mixup", "0", "--cutmix", "0", "--saliencymix", "1.0"]),
}
# the trainer's end-of-epoch line: "Train: E done: N images in Ts, R images/s (waiting for data Ws)"
RATE = re.compile(r"done: \d+ images in [0-9.]+s, ([0-9.]+) images/s")
RESULT = "result.json"  # in a run folder: the command and its figures, written when the run has finished


def read_record(folder: str, command: List[str]):
    """What a finished run in ``folder`` recorded, if it was made by the same ``command``; else None."""
    path = os.path.join(folder, RESULT)
    if os.path.isfile(path):
        with open(path) as f:
            saved = json.load(f)
        if saved.get("command") == command:
            return saved["result"]
    return None


def write_record(folder: str, command: List[str], result) -> None:
    """Record a finished run: its command and its figures (read back by :func:`read_record`)."""
    with open(os.path.join(folder, RESULT), "w") as f:
        json.dump({"command": command, "result": result}, f, indent=1)


def run_name(name: str, seed: int) -> str:
    """The run folder of variant ``name`` and ``seed``: "CutMix", 0 -> "cutmix-seed0"."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") + f"-seed{seed}"


def train_once(name: str, flags: List[str], seed: int, args, out_dir: str, log, reuse: bool = False,
               env: Dict[str, str] = None) -> Dict:
    """Train one variant and seed with the trainer; its figures from summary.csv and the log.

    Args:
        name: the variant's name in tables (the run folder is named after it and the seed).
        flags: the variant's trainer flags.
        seed: the run's --seed.
        args: ``config``, ``data_dir``, ``epochs`` and ``extra`` (more trainer flags).
        out_dir: where the run folders go.
        log: a print-like function for progress lines.
        reuse: a run folder whose ``result.json`` records the same command is not trained again
            (so a study can be stopped and continued); otherwise the folder is overwritten.
        env: environment variables set for the trainer on top of ours (e.g. ``OMP_NUM_THREADS``).

    Returns:
        final_top1, best_top1 (over the scored epochs), curve (validation top-1 of each scored epoch),
        curve_epochs (those epochs, counted from 1: every epoch unless ``--eval-interval``), img_s
        (median over epochs), wall_s, and train_clean_top1 (final) when the run scored its training
        split (--eval-train).
    """
    experiment = run_name(name, seed)
    cmd = [sys.executable, *TRAINER, "-c", args.config, "--data-dir", args.data_dir,
           "--epochs", str(args.epochs), "--seed", str(seed), "--output", out_dir, "--experiment", experiment,
           "--overwrite-output", *flags, *args.extra]  # the benchmark's own run folders
    folder = os.path.join(out_dir, experiment)
    saved = read_record(folder, cmd[1:]) if reuse else None
    if saved is not None:
        log(f"[accuracy] {name}, seed {seed}: done before ({os.path.join(folder, RESULT)})")
        return saved
    log(f"[accuracy] {name}, seed {seed}: {' '.join(cmd[1:])}")
    start = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, **(env or {})))
    wall = time.time() - start
    if proc.returncode != 0:
        raise RuntimeError(f"training failed ({name}, seed {seed}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    rows = [r for r in read_summary(os.path.join(folder, SUMMARY)) if "eval_top1" in r]  # scored epochs
    rates = [float(m) for m in RATE.findall(proc.stdout + proc.stderr)]
    result = {"final_top1": rows[-1]["eval_top1"], "best_top1": max(r["eval_top1"] for r in rows),
              "curve": [r["eval_top1"] for r in rows], "curve_epochs": [int(r["epoch"]) + 1 for r in rows],
              "img_s": float(np.median(rates)) if rates else float("nan"), "wall_s": wall}
    if "train_clean_top1" in rows[-1]:
        result["train_clean_top1"] = rows[-1]["train_clean_top1"]
    write_record(folder, cmd[1:], result)
    log(f"[accuracy]   top-1 final {result['final_top1']:.2f} best {result['best_top1']:.2f}, "
        f"{result['img_s']:.1f} img/s, {wall:.0f}s")
    return result


def run(args, log=print) -> Dict[str, List[Dict[str, float]]]:
    from smix_lab.data.classification import make_cls_data
    make_cls_data(args.data_dir, seed=0, num_classes=args.num_classes, train_per_class=args.train_per_class,
                  val_per_class=args.val_per_class, size=args.size, reuse=True, log=log)
    out_dir = os.path.abspath(args.output)
    chosen = [VARIANTS[key] for key in args.variants]
    results: Dict[str, List[Dict[str, float]]] = {name: [] for name, _ in chosen}
    for seed in args.seeds:  # interleaved: every variant of a seed runs under the same machine conditions
        for name, flags in chosen:
            results[name].append(train_once(name, flags, seed, args, out_dir, log))
    return results


def to_markdown(results: Dict[str, List[Dict[str, float]]]) -> str:
    base_rate = np.nanmedian([r["img_s"] for r in results["CutMix"]]) if "CutMix" in results else float("nan")
    lines = ["| variant | runs | final top-1 (mean ± std) | best top-1 (mean ± std) | train img/s (median) | "
             "vs CutMix |", "|---|---:|---:|---:|---:|---:|"]
    for name, runs in results.items():
        final = np.array([r["final_top1"] for r in runs])
        best = np.array([r["best_top1"] for r in runs])
        rate = np.nanmedian([r["img_s"] for r in runs])
        lines.append(f"| {name} | {len(runs)} | {final.mean():.2f} ± {final.std(ddof=1) if len(runs) > 1 else 0:.2f} | "
                     f"{best.mean():.2f} ± {best.std(ddof=1) if len(runs) > 1 else 0:.2f} | {rate:.1f} | "
                     f"{rate / base_rate:.2f}x |")
    return "\n".join(lines)
