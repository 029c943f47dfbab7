"""Choosing the regime of the accuracy study with the baseline and CutMix only (before any SaliencyMix run).

A patch-mixing regulariser can only pay off where the baseline fits its training data and
generalisation is the limit (the setting of the paper's and CutMix's claims). Each candidate
recipe (a split of the built-in data and a schedule) trains the baseline and CutMix with the same
seeds and records: the baseline's top-1 on its own training images (eval transform, no mixing:
``--eval-train``), both methods' validation top-1, and CutMix's paired gain over the baseline. A
recipe qualifies when the baseline fits (>= 95 % training top-1) and CutMix's gain exceeds twice
the larger seed spread of the two methods.

Runs already finished (a ``result.json`` in their folder recording the same command) are read,
not trained again, so the selection can be stopped and continued.

Command line: ``python tools/benchmarks/select_regime.py --seeds 0 1 --recipes c10-n100-e40 c10-n50-e60``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Dict, List, Tuple

from smix_lab.data.classification import OBJECT_AREA, make_cls_data
from smix_lab.progress import Progress
from smix_lab.study.accuracy import RESULT, VARIANTS, run_name, train_once
from smix_lab.study.stats import mean_std, paired_difference

FITS = 95.0  # the baseline's training top-1 (percent) that counts as fitting its data


@dataclass(frozen=True)
class Recipe:
    """One candidate: the built-in data's split and the schedule; the rest is the config file."""
    classes: int
    train_per_class: int
    epochs: int
    size: int = 64
    val_per_class: int = 50
    object_area: Tuple[float, float] = OBJECT_AREA
    flags: Tuple[str, ...] = ()  # more trainer flags, for every method (e.g. the input size of 32 px data)

    def data_name(self) -> str:
        return data_name(self.classes, self.train_per_class, self.val_per_class, self.size, self.object_area)

    def make_data(self, root: str) -> str:
        """Generate (or reuse) this recipe's data under ``root``; its folder."""
        return built_in_split(root, self.classes, self.train_per_class, self.val_per_class, self.size,
                              self.object_area)


def data_name(classes: int, train_per_class: int, val_per_class: int, size: int, object_area,
              scene: str = "salient_object") -> str:
    """Folder name of a built-in split: "cls10-train50-val50-64px" (+ "-obj20-60" for other object areas,
    + "-decoys" for the control scene)."""
    name = f"cls{classes}-train{train_per_class}-val{val_per_class}-{size}px"
    if tuple(object_area) != tuple(OBJECT_AREA):
        name += f"-obj{round(100 * object_area[0])}-{round(100 * object_area[1])}"
    if scene != "salient_object":
        name += f"-{scene}"
    return name


def built_in_split(root: str, classes: int, train_per_class: int, val_per_class: int, size: int, object_area,
                   seed: int = 0, scene: str = "salient_object") -> str:
    """Generate (or reuse) a split of the built-in data in ``root/<data_name(...)>``; that folder."""
    folder = os.path.join(root, data_name(classes, train_per_class, val_per_class, size, object_area, scene))
    make_cls_data(folder, seed=seed, num_classes=classes, train_per_class=train_per_class,
                  val_per_class=val_per_class, size=size, object_area=object_area, scene=scene, reuse=True, log=None)
    return folder


# 32 px input with its pad-crop, mixing on half the batches (CutMix's CIFAR setting)
SMALL_HALF_MIXED = ("--img-size", "32", "--train-pad", "4", "--mixup-prob", "0.5")
RECIPES = {  # in the order they were tried (BENCHMARKS.md); each keeps tiny_cpu_baseline.yaml's other settings
    "c10-n100-e40": Recipe(classes=10, train_per_class=100, epochs=40),
    "c10-n50-e60": Recipe(classes=10, train_per_class=50, epochs=60),
    "c10-n30-e80": Recipe(classes=10, train_per_class=30, epochs=80),
    "c20-n30-e60": Recipe(classes=20, train_per_class=30, epochs=60),
    # larger objects (20-60 % of the image instead of 3-25 %): a random CutMix box hits the object more often
    "c10-n50-e60-big": Recipe(classes=10, train_per_class=50, epochs=60, object_area=(0.2, 0.6)),
    "c10-n100-e60-big": Recipe(classes=10, train_per_class=100, epochs=60, object_area=(0.2, 0.6)),
    # a longer schedule made affordable by 32 px images; mixing on half the batches (CutMix's CIFAR setting)
    "c10-n50-e150-big-32px-p05": Recipe(classes=10, train_per_class=50, epochs=150, size=32, object_area=(0.2, 0.6),
                                        flags=SMALL_HALF_MIXED),
    "c10-n50-e300-big-32px-p05": Recipe(classes=10, train_per_class=50, epochs=300, size=32, object_area=(0.2, 0.6),
                                        flags=SMALL_HALF_MIXED),
    # the same cost with fewer images and more epochs: more to regularise
    "c10-n30-e250-big-32px-p05": Recipe(classes=10, train_per_class=30, epochs=250, size=32, object_area=(0.2, 0.6),
                                        flags=SMALL_HALF_MIXED),
}
METHODS = ("baseline", "cutmix")


def run(recipes: List[str], seeds: List[int], data_root: str, output: str, config: str, extra: List[str],
        log=print, stop_underfit: bool = True) -> Dict[str, Dict[str, List[Dict]]]:
    """Train baseline and CutMix for each recipe and seed (seeds interleaved); their results.

    With ``stop_underfit``, a recipe whose baseline fits less than ``FITS`` of its training images
    in any seed is dropped at once (it cannot qualify); its table row shows the runs that were made.

    Returns:
        recipe name -> method key -> one result per seed (``accuracy.train_once``'s dict).
    """
    jobs = [(r, s, m) for r in recipes for s in seeds for m in METHODS]
    results: Dict[str, Dict[str, List[Dict]]] = {r: {m: [] for m in METHODS} for r in recipes}
    progress = Progress(len(jobs), log, "regime")
    underfit = set()
    for name, seed, method in jobs:
        if name in underfit:  # the recipe is out: its baseline did not fit (see the module docstring)
            progress.finish(progress.start(f"{name} {method} seed {seed}: skipped, the baseline does not fit"), False)
            continue
        recipe = RECIPES[name]
        data_dir = recipe.make_data(data_root)
        started = progress.start(f"{name} {method} seed {seed}")
        args = SimpleNamespace(config=config, data_dir=data_dir, epochs=recipe.epochs,
                               extra=["--eval-train", *recipe.flags, *extra])
        variant, flags = VARIANTS[method]
        out = os.path.join(output, name)
        done_before = os.path.isfile(os.path.join(out, run_name(variant, seed), RESULT))
        result = train_once(variant, flags, seed, args, out, log, reuse=True)
        results[name][method].append(result)
        progress.finish(started, ran=not done_before)
        if method == "baseline" and stop_underfit and result.get("train_clean_top1", 100.0) < FITS:
            log(f"[regime] {name}: the baseline fits {result.get('train_clean_top1'):.1f}% of its training "
                f"images (< {FITS:g}%): the recipe's other runs are skipped")
            underfit.add(name)
    return results


def summarise(results: Dict[str, Dict[str, List[Dict]]]) -> List[Dict]:
    """One row per recipe: both methods' fit and validation figures, CutMix's paired gain, verdict.

    A recipe dropped because its baseline does not fit has no CutMix figures (``cutmix_val`` and
    ``gain`` are None); it does not qualify.
    """
    rows = []
    for name, by_method in results.items():
        base, cut = by_method["baseline"], by_method["cutmix"]
        base_val = [r["final_top1"] for r in base]
        cut_val = [r["final_top1"] for r in cut]
        fit = mean_std([r.get("train_clean_top1", float("nan")) for r in base])
        gain = paired_difference(cut_val, base_val[:len(cut_val)]) if cut_val else None  # seeds in one order
        spread = max(mean_std(base_val)["std"], mean_std(cut_val)["std"]) if cut_val else None
        rows.append(dict(recipe=name, data=RECIPES[name].data_name(), epochs=RECIPES[name].epochs, seeds=len(base),
                         baseline_train=fit, baseline_val=mean_std(base_val),
                         cutmix_val=mean_std(cut_val) if cut_val else None,
                         cutmix_train=mean_std([r.get("train_clean_top1", float("nan")) for r in cut]) if cut else None,
                         gain=gain, spread=spread,
                         qualifies=bool(gain is not None and fit["mean"] >= FITS and gain["mean"] > 2 * spread)))
    return rows


def to_markdown(rows: List[Dict]) -> str:
    """The selection table of BENCHMARKS.md."""
    def pm(s):
        return f"{s['mean']:.2f} ± {s['std']:.2f}"
    lines = ["| recipe | data | epochs | seeds | baseline train top-1 | baseline val top-1 | CutMix train top-1 | "
             "CutMix val top-1 | CutMix − baseline (paired, 95% CI) | qualifies |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        g = r["gain"]
        if g is None:
            cutmix, gain = "not run | not run", "— (the baseline does not fit)"
        else:
            cutmix = f"{pm(r['cutmix_train'])} | {pm(r['cutmix_val'])}"
            gain = f"{g['mean']:+.2f}" + (f" [{g['low']:+.2f}, {g['high']:+.2f}]" if g["n"] > 1 else "")
        lines.append(f"| {r['recipe']} | {r['data']} | {r['epochs']} | {r['seeds']} | {pm(r['baseline_train'])} | "
                     f"{pm(r['baseline_val'])} | {cutmix} | {gain} | {'yes' if r['qualifies'] else 'no'} |")
    return "\n".join(lines)


