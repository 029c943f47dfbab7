"""The analysis tools' and the demo's checks before their work (issue 22: R5, R16): a missing split, images
that cannot be read, an --out that cannot be a folder, --eps nan, --gpus without GPUs."""
import os
import subprocess
import sys

import pytest
import torch
from _analysis_testlib import bright_dark_folder, bright_dark_linear, image_folder, save_checkpoint

from smix_lab.analysis import cam, common, fgsm, visualize_mix

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """A folder with train/ and validation/ (no test/) and a linear checkpoint that fits it."""
    root = tmp_path_factory.mktemp("checks")
    data = bright_dark_folder(root / "data", per_class=3, size=16)
    image_folder(root / "data", classes=("0_dark", "1_bright"), per_class=2, size=16, split="train")
    ckpt = save_checkpoint(root / "run", bright_dark_linear(), "smix_test_linear", 2, 16)
    return data, ckpt


def error_of(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    return err[-1] if err else ""


# ------------------------------------------------------------------------------------------ R5
def test_split_dir_resolves_synonyms_and_refuses_a_missing_split(case):
    data, _ = case
    assert common.split_dir(data, "validation") == os.path.join(data, "validation")
    assert common.split_dir(data, "val") == os.path.join(data, "validation")
    with pytest.raises(FileNotFoundError, match='no "test" split in .*its folders: train, validation.*--split'):
        common.split_dir(data, "test")


def test_fgsm_refuses_a_missing_split_instead_of_reading_every_split(case, tmp_path, capsys):
    data, ckpt = case
    out = tmp_path / "out"
    assert fgsm.main([ckpt, "--data-dir", data, "--split", "test", "--out", str(out), "-j", "0"]) == 2
    assert 'no "test" split' in error_of(capsys) and not out.exists()
    assert fgsm.main([ckpt, "--data-dir", data, "--split", "val", "--out", str(out), "-j", "0"]) == 0
    assert "(validation)" in (out / "fgsm.md").read_text()  # the split actually read
    assert "| 6 |" in (out / "fgsm.md").read_text()  # 6 validation images, not 6 + 4 training ones


@pytest.mark.parametrize("tool", ["cam", "visualize_mix"])
def test_picture_tools_refuse_a_missing_split(case, tmp_path, capsys, tool):
    data, ckpt = case
    args = ["--data-dir", data, "--split", "test", "--out", str(tmp_path / "out")]
    code = cam.main([ckpt, *args]) if tool == "cam" else visualize_mix.main(args)
    assert code == 2 and 'no "test" split' in error_of(capsys)


# ------------------------------------------------------------------------------------------ R16
@pytest.mark.parametrize("bad", ["not_an_image", "truncated"])
def test_cam_names_an_unreadable_image(case, tmp_path, capsys, bad):
    data, ckpt = case
    good = os.path.join(data, "validation", "0_dark", "000.png")
    path = tmp_path / "bad.png"
    if bad == "not_an_image":
        path.write_text("hello")
    else:
        with open(good, "rb") as f:
            path.write_bytes(f.read()[:120])
    assert cam.main([ckpt, "--images", good, str(path), "--out", str(tmp_path / "out")]) == 2
    line = error_of(capsys)
    assert str(path) in line and "cannot be read as an image" in line
    assert visualize_mix.main(["--images", good, str(path), "--out", str(tmp_path / "out")]) == 2
    assert str(path) in error_of(capsys)


def test_out_that_is_a_file_is_refused_before_the_work(case, tmp_path, capsys):
    data, ckpt = case
    out = tmp_path / "out.png"
    out.write_text("a file")
    good = os.path.join(data, "validation", "0_dark", "000.png")
    assert cam.main([ckpt, "--images", good, "--out", str(out)]) == 2
    assert "--out" in error_of(capsys) and out.read_text() == "a file"
    assert fgsm.main([ckpt, "--data-dir", data, "--out", str(out / "sub"), "-j", "0"]) == 2
    assert "which is a file" in error_of(capsys)
    assert visualize_mix.main(["--data-dir", data, "--out", str(out)]) == 2
    assert "is a file" in error_of(capsys)


def test_unwritable_out_is_one_line(case, tmp_path, capsys, monkeypatch):
    import errno
    data, ckpt = case

    def read_only(path, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", path)

    monkeypatch.setattr(os, "makedirs", read_only)
    assert fgsm.main([ckpt, "--data-dir", data, "--out", str(tmp_path / "out"), "-j", "0"]) == 2
    assert "cannot write to --out" in error_of(capsys)


def test_fgsm_refuses_eps_that_is_not_a_finite_number(case, capsys):
    data, ckpt = case
    for eps in ("nan", "inf"):
        with pytest.raises(SystemExit):
            fgsm.main([ckpt, "--data-dir", data, "--eps", "1", eps])
        assert "--eps values must be finite" in capsys.readouterr().err


def test_demo_refuses_gpus_the_machine_does_not_have(monkeypatch, capsys):
    from smix_lab.demo import runner
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    with pytest.raises(SystemExit):
        runner.parse_args(["--gpus", "2"])
    assert "--gpus 2 asks for 2 GPUs but this machine has 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        runner.parse_args(["--gpus", "0"])
    assert runner.parse_args(["--gpus", "1"]).gpus == 1


def test_demo_out_that_is_a_file_is_one_line(tmp_path):
    out = tmp_path / "results"
    out.write_text("a file")
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "demo.py"), "--out", str(out), "--data",
                           str(tmp_path / "data")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1].startswith("demo: error: --out") and out.read_text() == "a file"
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("tool, args", [("fgsm", ["--max-images", "0"]), ("fgsm", ["--img-size", "0"]),
                                        ("cam", ["--img-size", "-1"])])
def test_sizes_below_one_are_refused_by_the_parser(case, tool, args):
    data, ckpt = case
    with pytest.raises(SystemExit):
        (fgsm if tool == "fgsm" else cam).main([ckpt, "--data-dir", data, *args])


@pytest.mark.parametrize("args", [["--epochs", "0"], ["--det-iters", "-1"], ["--seed", "-1"], ["-b", "7"]])
def test_demo_checks_its_numbers_before_any_stage(args, capsys):
    from smix_lab.demo import runner
    with pytest.raises(SystemExit):
        runner.parse_args(args)
    assert "must be" in capsys.readouterr().err
