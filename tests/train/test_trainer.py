"""tools/train.py end to end on a tiny generated folder (CPU): outputs, resume, DDP, errors."""
import argparse
import csv
import glob
import os
import subprocess
import sys

import pytest
import torch
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRAIN = os.path.join(ROOT, "tools", "train.py")


from smix_lab.data import classification as mcd  # noqa: E402
from smix_timm.train import trainer as train  # noqa: E402

# timm resnet18 at 32 px (stride-4 stem) is the cheapest real network; one epoch is 4 steps of 8
FAST = dict(model="resnet18", img_size=32, b=8, vb=16, epochs=1, j=0, lr=0.05, warmup_epochs=0, log_interval=1)


def opts(**kw):
    """FAST with overrides, as command-line arguments."""
    out = []
    for k, v in dict(FAST, **kw).items():
        out += ["-" + k if k in ("b", "vb", "j") else "--" + k.replace("_", "-"), str(v)]
    return out


def run(args, cwd, timeout=240, module=None):
    cmd = [sys.executable] + (["-m", module] if module else [TRAIN]) + [str(a) for a in args]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def summary_epochs(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return [int(r["epoch"]) for r in rows], rows


def load_ckpt(path):
    from timm.models._helpers import _torch_load
    return _torch_load(path, weights_only=True)  # timm's safe load must work on our checkpoints


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("train") / "cls")
    mcd.make_cls_data(root, seed=0, num_classes=4, train_per_class=8, val_per_class=4, size=32, log=None)
    return root


@pytest.fixture(scope="module")
def saliency_run(data, tmp_path_factory):
    """One epoch with --saliencymix 1.0 through the prefetcher (collate path)."""
    out = tmp_path_factory.mktemp("out")
    r = run(["--data-dir", data, "--saliencymix", "1.0", "--output", out, "--experiment", "sal"] + opts(), cwd=out)
    assert r.returncode == 0, r.stderr[-3000:]
    return out, r


def _assert_timm_outputs(exp_dir, epochs, arch="resnet18"):
    files = set(os.listdir(exp_dir))
    assert {"last.pth.tar", "model_best.pth.tar", "summary.csv", "args.yaml"} <= files
    assert {f"checkpoint-{e}.pth.tar" for e in epochs} <= files
    assert not glob.glob(os.path.join(exp_dir, "tmp*"))
    got, rows = summary_epochs(os.path.join(exp_dir, "summary.csv"))
    assert got == list(epochs)
    assert list(rows[0]) == ["epoch", "train_loss", "eval_loss", "eval_top1", "eval_top5", "lr"]
    ckpt = load_ckpt(os.path.join(exp_dir, "last.pth.tar"))
    assert {"state_dict", "optimizer", "epoch", "arch", "args", "version", "metric"} <= set(ckpt)
    assert ckpt["epoch"] == epochs[-1] and ckpt["arch"] == arch and ckpt["version"] == 2
    assert isinstance(ckpt["args"], argparse.Namespace)
    assert "conv1.weight" in ckpt["state_dict"] and not any(k.startswith("module.") for k in ckpt["state_dict"])
    with open(os.path.join(exp_dir, "args.yaml")) as f:
        assert yaml.safe_load(f)["model"] == arch
    return ckpt


def test_saliencymix_prefetcher_writes_timm_outputs(saliency_run):
    out, r = saliency_run
    ckpt = _assert_timm_outputs(os.path.join(out, "sal"), [0])
    assert ckpt["args"].saliencymix == 1.0 and ckpt["args"].num_classes == 4
    assert "Mixing with FastCollateSaliencyMix in the loader's collate" in r.stderr
    assert "images/s" in r.stderr and "LR:" in r.stderr and "Loss:" in r.stderr


def test_saliencymix_batch_path(data, tmp_path):
    r = run(["--data-dir", data, "--saliencymix", "1.0", "--no-prefetcher", "--saliency-per", "batch",
             "--output", tmp_path, "--experiment", "nopf"] + opts(), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Mixing with SaliencyMix in each batch" in r.stderr
    _assert_timm_outputs(os.path.join(tmp_path, "nopf"), [0])


def test_eval_train_scores_the_training_split_without_augmentation(data, tmp_path):
    # --eval-interval 2 over 3 epochs: scored after the 2nd and the last epoch only
    r = run(["--data-dir", data, "--cutmix", "1.0", "--eval-train", "--eval-interval", "2", "--output", tmp_path,
             "--experiment", "fit"] + opts(epochs=3), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stderr.count("Train (clean): 32 images") == 2  # 4 classes x 8 training images, per scored epoch
    assert r.stderr.count("Test: ") == 2 and "Epoch 1/3" not in r.stderr and "Epoch 2/3" in r.stderr
    _, rows = summary_epochs(os.path.join(tmp_path, "fit", "summary.csv"))
    assert list(rows[0]) == ["epoch", "train_loss", "train_clean_loss", "train_clean_top1", "train_clean_top5",
                             "eval_loss", "eval_top1", "eval_top5", "lr"]
    assert [row["epoch"] for row in rows] == ["0", "1", "2"] and float(rows[0]["train_loss"]) > 0
    assert all(rows[0][k] == "" for k in ("train_clean_top1", "eval_loss", "eval_top1", "eval_top5"))
    saved = sorted(f for f in os.listdir(os.path.join(tmp_path, "fit")) if f.startswith("checkpoint-"))
    assert saved and "checkpoint-0.pth.tar" not in saved  # checkpoints at scored epochs only
    for row in rows[1:]:
        assert 0.0 <= float(row["train_clean_top1"]) <= 100.0
        # the clean loss is a plain cross-entropy on unmixed images, not the mixed training loss
        assert float(row["train_clean_loss"]) != float(row["train_loss"])


def test_resume_continues_at_next_epoch(data, saliency_run, tmp_path):
    import shutil
    exp = str(tmp_path / "sal")
    shutil.copytree(os.path.join(saliency_run[0], "sal"), exp)
    r = run(["--data-dir", data, "--saliencymix", "1.0", "--resume", os.path.join(exp, "last.pth.tar")]
            + opts(epochs=2), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "starting at 1" in r.stderr and "Train: 0 " not in r.stderr and "Train: 1 " in r.stderr
    _assert_timm_outputs(exp, [0, 1])  # into the checkpoint's folder, summary continued without duplicates
    assert load_ckpt(os.path.join(exp, "checkpoint-0.pth.tar"))["epoch"] == 0
    assert not os.path.exists(tmp_path / "output")


def test_torchrun_two_processes_one_set_of_checkpoints(data, tmp_path):
    r = run(["--standalone", "--nproc_per_node", "2", TRAIN, "--data-dir", data, "--saliencymix", "1.0",
             "--output", tmp_path, "--experiment", "ddp"] + opts(b=4, vb=8),
            cwd=tmp_path, module="torch.distributed.run")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Training in distributed mode" in r.stderr and "total 2" in r.stderr
    assert os.listdir(tmp_path) == ["ddp"]
    ckpt = _assert_timm_outputs(os.path.join(tmp_path, "ddp"), [0])
    assert ckpt["args"].world_size == 2 and ckpt["args"].distributed
    assert len(glob.glob(os.path.join(tmp_path, "ddp", "checkpoint-*.pth.tar"))) == 1


@pytest.mark.parametrize("case", ["missing_dir", "empty_class", "num_classes", "odd_batch", "no_val", "cifar",
                                  "data_file", "half_batch_path", "in_chans", "minmax", "official_method",
                                  "erasing_before_mixing", "eval_interval", "eval_interval_plateau"])
def test_clear_errors(data, tmp_path, monkeypatch, case):
    import shutil
    monkeypatch.chdir(tmp_path)
    args = ["--data-dir", data] + opts()
    if case == "missing_dir":
        args[1] = str(tmp_path / "nope")
        expect = "does not exist"
    elif case == "empty_class":
        copy = tmp_path / "copy"
        shutil.copytree(data, copy)
        (copy / "train" / "zz_empty").mkdir()
        args[1] = str(copy)
        expect = "zz_empty holds no images"
    elif case == "num_classes":
        args += ["--num-classes", "10"]
        expect = "has 4 classes but --num-classes is 10"
    elif case == "odd_batch":
        args = ["--data-dir", data, "--saliencymix", "1"] + opts(b=7)
        expect = "even batch size"
    elif case == "no_val":
        args += ["--val-split", "test"]
        expect = 'no "test" folder'
    elif case == "cifar":
        args = ["--data-dir", str(tmp_path), "--dataset", "torch/cifar10"] + opts()
        expect = "torch/cifar10 not found"
    elif case == "data_file":
        (tmp_path / "file.txt").write_text("x")
        args[1] = str(tmp_path / "file.txt")
        expect = "is a file; pass the folder"
    elif case == "half_batch_path":
        args += ["--saliencymix", "1", "--mixup-mode", "half", "--no-prefetcher"]
        expect = "--mixup-mode half exists for the prefetcher"
    elif case == "in_chans":
        args += ["--in-chans", "1"]
        expect = "reads the images as 3-channel RGB but the model takes 1"
    elif case == "minmax":
        args += ["--cutmix-minmax", "0.001", "0.01"]
        expect = "under one pixel on 32x32 images"
    elif case == "erasing_before_mixing":
        args += ["--saliencymix", "1", "--reprob", "0.25", "--no-prefetcher"]
        expect = "--reprob with --no-prefetcher erases with noise before the batch is mixed"
    elif case == "eval_interval":
        args += ["--eval-interval", "0"]
        expect = "--eval-interval must be >= 1"
    elif case == "eval_interval_plateau":
        args += ["--eval-interval", "5", "--sched", "plateau"]
        expect = "--sched plateau steps on each epoch's validation metric"
    elif case == "official_method":
        args += ["--saliencymix", "1", "--saliency-official", "--saliency-method", "frequency_tuned"]
        expect = "official=True reproduces the official code"
    with pytest.raises(train.UsageError, match=expect):
        train.main(args)
    assert not os.path.exists(tmp_path / "output")


@pytest.mark.parametrize("case", ["truncated", "empty", "other_arch", "not_timm"])
def test_bad_resume_checkpoints_are_one_line_errors(data, saliency_run, tmp_path, case):
    good = os.path.join(saliency_run[0], "sal", "last.pth.tar")
    bad = tmp_path / "run" / "last.pth.tar"
    bad.parent.mkdir()
    extra = []
    if case == "truncated":
        with open(good, "rb") as f:
            bad.write_bytes(f.read()[:5000])
        expect = "could not be read by torch.load"
    elif case == "empty":
        bad.write_bytes(b"")
        expect = "is empty (0 bytes)"
    elif case == "other_arch":
        import shutil
        shutil.copy(good, bad)
        extra = ["--model", "resnet34"]
        expect = "holds a 'resnet18' model but this run builds 'resnet34'"
    else:
        torch.save({"weights": torch.zeros(2)}, bad)
        expect = "not a checkpoint of timm's train.py"
    r = run(["--data-dir", data, "--resume", bad] + opts() + extra, cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert r.stderr.strip().splitlines()[-1].startswith("train.py: error: --resume") and expect in r.stderr


def test_existing_run_folder_is_not_overwritten(data, saliency_run, tmp_path):
    import shutil
    exp = tmp_path / "sal"
    shutil.copytree(os.path.join(saliency_run[0], "sal"), exp)
    before = (exp / "last.pth.tar").read_bytes()
    r = run(["--data-dir", data, "--output", tmp_path, "--experiment", "sal"] + opts(), cwd=tmp_path)
    assert r.returncode == 2 and "already holds a run" in r.stderr
    assert f'--resume {exp / "last.pth.tar"}' in r.stderr and "--overwrite-output" in r.stderr
    assert (exp / "last.pth.tar").read_bytes() == before and len(summary_epochs(exp / "summary.csv")[0]) == 1
    r = run(["--data-dir", data, "--output", tmp_path, "--experiment", "sal", "--overwrite-output"] + opts(),
            cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (exp / "last.pth.tar").read_bytes() != before


def test_ctrl_c_exits_130_and_says_how_to_resume(data, tmp_path):
    import signal
    cmd = [sys.executable, TRAIN, "--data-dir", data, "--output", str(tmp_path), "--experiment", "int"] + opts(
        epochs=200)
    # A shell without job control starts background commands with SIGINT ignored, and a Python started
    # that way never turns SIGINT into KeyboardInterrupt; the child gets the default disposition back,
    # as a terminal's foreground process has it.
    proc = subprocess.Popen(cmd, cwd=tmp_path, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env=dict(os.environ, OMP_NUM_THREADS="1"),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = []
    for line in proc.stderr:  # wait until one epoch's checkpoint is written
        seen.append(line)
        if line.startswith("Epoch 1/200"):
            break
    proc.send_signal(signal.SIGINT)
    rest = proc.communicate(timeout=120)[1]
    assert proc.returncode == 130, "".join(seen[-5:]) + rest[-2000:]
    assert f'Continue with --resume {tmp_path / "int" / "last.pth.tar"}' in rest and "Traceback" not in rest


def test_cli_error_is_one_line(tmp_path):
    r = run(["--data-dir", tmp_path / "nope"] + opts(), cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("train.py: error: data dir")
