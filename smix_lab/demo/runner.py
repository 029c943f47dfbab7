"""The whole SaliencyMix journey on built-in data, in one command (``make demo``).

Stages (each a standard tool of the ecosystem; our code is the glue), each run as a program
(``python -m ...``, the modules behind the scripts in tools/):
  1. data       built-in classification set (smix_lab.data.make_cls_data) and VOCdevkit (smix_lab.data.make_voc_data)
  2. pretrain   our timm trainer (smix_timm.train) twice: --saliencymix and no mixing (optionally --cutmix)
  3. detect     each checkpoint -> tiny Faster R-CNN through mmdet's own train.py, then test.py -> VOC mAP
  4. pictures   SaliencyMix grid, training curves, detections on test images
  5. report     results/demo/report.md

Finished stages are reused on a re-run (a marker per stage records its parameters);
``--restart`` redoes them. Only ``--out`` (results/demo) and the generated data folder are
written; nothing else is touched. Real data: ``--cls-data DIR`` (timm folder layout) and
``--voc-root DIR`` (a VOCdevkit); more compute: ``--epochs``, ``--det-iters``, ``--gpus N``. The
recipes are read from ``--configs`` (default ``configs/``: run from a checkout, or point it there).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from typing import Dict, List, Optional

from smix_timm.train.summary import SUMMARY, read_summary

DET_CONFIG = os.path.join("mmdet", "faster-rcnn_r18_fpn_tiny_voc0712.py")  # under --configs
TIMM_CONFIG = {  # under --configs/timm/
"saliencymix": "tiny_cpu_saliencymix.yaml", "baseline": "tiny_cpu_baseline.yaml",
               "cutmix": "tiny_cpu_cutmix.yaml"}
OWN_MARK = ".smix_demo_stage"  # marks a stage folder the demo made (and may therefore clear)
MAP_LINE = re.compile(r"pascal_voc/mAP:\s*([0-9.]+)")


def detection_options(checkpoint: str, iters: int, seed: int) -> List[str]:
    """``--cfg-options`` of the demo's detection recipe: the backbone from ``checkpoint``, ``iters``
    iterations, one validation and one checkpoint at the end, mmengine's seed."""
    return [f"model.backbone.init_cfg.checkpoint={checkpoint}", f"train_cfg.max_iters={iters}",
            f"train_cfg.val_interval={iters}", f"default_hooks.checkpoint.interval={iters}", f"randomness.seed={seed}"]


def read_voc_map(output: str) -> Optional[float]:
    """The last ``pascal_voc/mAP`` mmdet's test.py printed, in percent (VOCMetric reports a fraction)."""
    found = MAP_LINE.findall(output)
    return 100 * float(found[-1]) if found else None


def log(msg: str) -> None:
    print(f"[demo {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Demo:
    def __init__(self, args):
        self.args = args
        self.out = os.path.abspath(args.out)
        self.data = os.path.abspath(args.data)
        self.stage_dir = os.path.join(self.out, "stages")
        self.log_dir = os.path.join(self.out, "logs")
        os.makedirs(self.stage_dir, exist_ok=True)
        os.makedirs(self.log_dir, exist_ok=True)
        self.variants = ["saliencymix", "baseline"] + (["cutmix"] if args.with_cutmix else [])
        self.cls_root = os.path.abspath(args.cls_data) if args.cls_data else os.path.join(self.data, "cls")
        self.voc_root = os.path.abspath(args.voc_root) if args.voc_root else os.path.join(self.data, "VOCdevkit")
        self.configs = os.path.abspath(args.configs)
        self.det_config = os.path.join(self.configs, DET_CONFIG)
        self.commands: List[str] = []
        self.timings: Dict[str, float] = {}

    # ------------------------------------------------------------ plumbing
    def run(self, cmd: List[str], stage: str, env: Optional[Dict[str, str]] = None) -> str:
        """Run a command, stream its lines with a prefix, keep the log; return its output."""
        here = os.getcwd()
        shown = " ".join("python" if c == sys.executable else
                         os.path.relpath(c, here) if os.path.isabs(c) and c.startswith(here + os.sep) else c
                         for c in cmd)
        self.commands.append(shown)
        log(f"$ {shown}")
        full_env = dict(os.environ, **(env or {}))
        lines = []
        with open(os.path.join(self.log_dir, f"{stage}.log"), "a") as logfile, subprocess.Popen(
                cmd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                bufsize=1) as proc:
            last = time.time()
            for line in proc.stdout:
                logfile.write(line)
                lines.append(line)
                if self.args.verbose or time.time() - last > 10 or "Epoch" in line or "mAP" in line \
                        or "Train:" in line or "Test:" in line or "Error" in line:
                    print(f"    {line.rstrip()[:160]}", flush=True)
                    last = time.time()
        if proc.returncode != 0:
            for line in lines[-15:]:  # the end of the tool's output, then one line that says what failed
                print(f"    {line.rstrip()[:200]}", flush=True)
            said = next((line.strip() for line in reversed(lines) if line.strip()), "no output")
            raise RuntimeError(f"stage {stage} failed (exit {proc.returncode}): {said[:300]}; full log: "
                               f"{os.path.join(self.log_dir, stage + '.log')}")
        return "".join(lines)

    def stage(self, name: str, params: Dict, fn):
        """Run ``fn`` unless a marker with the same params says it is done; return its result."""
        marker = os.path.join(self.stage_dir, f"{name}.json")
        key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
        if os.path.exists(marker) and not self.args.restart:
            with open(marker) as f:
                done = json.load(f)
            if done.get("key") == key:
                log(f"stage {name}: reusing the finished result ({done['seconds']:.0f}s when it ran)")
                self.commands.extend(done.get("commands", []))
                self.timings[name] = done["seconds"]
                return done["result"]
        start, first_cmd = time.time(), len(self.commands)
        log(f"stage {name}: running")
        result = fn()
        seconds = time.time() - start
        self.timings[name] = seconds
        with open(marker, "w") as f:
            json.dump({"key": key, "params": params, "seconds": seconds, "result": result,
                       "commands": self.commands[first_cmd:]}, f, indent=1)
        log(f"stage {name}: done in {seconds:.0f}s")
        return result

    # ------------------------------------------------------------ stages
    def make_data(self):
        a = self.args
        if not a.cls_data:
            self.run([sys.executable, "-m", "smix_lab.data.make_cls_data", "--out", self.cls_root,
                      "--seed", str(a.seed), "--num-classes", str(a.num_classes), "--train-per-class",
                      str(a.train_per_class), "--val-per-class", str(a.val_per_class), "--size", str(a.cls_size),
                      "--reuse"], "data")
        if not a.voc_root:  # a VOCdevkit make_voc_data made before is its own (no --force); a foreign one is refused
            self.run([sys.executable, "-m", "smix_lab.data.make_voc_data", "--out", self.voc_root,
                      "--seed", str(a.seed), "--num-train", str(a.voc_train), "--num-test", str(a.voc_test)], "data")
        return {"cls_root": self.cls_root, "voc_root": self.voc_root}

    def own_folder(self, path: str) -> str:
        """An empty folder for a stage, marked as the demo's; a leftover of the demo's own is cleared first.

        A folder without the demo's mark (the user's, or another tool's) is never deleted: the demo stops.
        """
        mark = os.path.join(path, OWN_MARK)
        if os.path.isdir(path) and os.listdir(path):
            if not os.path.isfile(mark):
                raise RuntimeError(f"{path} exists and was not made by the demo (no {OWN_MARK} in it); move it away "
                                   "or pass another --out")
            shutil.rmtree(path)
        os.makedirs(path, exist_ok=True)
        with open(mark, "w") as f:
            f.write("made by tools/demo.py; the demo may delete this folder when it runs this stage again\n")
        return path

    def launcher(self, module: str) -> List[str]:
        """The command that runs ``module`` as a program: one process, or torchrun's one per GPU."""
        if self.args.gpus > 1:
            return [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={self.args.gpus}", "-m", module]
        return [sys.executable, "-m", module]

    def pretrain(self, variant: str):
        a = self.args
        cmd = self.launcher("smix_timm.train") + [
            "-c", os.path.join(self.configs, "timm", TIMM_CONFIG[variant]), "--data-dir", self.cls_root,
            "--output", os.path.join(self.out, "train"), "--experiment", variant, "--epochs", str(a.epochs),
            "--seed", str(a.seed)]
        if a.device:
            cmd += ["--device", a.device]
        if a.batch_size:
            cmd += ["-b", str(a.batch_size)]
        exp = self.own_folder(os.path.join(self.out, "train", variant))
        self.run(cmd + ["--overwrite-output"], f"pretrain_{variant}")  # the folder is the demo's own
        rows = [row for row in read_summary(os.path.join(exp, SUMMARY)) if "eval_top1" in row]
        return {"checkpoint": os.path.join(exp, "model_best.pth.tar"), "summary": os.path.join(exp, SUMMARY),
                "final_top1": rows[-1]["eval_top1"], "best_top1": max(r["eval_top1"] for r in rows)}

    def detect(self, variant: str, checkpoint: str):
        a = self.args
        work = self.own_folder(os.path.join(self.out, "det", variant))
        env = {"SMIX_VOC_ROOT": self.voc_root.rstrip("/") + "/"}
        options = detection_options(checkpoint, a.det_iters, a.seed)
        launcher = ["--launcher", "pytorch"] if a.gpus > 1 else []
        self.run(self.launcher("smix_mmdet.mmdet_train") + [
            self.det_config, "--work-dir", work, *launcher, "--cfg-options", *options], f"detect_{variant}", env)
        det_ckpt = os.path.join(work, f"iter_{a.det_iters}.pth")
        out = self.run([sys.executable, "-m", "smix_mmdet.mmdet_test", self.det_config, det_ckpt,
                        "--work-dir", os.path.join(work, "test")], f"test_{variant}", env)
        voc_map = read_voc_map(out)
        if voc_map is None:
            raise RuntimeError(f"mmdet's test.py printed no pascal_voc/mAP for {variant}; see logs/test_{variant}.log")
        return {"checkpoint": det_ckpt, "mAP": voc_map}

    def pictures(self, pretrained: Dict, detected: Dict):
        from smix_lab.demo.report import draw_curves, draw_detections
        pics = os.path.join(self.out, "pictures")
        os.makedirs(pics, exist_ok=True)
        self.run([sys.executable, "-m", "smix_lab.analysis.visualize_mix", "--out", pics, "--data-dir",
                  self.cls_root, "--num", "2", "--seed", str(self.args.seed)], "pictures")
        summaries = {v: r["summary"] for v, r in pretrained.items()}
        curves = draw_curves(summaries, os.path.join(pics, "training_curves.png"))
        dets = draw_detections(self.det_config, {v: r["checkpoint"] for v, r in detected.items()}, self.voc_root,
                               os.path.join(pics, "detections.png"), self.args.device or "cpu")
        return {"dir": pics, "files": sorted(os.listdir(pics)), "curves": curves, "detections": dets}

    # ------------------------------------------------------------ main
    def estimate(self) -> Dict[str, float]:
        """Seconds per stage on 2 CPU cores at the default size, scaled by the settings."""
        a = self.args
        scale_cls = a.epochs / 6 * a.num_classes * a.train_per_class / 2000 * (a.cls_size / 64) ** 2
        est = {"data": 40 * (a.num_classes * a.train_per_class + a.voc_train) / 2200}
        for v in self.variants:
            est[f"pretrain_{v}"] = 90 * scale_cls
            est[f"detect_{v}"] = 150 * a.det_iters / 300
        est["pictures"] = 30
        return est

    def main(self):
        est = self.estimate()
        log("plan (estimates on 2 CPU cores; finished stages are reused): " +
            ", ".join(f"{k} ~{v / 60:.1f} min" for k, v in est.items()) + f"; total ~{sum(est.values()) / 60:.0f} min")
        t0 = time.time()
        a = self.args
        data = self.stage("data", {"seed": a.seed, "classes": a.num_classes, "train": a.train_per_class,
                                   "val": a.val_per_class, "size": a.cls_size, "voc": [a.voc_train, a.voc_test],
                                   "cls_root": self.cls_root, "voc_root": self.voc_root}, self.make_data)
        pretrained, detected = {}, {}
        for v in self.variants:
            pretrained[v] = self.stage(f"pretrain_{v}", {"data": data, "epochs": a.epochs, "seed": a.seed,
                                                         "gpus": a.gpus, "device": a.device, "batch": a.batch_size},
                                       lambda v=v: self.pretrain(v))
        for v in self.variants:
            key = {"pretrain": pretrained[v], "iters": a.det_iters, "seed": a.seed, "gpus": a.gpus}
            detected[v] = self.stage(f"detect_{v}", key, lambda v=v: self.detect(v, pretrained[v]["checkpoint"]))
        pics = self.stage("pictures", {"pretrained": pretrained, "detected": detected},
                          lambda: self.pictures(pretrained, detected))
        from smix_lab.demo.report import write_report
        path = write_report(self.out, self.args, pretrained, detected, pics, self.commands, self.timings,
                            time.time() - t0)
        log(f"report: {path}")
        return path


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="results/demo", help="results folder (the only place written besides --data)")
    p.add_argument("--data", default="data/demo", help="folder for the generated data")
    p.add_argument("--configs", default="configs", help="the folder of the recipes (timm/ and mmdet/ configs; "
                   "default: configs/ of the checkout you run from)")
    p.add_argument("--restart", action="store_true", help="redo every stage instead of reusing finished ones")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=6, help="pretraining epochs")
    p.add_argument("--det-iters", type=int, default=300, help="Faster R-CNN training iterations")
    p.add_argument("--num-classes", type=int, default=10)
    p.add_argument("--train-per-class", type=int, default=200)
    p.add_argument("--val-per-class", type=int, default=50)
    p.add_argument("--cls-size", type=int, default=64)
    p.add_argument("--voc-train", type=int, default=200, help="generated VOC trainval images per year")
    p.add_argument("--voc-test", type=int, default=100)
    p.add_argument("--with-cutmix", action="store_true", help="also pretrain and detect with --cutmix")
    p.add_argument("--cls-data", default=None, help="real classification data (timm folder layout) instead")
    p.add_argument("--voc-root", default=None, help="real VOCdevkit (with VOC2007/, VOC2012/) instead")
    p.add_argument("--device", default=None, help="e.g. cuda or cpu (default: the trainer's choice)")
    p.add_argument("--gpus", type=int, default=1, help=">1: torchrun for pretraining, mmdet launcher pytorch")
    p.add_argument("--batch-size", "-b", type=int, default=None, help="pretraining batch size (default: recipe's)")
    p.add_argument("--smallest", action="store_true", help="tiny settings for a smoke test (minutes)")
    p.add_argument("--verbose", action="store_true", help="stream every line of the tools' output")
    args = p.parse_args(argv)
    check_gpus(p, args)
    for flag, value, low in (("--epochs", args.epochs, 1), ("--det-iters", args.det_iters, 1),
                             ("--num-classes", args.num_classes, 1), ("--train-per-class", args.train_per_class, 1),
                             ("--val-per-class", args.val_per_class, 1), ("--cls-size", args.cls_size, 16),
                             ("--voc-train", args.voc_train, 1), ("--voc-test", args.voc_test, 1),
                             ("--seed", args.seed, 0)):
        if value < low:
            p.error(f"{flag} must be >= {low}, got {value}")
    if args.batch_size is not None and (args.batch_size < 2 or args.batch_size % 2):
        p.error(f"--batch-size must be even and >= 2 (mixing pairs samples), got {args.batch_size}")
    if args.smallest:
        args.epochs, args.det_iters, args.num_classes = 1, 4, 3
        args.train_per_class, args.val_per_class, args.cls_size = 8, 4, 64
        args.voc_train, args.voc_test = 8, 4
        args.batch_size = args.batch_size or 8
    return args


def check_gpus(parser: argparse.ArgumentParser, args) -> None:
    """Refuse a ``--gpus`` the machine cannot give, before any stage runs.

    Clear error rather than a CPU fallback: ``--gpus N`` asks for N GPU processes (torchrun, mmdet's
    pytorch launcher); quietly training on one CPU instead would take far longer than asked and give
    other numbers.

    Raises:
        SystemExit: through ``parser.error``: ``--gpus`` below 1, more GPUs than the machine has, or
            ``--gpus N`` with ``--device cpu``.
    """
    if args.gpus < 1:
        parser.error(f"--gpus must be >= 1, got {args.gpus}")
    if args.gpus == 1:
        return
    if args.device and not args.device.startswith("cuda"):
        parser.error(f"--gpus {args.gpus} runs one process per GPU but --device is {args.device}; drop one of them")
    import torch
    found = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if found < args.gpus:
        parser.error(f"--gpus {args.gpus} asks for {args.gpus} GPUs but this machine has {found}; "
                     f"pass --gpus {max(found, 1)}" + (" (the demo then runs on the CPU)" if not found else ""))


def main(argv=None) -> None:
    """Run the demo (``python tools/demo.py``); its recipes come from ``--configs`` (a checkout's configs/).

    A stage that fails, an ``--out`` or ``--data`` that cannot be a folder, end the demo with a message
    (exit status 1), not a traceback.
    """
    from smix_lab.analysis.common import OutputFolderError, check_out
    args = parse_args(argv)
    missing = [path for path in [os.path.join(args.configs, "timm", name) for name in TIMM_CONFIG.values()]
               + [os.path.join(args.configs, DET_CONFIG)] if not os.path.isfile(path)]
    if missing:
        sys.exit(f"demo: error: the recipe {missing[0]} is missing; run the demo from the root of a smix checkout "
                 "or pass --configs PATH/TO/configs")
    try:
        check_out(args.out, "--out")
        check_out(args.data, "--data")
        demo = Demo(args)
    except OutputFolderError as err:
        sys.exit(f"demo: error: {err}")
    except OSError as err:  # making --out's folders: read-only, disk full
        sys.exit(f"demo: error: cannot make the folders of --out {args.out}: {err.strerror or err}; choose "
                 "another --out")
    try:
        demo.main()
    except RuntimeError as err:  # a stage's command failed: the message names it and its log
        sys.exit(f"demo: error: {err}")


if __name__ == "__main__":
    main()
