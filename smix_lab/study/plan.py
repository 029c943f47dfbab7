"""The accuracy study on a frozen recipe: five mixing methods x seeds, then transfer and robustness.

One plan file (``configs/study/study.yaml``) fixes everything: the built-in data split, the
trainer config of each method (``configs/timm/study_*.yaml``, committed before any SaliencyMix
run), the seeds, the detection recipe for transfer and the FGSM epsilons. Stages:

  1. classify   every method and seed through the trainer (``python -m smix_timm.train``; seed-major, so the methods of
                one seed run under the same machine conditions); validation top-1 per epoch
  2. transfer   the final checkpoint of the first ``transfer.seeds`` -> Faster R-CNN on the
                generated VOC through mmdet's own train.py/test.py (smix_mmdet.mmdet_train/test)
                -> VOC07-test mAP
  3. fgsm       top-1 under FGSM at the plan's epsilons (smix_lab.analysis.fgsm), every checkpoint
  4. cam        class activation maps of the first seed's checkpoints (smix_lab.analysis.cam)

Stages 1-3 form one queue of runs, ``jobs`` of them at a time (each with ``threads`` CPU threads);
a transfer or FGSM run starts as soon as the checkpoints it reads exist. Every run leaves a record
(its command and figures) in its folder; a record with the same command is read back instead of run
again, so the study can be stopped and continued. Paths in the plan (the method and detection
configs) are taken from the current folder when relative: run from the checkout's root.

Command line: ``python tools/benchmarks/run_study.py --plan configs/study/study.yaml``.
"""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from types import SimpleNamespace
from typing import Callable, Dict, List

import yaml

from smix_lab.curves import draw_curves as plot_curves
from smix_lab.data.classification import OBJECT_AREA
from smix_lab.demo.runner import detection_options, read_voc_map
from smix_lab.progress import Progress
from smix_lab.study.accuracy import RESULT, read_record, run_name, train_once, write_record
from smix_lab.study.regime import built_in_split, data_name
from smix_lab.study.stats import mean_std, paired_difference

PLAN_KEYS = {"data", "voc", "epochs", "seeds", "methods", "reference", "transfer", "fgsm_eps", "cam_images"}
# How the runs execute (not what they learn from): validation every N epochs, runs side by side,
# CPU threads per run. A run's figures depend on its thread count, so it is fixed per run.
RUN_DEFAULTS = {"eval_interval": 1, "jobs": 1, "threads": 0}  # threads 0: torch's default


class PlanError(ValueError):
    """The plan file is missing, unreadable or incomplete; the message names the key."""


def load_plan(path: str) -> Dict:
    """Read and check a study plan (YAML, read with ``yaml.safe_load``: no code runs).

    Returns:
        The plan, with the method configs made absolute (relative paths are taken from the current
        folder, the checkout's root in the README's commands).

    Raises:
        PlanError: the file is missing, a key is missing or unknown, or a method config does not exist.
    """
    if not os.path.isfile(path):
        raise PlanError(f"study plan {path} not found")
    with open(path) as f:
        plan = yaml.safe_load(f)
    if not isinstance(plan, dict):
        raise PlanError(f"{path} must hold a mapping (data, epochs, seeds, methods, ...)")
    missing, unknown = PLAN_KEYS - set(plan), set(plan) - PLAN_KEYS - set(RUN_DEFAULTS)
    if missing or unknown:
        raise PlanError(f"{path}: missing keys {sorted(missing)}, unknown keys {sorted(unknown)}")
    if plan["reference"] not in plan["methods"]:
        raise PlanError(f"{path}: reference {plan['reference']!r} is not one of the methods {list(plan['methods'])}")
    for key, method in plan["methods"].items():
        config = os.path.abspath(method["config"])
        if not os.path.isfile(config):
            raise PlanError(f"{path}: the config of method {key!r}, {config}, does not exist (relative paths are "
                            "taken from the current folder: run from the checkout's root)")
        method["config"] = config
    for key, default in RUN_DEFAULTS.items():
        plan.setdefault(key, default)
        if not isinstance(plan[key], int) or plan[key] < (0 if key == "threads" else 1):
            raise PlanError(f"{path}: {key} must be an integer >= {0 if key == 'threads' else 1}, got {plan[key]!r}")
    return plan


def only_run(plan: Dict, method: str, seed: int) -> Dict:
    """The plan cut to the classification of one method and seed (to check one figure of the tables).

    Raises:
        PlanError: ``method`` is not in the plan.
    """
    if method not in plan["methods"]:
        raise PlanError(f"--only {method}:{seed}: the plan's methods are {list(plan['methods'])}")
    return dict(plan, methods={method: plan["methods"][method]}, seeds=[seed], reference=method,
                transfer=dict(plan["transfer"], seeds=[]), fgsm_eps=[], cam_images=0)


def _run_tool(cmd: List[str], log_path: str, env: Dict[str, str] = None) -> str:
    with open(log_path, "w") as logfile:
        proc = subprocess.run(cmd, env=dict(os.environ, **(env or {})), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        logfile.write(proc.stdout)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[1:3])} failed (exit {proc.returncode}); log {log_path}:\n"
                           f"{proc.stdout[-3000:]}")
    return proc.stdout


class Study:
    """Runs the plan's stages into ``out`` (one folder per stage); see the module docstring."""

    def __init__(self, plan: Dict, out: str, data_root: str, log: Callable[[str], None] = print):
        self.plan, self.out, self.log = plan, os.path.abspath(out), log
        d = plan["data"]
        self.split = (d["classes"], d["train_per_class"], d["val_per_class"], d["size"],
                      d.get("object_area", OBJECT_AREA))
        self.scene = d.get("scene", "salient_object")
        self.data_root = data_root
        self.cls_root = os.path.abspath(os.path.join(data_root, data_name(*self.split, scene=self.scene)))
        self.voc_root = os.path.abspath(os.path.join(
            data_root, f"voc-train{plan['voc']['train']}-test{plan['voc']['test']}"))
        methods = len(plan["methods"])
        self.progress = Progress({"classify": methods * len(plan["seeds"]),
                                  "transfer": methods * len(plan["transfer"]["seeds"]),
                                  "fgsm": len(plan["seeds"]) if plan["fgsm_eps"] else 0,
                                  "cam": 1 if plan["cam_images"] else 0}, log, "study", parallel=plan["jobs"])
        self.env = {"OMP_NUM_THREADS": str(plan["threads"]), "MKL_NUM_THREADS": str(plan["threads"])} \
            if plan["threads"] else {}

    def make_data(self) -> None:
        built_in_split(self.data_root, *self.split, seed=self.plan["data"]["seed"], scene=self.scene)
        if self.plan["transfer"]["seeds"] and not os.path.isdir(self.voc_root):
            v = self.plan["voc"]
            _run_tool([sys.executable, "-m", "smix_lab.data.make_voc_data", "--out", self.voc_root,
                       "--seed", str(v["seed"]), "--num-train", str(v["train"]), "--num-test", str(v["test"])],
                      os.path.join(self.out, "make_voc_data.log"))

    def run_dir(self, method: str, seed: int) -> str:
        return os.path.join(self.out, "classify", run_name(method, seed))

    def classify_one(self, key: str, seed: int) -> Dict:
        """Train (or read back) one method and seed; the figures of :func:`accuracy.train_once`."""
        method = self.plan["methods"][key]
        started = self.progress.start(f"classify {key} seed {seed}", "classify")
        extra = ["--eval-interval", str(self.plan["eval_interval"])] if self.plan["eval_interval"] > 1 else []
        args = SimpleNamespace(config=method["config"], data_dir=self.cls_root, epochs=self.plan["epochs"],
                               extra=extra)
        done_before = os.path.isfile(os.path.join(self.run_dir(key, seed), RESULT))
        result = train_once(key, [], seed, args, os.path.join(self.out, "classify"), lambda m: None, reuse=True,
                            env=self.env)
        self.progress.finish(started, not done_before, "classify")
        self.log(f"[study]   {key} seed {seed}: final top-1 {result['final_top1']:.2f}, "
                 f"best {result['best_top1']:.2f}")
        return dict(result, seed=seed)

    def transfer_one(self, key: str, seed: int) -> Dict:
        """Fine-tune Faster R-CNN from one final checkpoint (mmdet's train.py), then VOC07-test mAP."""
        t = self.plan["transfer"]
        config = os.path.abspath(t["config"])
        env = dict(self.env, SMIX_VOC_ROOT=self.voc_root.rstrip("/") + "/")
        started = self.progress.start(f"transfer {key} seed {seed}", "transfer")
        checkpoint = os.path.join(self.run_dir(key, seed), "last.pth.tar")
        work = os.path.join(self.out, "transfer", f"{key}-seed{seed}")
        command = ["-m", "smix_mmdet.mmdet_train", config, "--work-dir", work,
                   "--cfg-options", *detection_options(checkpoint, t["iters"], seed)]
        result = read_record(work, command)
        ran = result is None
        if ran:
            os.makedirs(work, exist_ok=True)
            _run_tool([sys.executable, *command], os.path.join(work, "train.log"), env)
            out = _run_tool([sys.executable, "-m", "smix_mmdet.mmdet_test", config,
                             os.path.join(work, f"iter_{t['iters']}.pth"), "--work-dir",
                             os.path.join(work, "test")], os.path.join(work, "test.log"), env)
            voc_map = read_voc_map(out)
            if voc_map is None:
                raise RuntimeError(f"mmdet's test.py printed no pascal_voc/mAP; see {work}/test.log")
            result = {"mAP": voc_map}
            write_record(work, command, result)
        self.progress.finish(started, ran, "transfer")
        self.log(f"[study]   {key} seed {seed}: VOC07-test mAP {result['mAP']:.2f}")
        return dict(result, seed=seed)

    def fgsm_one(self, seed: int) -> Dict[str, Dict]:
        """FGSM top-1 of every method's final checkpoint of ``seed`` (tools/analysis/fgsm.py): per method,
        the seed, clean top-1 and top-1 at each epsilon ("eps 1", ...)."""
        eps = [float(e) for e in self.plan["fgsm_eps"]]
        started = self.progress.start(f"fgsm seed {seed}", "fgsm")
        keys = list(self.plan["methods"])
        folder = os.path.join(self.out, "fgsm", f"seed{seed}")
        command = ["-m", "smix_lab.analysis.fgsm",
                   *[os.path.join(self.run_dir(k, seed), "last.pth.tar") for k in keys], "--labels", *keys,
                   "--data-dir", self.cls_root, "--eps", *[str(e) for e in eps], "--workers", "0",
                   "--out", folder]
        rows = read_record(folder, command)
        ran = rows is None
        if ran:
            os.makedirs(folder, exist_ok=True)
            _run_tool([sys.executable, *command], os.path.join(folder, "fgsm.log"), self.env)
            with open(os.path.join(folder, "fgsm.csv")) as f:
                rows = list(csv.DictReader(f))
            write_record(folder, command, rows)
        self.progress.finish(started, ran, "fgsm")
        return {row["checkpoint"]: dict(seed=seed, clean=float(row["clean"]),
                                        **{f"eps {e:g}": float(row[f"eps_{e:g}"]) for e in eps}) for row in rows}

    def cam(self) -> str:
        started = self.progress.start("class activation maps", "cam")
        seed, keys = self.plan["seeds"][0], list(self.plan["methods"])
        folder = os.path.join(self.out, "cam")
        _run_tool([sys.executable, "-m", "smix_lab.analysis.cam",
                   *[os.path.join(self.run_dir(k, seed), "last.pth.tar") for k in keys], "--labels", *keys,
                   "--data-dir", self.cls_root, "--num", str(self.plan["cam_images"]), "--out", folder],
                  os.path.join(self.out, "cam.log"))
        self.progress.finish(started, True, "cam")
        return os.path.join(folder, "cam.png")

    def run(self) -> Dict:
        """Every stage, as one queue of runs with ``jobs`` going at once: the classification runs
        seed-major (the methods of one seed close together in time), then transfer and FGSM, each
        starting as soon as the checkpoints it reads exist; the CAM grid last. Returns all figures
        (also written to study.json)."""
        os.makedirs(self.out, exist_ok=True)
        self.make_data()
        methods, seeds = list(self.plan["methods"]), self.plan["seeds"]
        with ThreadPoolExecutor(max_workers=self.plan["jobs"]) as pool:
            trained = {(k, s): pool.submit(self.classify_one, k, s) for s in seeds for k in methods}
            transfer = {(k, s): pool.submit(_after, [trained[k, s]], self.transfer_one, k, s)
                        for s in self.plan["transfer"]["seeds"] for k in methods}
            fgsm = {s: pool.submit(_after, [trained[k, s] for k in methods], self.fgsm_one, s)
                    for s in (seeds if self.plan["fgsm_eps"] else [])}
            results = {"plan": self.plan,
                       "classify": {k: [trained[k, s].result() for s in seeds] for k in methods},
                       "transfer": {k: [transfer[k, s].result() for s in self.plan["transfer"]["seeds"]]
                                    for k in methods},
                       "fgsm": {k: [] for k in methods}}
            for seed in fgsm:
                for method, figures in fgsm[seed].result().items():
                    results["fgsm"][method].append(figures)
        results["cam_png"] = self.cam() if self.plan["cam_images"] else None
        with open(os.path.join(self.out, "study.json"), "w") as f:
            json.dump(results, f, indent=1)
        return results


def _after(needed: List[Future], task: Callable, *args):
    """Wait for the runs ``task`` reads (re-raising their error), then run it."""
    for future in needed:
        future.result()
    return task(*args)


def compare_with_study(results: Dict, study_out: str) -> str:
    """One line per run of ``results`` (an :func:`only_run` study): its figures beside those the
    study in ``study_out`` recorded for the same method and seed (read from the run's record, so
    this works while the study is still running), and whether the validation curves are equal."""
    lines = []
    for method, runs in results["classify"].items():
        for run in runs:
            line = f"{method} seed {run['seed']}: final top-1 {run['final_top1']:.2f}, best {run['best_top1']:.2f}"
            path = os.path.join(study_out, "classify", run_name(method, run["seed"]), RESULT)
            if not os.path.isfile(path):
                lines.append(f"{line}; {path} does not exist (the study has not finished this run)")
                continue
            with open(path) as f:
                before = json.load(f)["result"]
            same = "the same" if before["curve"] == run["curve"] else "a different"
            lines.append(f"{line}; the study has {before['final_top1']:.2f}, {before['best_top1']:.2f} "
                         f"({same} validation curve over {len(run['curve'])} scored epochs)")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------- tables
def _pm(values: List[float]) -> str:
    s = mean_std(values)
    return f"{s['mean']:.2f} ± {s['std']:.2f}"


def paired_rows(results: Dict[str, List[Dict]], reference: str, key: str) -> List[Dict]:
    """Per method: mean ± std of ``key`` and its paired difference to ``reference`` (same seeds)."""
    by_seed = {r["seed"]: r[key] for r in results[reference]}
    rows = []
    for method, runs in results.items():
        seeds = [r["seed"] for r in runs if r["seed"] in by_seed]
        values = [r[key] for r in runs]
        diff = paired_difference([r[key] for r in runs if r["seed"] in by_seed], [by_seed[s] for s in seeds]) \
            if method != reference and seeds else None
        rows.append(dict(method=method, n=len(values), values=values, mean_std=mean_std(values), diff=diff))
    return rows


def table(results: Dict[str, List[Dict]], reference: str, key: str, names: Dict[str, str]) -> str:
    """Markdown: method, runs, mean ± std, per-seed values, paired difference to the reference with 95% CI."""
    lines = [f"| method | runs | {key} (mean ± std) | per seed | − {names[reference]} (paired, 95% CI) |",
             "|---|---:|---:|---|---:|"]
    for row in paired_rows(results, reference, key):
        d = row["diff"]
        diff = "—" if d is None else (f"{d['mean']:+.2f} [{d['low']:+.2f}, {d['high']:+.2f}]" if d["n"] > 1
                                      else f"{d['mean']:+.2f}")
        lines.append(f"| {names[row['method']]} | {row['n']} | {_pm(row['values'])} | "
                     f"{', '.join(f'{v:.1f}' for v in row['values'])} | {diff} |")
    return "\n".join(lines)


def draw_curves(results: Dict[str, List[Dict]], names: Dict[str, str], path: str) -> str:
    """Validation top-1 over epochs per method: the mean over seeds and a band from min to max."""
    lines = {names[method]: (runs[0].get("curve_epochs") or list(range(1, len(runs[0]["curve"]) + 1)),
                             [r["curve"] for r in runs]) for method, runs in results.items()}
    return plot_curves([("Validation top-1 per epoch: mean over seeds, band = min..max", "validation top-1 (%)",
                         lines)], path)


def report(results: Dict, out: str) -> str:
    """study.md (tables) and curves.png in ``out``; returns the markdown."""
    plan = results["plan"]
    names = {k: m["name"] for k, m in plan["methods"].items()}
    ref = plan["reference"]
    draw_curves(results["classify"], names, os.path.join(out, "curves.png"))
    parts = ["## Classification (validation top-1, %)", "", "Final epoch:", "",
             table(results["classify"], ref, "final_top1", names), "", "Best epoch:", "",
             table(results["classify"], ref, "best_top1", names), "", "![validation top-1 per epoch](curves.png)"]
    if any(results["transfer"].values()):
        parts += ["", "## Transfer: VOC07-test mAP (%)", "", table(results["transfer"], ref, "mAP", names)]
    if any(results["fgsm"].values()):
        parts += ["", "## FGSM top-1 (%)", ""]
        for key in [k for k in results["fgsm"][ref][0] if k != "seed"]:
            parts += [f"{key}:", "", table(results["fgsm"], ref, key, names), ""]
    text = "\n".join(parts) + "\n"
    with open(os.path.join(out, "study.md"), "w") as f:
        f.write(text)
    return text
