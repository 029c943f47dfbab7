#!/usr/bin/env python3
"""Check the launcher (``python -m smix_timm.timm_train``) on real timm ``train.py`` releases.

For each git ref of a local pytorch-image-models clone, the ref's ``train.py`` is written to the
output folder (never into this repository) and trained for one CPU epoch on a tiny generated image
folder, three ways: ``--saliencymix 1.0`` with the prefetcher, the same with ``--no-prefetcher``,
and ``--cutmix 1.0`` without SaliencyMix. A run passes when it exits 0, writes timm's checkpoints,
and the mixing object is ours exactly when ``--saliencymix`` is given (args.yaml records it).

    python tools/benchmarks/check_timm_launcher.py --timm-repo ~/src/pytorch-image-models \\
        --refs v1.0.3 v1.0.9 v1.0.16 v1.0.28 HEAD --out results/launcher_check
"""
import argparse
import os
import subprocess
import sys
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMON = ["--model", "resnet18", "--img-size", "32", "-b", "8", "--epochs", "1", "-j", "0", "--lr", "0.05",
          "--warmup-epochs", "0", "--device", "cpu", "--mean", "0.4", "0.5", "0.6"]
WAYS = {  # name -> (extra flags, whether a SaliencyMix object must be built)
    "saliencymix, prefetcher": (["--saliencymix", "1.0", "--saliency-method", "frequency_tuned"], True),
    "saliencymix, --no-prefetcher": (["--saliencymix", "1.0", "--no-prefetcher"], True),
    "cutmix only": (["--cutmix", "1.0"], False),
}


def export_script(repo: str, ref: str, out: str) -> str:
    text = subprocess.run(["git", "-C", repo, "show", f"{ref}:train.py"], check=True, capture_output=True,
                          text=True).stdout
    path = os.path.join(out, "scripts", f"train_{ref.replace('/', '_')}.py")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def train(launcher: bool, script: str, data: str, out: str, extra):
    """(exit status, output, one-line reason) of one run, through the launcher or of the script alone."""
    cmd = [sys.executable, *(["-m", "smix_timm.train.launcher"] if launcher else []), script, "--data-dir", data,
           "--output", out, "--experiment", "run", *COMMON, *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    text = proc.stdout + proc.stderr
    last = [line for line in text.strip().splitlines() if line.strip()][-1:]
    return proc.returncode, text, (last[0][:100] if last else "")


def check_once(script: str, data: str, out: str, extra, want_ours: bool) -> str:
    """Run the launcher once; 'ok', 'n/a: ...' when the script fails alone the same way, or the failure."""
    status, text, reason = train(True, script, data, out, extra)
    if status != 0:
        timm_only = ["--cutmix", "1.0"] + [e for e in extra if e == "--no-prefetcher"]
        if train(False, script, data, out + "-alone", timm_only)[0] != 0:
            return f"n/a: fails without the launcher too ({reason})"
        return f"FAIL exit {status}: {reason}"
    run_dir = os.path.join(out, "run")
    if not {"last.pth.tar", "checkpoint-0.pth.tar", "args.yaml"} <= set(os.listdir(run_dir)):
        return "FAIL: missing checkpoints"
    built_ours = "smix: Mixing with" in text
    if built_ours != want_ours:
        return f"FAIL: SaliencyMix object {'missing' if want_ours else 'built without --saliencymix'}"
    with open(os.path.join(run_dir, "args.yaml")) as f:
        recorded = yaml.safe_load(f)
    if recorded.get("saliencymix") != (1.0 if want_ours else 0.0):
        return "FAIL: args.yaml does not record --saliencymix"
    return "ok"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timm-repo", required=True, help="a git clone of huggingface/pytorch-image-models")
    parser.add_argument("--refs", nargs="+", default=["HEAD"], help="tags or commits whose train.py to check")
    parser.add_argument("--out", default="results/launcher_check", help="scripts, data and runs go here")
    args = parser.parse_args(argv)
    from smix_lab.data.classification import make_cls_data
    data = os.path.join(args.out, "data")
    make_cls_data(data, seed=0, num_classes=4, train_per_class=8, val_per_class=4, size=32, reuse=True, log=None)
    import timm
    print(f"timm {timm.__version__} installed; {sys.executable}", flush=True)
    rows, failures = [], 0
    total, start = len(args.refs) * len(WAYS), time.time()
    for ref in args.refs:
        script = export_script(args.timm_repo, ref, args.out)
        cells = []
        for k, (way, (extra, want_ours)) in enumerate(WAYS.items()):
            run_out = os.path.join(args.out, "runs", ref.replace("/", "_"), str(k))
            result = check_once(script, data, run_out, extra, want_ours)
            failures += not result.startswith(("ok", "n/a"))
            cells.append(result)
            done = len(rows) * len(WAYS) + k + 1
            eta = (time.time() - start) / done * (total - done)
            print(f"[{done}/{total}] {ref}, {way}: {result} (about {eta:.0f}s left)", flush=True)
        rows.append(f"| {ref} | " + " | ".join(cells) + " |")
    print("\n| timm train.py | " + " | ".join(WAYS) + " |\n|---|" + "---|" * len(WAYS))
    print("\n".join(rows))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
