"""tools/train.py when things go wrong around the training: distributed sums, old run folders, write faults,
data that cannot be read."""
import errno
import glob
import os
import subprocess
import sys
import tarfile

import pytest
import torch

from smix_lab.data import classification as mcd
from smix_timm import checkpoint as ckpt_io
from smix_timm.train import trainer as train
from smix_timm.train.cli import build_parser

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRAIN = os.path.join(ROOT, "tools", "train.py")
FAST = ["--model", "resnet18", "--img-size", "32", "-b", "8", "-vb", "16", "--epochs", "1", "-j", "0", "--lr",
        "0.05", "--warmup-epochs", "0"]
CONFIG = {"input_size": (3, 32, 32)}


def run(args, cwd, module=None, timeout=240, preexec_fn=None):
    cmd = [sys.executable] + (["-m", module] if module else [TRAIN]) + [str(a) for a in args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, OMP_NUM_THREADS="1"), preexec_fn=preexec_fn)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("faults") / "cls")
    mcd.make_cls_data(root, seed=0, num_classes=4, train_per_class=8, val_per_class=4, size=32, log=None)
    return root


def folder_args(tmp_path, *extra):
    return build_parser().parse_args(["--data-dir", "x", "--output", str(tmp_path), "--experiment", "exp", *extra])


def last_error_line(stderr):
    return stderr.strip().splitlines()[-1]


# ------------------------------------------------------------------------------------------ distributed sums
def test_eval_shards_count_every_image_once():
    data = list(range(13))
    shards = [train.EvalShard(data, rank, 2) for rank in range(2)]
    assert sorted(x for shard in shards for x in shard) == data
    assert [len(s) for s in shards] == [7, 6]
    assert [len(train.EvalShard(data[:1], rank, 2)) for rank in range(2)] == [1, 0]


def test_torchrun_counts_each_validation_image_once(data, tmp_path):
    import shutil
    odd = tmp_path / "odd"
    shutil.copytree(data, odd)
    for path in sorted(glob.glob(str(odd / "validation" / "*" / "00000.png")))[:3]:
        os.remove(path)  # 13 validation images: timm's sampler would pad the second shard to 7
    r = run(["--standalone", "--nproc_per_node", "2", TRAIN, "--data-dir", odd, "--output", tmp_path,
             "--experiment", "ddp", *FAST, "-b", "4"], cwd=tmp_path, module="torch.distributed.run")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Test: 13 images" in r.stderr, [line for line in r.stderr.splitlines() if "Test:" in line]
    top1 = float(r.stderr.split("Test: 13 images")[1].split("Acc@1:")[1].split()[0])
    assert abs(top1 * 13 / 100 - round(top1 * 13 / 100)) < 1e-3  # k of 13 images right, not k of 14


# ------------------------------------------------------------------------------------------ old run folders
def fake_run(folder, epochs=2):
    os.makedirs(folder, exist_ok=True)
    names = ["args.yaml", "summary.csv", "last.pth.tar", "model_best.pth.tar"] + \
        [f"checkpoint-{e}.pth.tar" for e in range(epochs)]
    for name in names:
        with open(os.path.join(folder, name), "w") as f:
            f.write("old run")
    return names


def test_overwrite_output_that_cannot_move_aside_is_one_line(tmp_path, monkeypatch):
    fake_run(tmp_path / "exp")

    def refuse(src, dst):
        raise OSError(errno.EACCES, "Permission denied", src)

    monkeypatch.setattr(os, "rename", refuse)
    with pytest.raises(ckpt_io.OutputWriteError, match="0 of its 6 files were moved"):
        train.output_folder(folder_args(tmp_path, "--overwrite-output"), CONFIG, "a: 1\n")
    assert sorted(os.listdir(tmp_path / "exp")) == sorted(fake_run(tmp_path / "exp"))
    assert os.listdir(tmp_path) == ["exp"]  # no empty folder left beside it


def test_overwrite_output_moves_the_whole_old_run_aside(tmp_path, caplog):
    names = fake_run(tmp_path / "exp")
    (tmp_path / "exp" / "notes.txt").write_text("mine")
    folder, resuming = train.output_folder(folder_args(tmp_path, "--overwrite-output"), CONFIG, "a: 1\n")
    assert folder == str(tmp_path / "exp") and not resuming
    assert os.listdir(folder) == ["notes.txt"]  # nothing of the old run stays; the user's own file does
    aside = [p for p in os.listdir(tmp_path) if p.startswith("exp.replaced-")]
    assert len(aside) == 1 and sorted(os.listdir(tmp_path / aside[0])) == sorted(names)
    assert str(tmp_path / aside[0]) in caplog.text


def test_a_run_without_checkpoint_is_not_offered_for_resume(tmp_path):
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "args.yaml").write_text("a: 1\n")  # what an interrupted first epoch leaves
    with pytest.raises(train.UsageError) as err:
        train.output_folder(folder_args(tmp_path), CONFIG, "a: 1\n")
    assert "--resume" not in str(err.value) and "nothing to resume" in str(err.value)
    assert "--overwrite-output" in str(err.value)


def test_a_run_with_a_checkpoint_is_offered_for_resume(tmp_path):
    fake_run(tmp_path / "exp")
    with pytest.raises(train.UsageError, match="continue it with --resume .*last.pth.tar"):
        train.output_folder(folder_args(tmp_path), CONFIG, "a: 1\n")


# ------------------------------------------------------------------------------------------ write faults
def test_output_that_is_a_file_is_one_line(data, tmp_path):
    (tmp_path / "out").write_text("a file")
    r = run(["--data-dir", data, "--output", tmp_path / "out", "--experiment", "x", *FAST], cwd=tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    line = last_error_line(r.stderr)
    assert line.startswith("train.py: error: cannot write the run folder") and "is a file" in line
    assert (tmp_path / "out").read_text() == "a file"


def test_read_only_output_folder_is_one_line(tmp_path, monkeypatch):
    real_open = open

    def read_only(path, *args, **kwargs):
        if str(path).startswith(str(tmp_path)) and args and "w" in args[0]:
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", read_only)
    with pytest.raises(ckpt_io.OutputWriteError) as err:
        train.output_folder(folder_args(tmp_path), CONFIG, "a: 1\n")
    message = str(err.value)
    assert "\n" not in message and str(tmp_path / "exp") in message and "read-only" in message
    assert "nothing to resume" not in message and os.listdir(tmp_path / "exp") == []


def _limit_file_size():
    import resource
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))  # 1 MiB: args.yaml fits, a checkpoint not


def test_file_size_limit_while_saving_is_one_line_and_leaves_no_temporary(data, tmp_path):
    r = run(["--data-dir", data, "--output", tmp_path, "--experiment", "full", *FAST], cwd=tmp_path,
            preexec_fn=_limit_file_size)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    line = last_error_line(r.stderr)
    assert line.startswith("train.py: error: cannot write the checkpoint of epoch 0 in") and "limit" in line
    assert "no epoch was saved yet" in line
    left = set(os.listdir(tmp_path / "full"))
    assert not {n for n in left if "tmp" in n or n.endswith(".partial")} and "last.pth.tar" not in left


def test_disk_full_in_a_later_epoch_names_the_last_resumable_one(data, tmp_path, monkeypatch):
    real_save, calls = torch.save, []

    def fills_up(obj, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            with open(path, "wb") as f:
                f.write(b"PK\x03\x04 half a checkpoint")
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_save(obj, path, *args, **kwargs)

    monkeypatch.setattr(torch, "save", fills_up)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ckpt_io.OutputWriteError) as err:
        train.main(["--data-dir", data, "--output", str(tmp_path), "--experiment", "e", *FAST, "--epochs", "2"])
    message, folder = str(err.value), tmp_path / "e"
    assert "the disk is full" in message and "the last resumable epoch is 0" in message
    assert f"--resume {folder / 'last.pth.tar'} continues at epoch 1" in message
    assert not [n for n in os.listdir(folder) if "tmp" in n or n.endswith(".partial")]
    monkeypatch.setattr(torch, "save", real_save)
    assert ckpt_io.read_checkpoint(folder / "last.pth.tar")["epoch"] == 0
    with open(folder / "summary.csv") as f:
        assert len(f.read().strip().splitlines()) == 3  # header, epochs 0 and 1: no half row


# ------------------------------------------------------------------------------------------ data that cannot be read
@pytest.mark.parametrize("case", ["empty", "not_a_tar", "tar_without_images"])
def test_tar_data_that_is_not_an_image_archive(tmp_path, case):
    path = tmp_path / "data.tar"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "not_a_tar":
        path.write_bytes(b"\x1f\x8b" + bytes(600))
    else:
        (tmp_path / "readme.txt").write_text("no images")
        with tarfile.open(path, "w") as tar:
            tar.add(tmp_path / "readme.txt", arcname="readme.txt")
    with pytest.raises(train.UsageError, match="data.tar"):
        train.main(["--data-dir", str(path), "--output", str(tmp_path), *FAST])
    assert not os.path.exists(tmp_path / "output")


def test_dataset_download_without_network_is_one_line(tmp_path, monkeypatch):
    import urllib.error
    import urllib.request

    def offline(*args, **kwargs):
        raise urllib.error.URLError(OSError(errno.ENETUNREACH, "Network is unreachable"))

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.setattr(urllib.request.OpenerDirector, "open", offline)
    with pytest.raises(train.UsageError, match="could not download torch/cifar10.*--dataset-download"):
        train.main(["--data-dir", str(tmp_path / "cifar"), "--dataset", "torch/cifar10", "--dataset-download",
                    "--output", str(tmp_path), *FAST])
