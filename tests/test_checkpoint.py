"""checkpoint.py: timm checkpoints read back into models (EMA or plain weights, wrapper prefixes, clear errors
for what is not a timm checkpoint), refusals that say what torch refused, an allow-list left as found, and
the guard around a run folder's writes."""
import argparse
import errno
import pickle

import pytest
import torch

from smix_timm import checkpoint as ckpt_io
from smix_timm.checkpoint import CheckpointError, load_timm_checkpoint, read_checkpoint
from tests._analysis_testlib import resnet_checkpoint


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    # 64 px: resnet18's last feature map is 2x2 (at 32 px it is 1x1 and CAM is refused)
    return resnet_checkpoint(tmp_path_factory.mktemp("r18") / "run", num_classes=3, img_size=64)


# ------------------------------------------------------------------ checkpoint loading
def test_load_timm_checkpoint_ema_and_plain(ckpt, empty_allowlist):
    assert "argparse.Namespace" in torch.serialization.get_unsafe_globals_in_checkpoint(ckpt)
    model, info = load_timm_checkpoint(ckpt)
    raw = read_checkpoint(ckpt)
    assert isinstance(raw["args"], argparse.Namespace)
    assert (info.arch, info.num_classes, info.weights, info.epoch) == ("resnet18", 3, "state_dict_ema", 0)
    assert not model.training
    assert info.data_config["input_size"] == (3, 64, 64) and info.data_config["crop_pct"] == 1.0
    torch.testing.assert_close(model.fc.bias, raw["state_dict_ema"]["fc.bias"])
    plain, info2 = load_timm_checkpoint(ckpt, use_ema=False)
    assert info2.weights == "state_dict"
    torch.testing.assert_close(plain.fc.bias, raw["state_dict"]["fc.bias"])
    assert not torch.equal(plain.fc.bias, model.fc.bias)


def test_checkpoint_errors(tmp_path, ckpt):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_timm_checkpoint(tmp_path / "missing.pth.tar")
    with pytest.raises(CheckpointError, match="directory"):
        load_timm_checkpoint(tmp_path)
    junk = tmp_path / "junk.pth.tar"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="could not be read"):
        load_timm_checkpoint(junk)
    truncated = tmp_path / "truncated.pth.tar"
    truncated.write_bytes(open(ckpt, "rb").read()[:5000])
    with pytest.raises(CheckpointError, match="could not be read"):
        load_timm_checkpoint(truncated)
    other = tmp_path / "other.pth.tar"
    torch.save({"weights": [1, 2, 3], "epoch": 1}, other)
    with pytest.raises(CheckpointError, match="not a timm checkpoint"):
        load_timm_checkpoint(other)
    raw = read_checkpoint(ckpt)
    unknown = tmp_path / "unknown.pth.tar"
    torch.save(dict(raw, arch="no_such_net", args=argparse.Namespace(model="no_such_net")), unknown)
    with pytest.raises(CheckpointError, match="unknown architecture 'no_such_net'"):
        load_timm_checkpoint(unknown)
    wrong = tmp_path / "wrong.pth.tar"
    torch.save(dict(raw, arch="resnet34", args=argparse.Namespace(model="resnet34")), wrong)
    with pytest.raises(CheckpointError, match="do not fit"):
        load_timm_checkpoint(wrong)
    # weights_only stays on: a pickled class other than argparse.Namespace is refused
    unsafe = tmp_path / "unsafe.pth.tar"
    torch.save(dict(raw, args=argparse.ArgumentTypeError("x")), unsafe)
    with pytest.raises(CheckpointError, match="weights_only"):
        load_timm_checkpoint(unsafe)
    bare = tmp_path / "bare.pth"
    torch.save(raw["state_dict"], bare)
    with pytest.raises(CheckpointError, match="names no architecture"):
        load_timm_checkpoint(bare)
    model, info = load_timm_checkpoint(bare, arch="resnet18")
    assert info.weights == "bare state dict" and info.num_classes == 3


def test_module_prefix_is_stripped(tmp_path, ckpt):
    raw = read_checkpoint(ckpt)
    wrapped = dict(raw, state_dict={f"module.{k}": v for k, v in raw["state_dict"].items()})
    del wrapped["state_dict_ema"]
    path = tmp_path / "ddp.pth.tar"
    torch.save(wrapped, path)
    _, info = load_timm_checkpoint(path)
    assert info.weights == "state_dict"


def test_reading_keeps_a_process_wide_allowlist(ckpt):
    """torch's safe_globals() context removes its globals on exit; reading a checkpoint must not take
    argparse.Namespace away from an allow-list that someone else (smix_mmdet, the user) set up."""
    torch.serialization.add_safe_globals([argparse.Namespace])
    read_checkpoint(ckpt)
    assert argparse.Namespace in torch.serialization.get_safe_globals()


# ------------------------------------------------------------------ refused loads say why
class _RunsCode:
    def __reduce__(self):
        import os
        return (os.system, ("echo should-never-run",))


@pytest.mark.parametrize("reader", ["smix_timm", "smix_mmdet"])
def test_refused_checkpoints_say_what_torch_refused(tmp_path, reader):
    if reader == "smix_mmdet":
        safe_load = pytest.importorskip("smix_mmdet.safe_load")
        read = safe_load.load_checkpoint_file
    else:
        read = read_checkpoint
    evil, raw, empty = tmp_path / "evil.pth", tmp_path / "raw.pkl", tmp_path / "empty.pth"
    torch.save({"state_dict": {}, "x": _RunsCode()}, evil)
    with open(raw, "wb") as f:
        pickle.dump({"state_dict": {}}, f, protocol=4)
    empty.write_bytes(b"")
    with pytest.raises(Exception, match=r"it pickles posix\.system, which loading would call \(it can run code\)"):
        read(evil)
    with pytest.raises(Exception, match=r"another format \(e\.g\. a plain pickle; torch: Unsupported operand"):
        read(raw)
    with pytest.raises(Exception, match=r"is empty \(0 bytes\)"):
        read(empty)


# ------------------------------------------------------------------ the run folder's write guard
def test_failed_summary_append_is_cut_back(tmp_path):
    path = tmp_path / "summary.csv"
    path.write_text("epoch,loss\n0,1.0\n")
    with pytest.raises(ckpt_io.OutputWriteError, match="disk is full"):
        with ckpt_io.run_folder_writes(str(tmp_path), "summary.csv", appending=[str(path)]):
            with open(path, "a") as f:
                f.write("1,0.")
                f.flush()
                raise OSError(errno.ENOSPC, "No space left on device")
    assert path.read_text() == "epoch,loss\n0,1.0\n"


def test_other_errors_pass_through_the_write_guard(tmp_path):
    with pytest.raises(KeyError):
        with ckpt_io.run_folder_writes(str(tmp_path), "x"):
            raise KeyError("not a write fault")
