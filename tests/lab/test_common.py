"""smix_lab.analysis.common: the checks every analysis tool (cam, fgsm, visualize_mix) runs before its work: a
missing split, images that cannot be read, an --out that cannot be a folder or cannot be written, and sizes
below one."""
import os

import pytest

from smix_lab.analysis import cam, common, fgsm, visualize_mix
from tests._analysis_testlib import error_of


# ------------------------------------------------------------------------------------------ a missing split
def test_split_dir_resolves_synonyms_and_refuses_a_missing_split(case):
    data, _ = case
    assert common.split_dir(data, "validation") == os.path.join(data, "validation")
    assert common.split_dir(data, "val") == os.path.join(data, "validation")
    with pytest.raises(FileNotFoundError, match='no "test" split in .*its folders: train, validation.*--split'):
        common.split_dir(data, "test")


@pytest.mark.parametrize("tool", ["cam", "visualize_mix"])
def test_picture_tools_refuse_a_missing_split(case, tmp_path, capsys, tool):
    data, ckpt = case
    args = ["--data-dir", data, "--split", "test", "--out", str(tmp_path / "out")]
    code = cam.main([ckpt, *args]) if tool == "cam" else visualize_mix.main(args)
    assert code == 2 and 'no "test" split' in error_of(capsys)


# ------------------------------------------------------------------------------------------ unreadable input, --out
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


@pytest.mark.parametrize("tool, args", [("fgsm", ["--max-images", "0"]), ("fgsm", ["--img-size", "0"]),
                                        ("cam", ["--img-size", "-1"])])
def test_sizes_below_one_are_refused_by_the_parser(case, tool, args):
    data, ckpt = case
    with pytest.raises(SystemExit):
        (fgsm if tool == "fgsm" else cam).main([ckpt, "--data-dir", data, *args])
