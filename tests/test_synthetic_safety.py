"""The data generators never delete or replace a file they did not write or that changed, and check every
argument before writing anything (issue 22: R9, R15)."""
import json
import os
import subprocess
import sys

import pytest

from smix_lab.data import classification as mcd
from smix_lab.data import ledger as ledger_mod
from smix_lab.data import voc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL_VOC = dict(num_train=2, num_test=1, size=(64, 64), progress=False)
SMALL_CLS = dict(num_classes=2, train_per_class=2, val_per_class=1, size=16, log=None)


def tool(name, *args):
    script = os.path.join(ROOT, "tools", "data", name)
    return subprocess.run([sys.executable, script, *map(str, args)], capture_output=True, text=True, timeout=300)


def snapshot(root):
    return {os.path.relpath(os.path.join(d, n), root): open(os.path.join(d, n), "rb").read()
            for d, _, names in os.walk(root) for n in names}


# ------------------------------------------------------------------------------------------ R9 (VOC)
def test_voc_rerun_keeps_a_users_image_with_a_colliding_id(tmp_path):
    out = tmp_path / "VOCdevkit"
    voc.generate(str(out), **SMALL_VOC)
    mine = out / "VOC2007" / "JPEGImages" / "000001.jpg"
    mine.write_bytes(b"my own photograph")
    before = snapshot(out)
    with pytest.raises(FileExistsError, match="VOC2007/JPEGImages/000001.jpg"):
        voc.generate(str(out), seed=1, **SMALL_VOC)
    assert snapshot(out) == before  # nothing deleted, no list overwritten


def test_voc_rerun_keeps_an_edited_list(tmp_path):
    out = tmp_path / "VOCdevkit"
    voc.generate(str(out), **SMALL_VOC)
    lst = out / "VOC2007" / "ImageSets" / "Main" / "trainval.txt"
    lst.write_text("000001\n")
    with pytest.raises(FileExistsError, match="changed since"):
        voc.generate(str(out), seed=1, **SMALL_VOC)
    assert lst.read_text() == "000001\n"


def test_voc_rerun_replaces_its_own_unchanged_files(tmp_path):
    out = tmp_path / "VOCdevkit"
    voc.generate(str(out), num_train=3, num_test=2, size=(64, 64), progress=False)
    (out / "VOC2007" / "JPEGImages" / "user.jpg").write_bytes(b"x")
    voc.generate(str(out), seed=2, **SMALL_VOC)
    assert sorted(os.listdir(out / "VOC2007" / "JPEGImages")) == ["000001.jpg", "000002.jpg", "000003.jpg",
                                                                   "user.jpg"]
    fresh = tmp_path / "fresh"
    voc.generate(str(fresh), seed=2, **SMALL_VOC)
    assert (out / "VOC2007/JPEGImages/000001.jpg").read_bytes() == \
        (fresh / "VOC2007/JPEGImages/000001.jpg").read_bytes()


def test_voc_force_never_replaces_a_file_that_is_there(tmp_path):
    real = tmp_path / "VOCdevkit"
    (real / "VOC2007" / "JPEGImages").mkdir(parents=True)
    (real / "VOC2007" / "JPEGImages" / "000001.jpg").write_bytes(b"real VOC image")
    with pytest.raises(FileExistsError, match="000001.jpg"):
        voc.generate(str(real), force=True, **SMALL_VOC)
    assert (real / "VOC2007" / "JPEGImages" / "000001.jpg").read_bytes() == b"real VOC image"


def test_voc_interrupted_run_is_cleaned_up_on_the_next(tmp_path, monkeypatch):
    out = tmp_path / "VOCdevkit"
    real_draw, calls = voc.draw_image, []

    def stops(*args):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_draw(*args)

    monkeypatch.setattr(voc, "draw_image", stops)
    with pytest.raises(KeyboardInterrupt):
        voc.generate(str(out), **SMALL_VOC)
    monkeypatch.setattr(voc, "draw_image", real_draw)
    voc.generate(str(out), **SMALL_VOC)
    names = [n for _, _, files in os.walk(out) for n in files]
    assert not [n for n in names if n.endswith(ledger_mod.TEMP_SUFFIX)]
    assert len(voc.read_ledger(str(out / voc.LEDGER))) == len(voc._generated_files(
        dict(num_train=2, num_test=1)))


# ------------------------------------------------------------------------------------------ R15 (VOC)
@pytest.mark.parametrize("args, expect", [
    (["--seed", "-1"], "--seed must be an integer >= 0"),
    (["--size", "100000"], "sides from 64 to 4096"),
    (["--num-train", "999999"], "at most 999999"),
])
def test_voc_cli_checks_arguments_before_writing(tmp_path, args, expect):
    out = tmp_path / "v"
    r = tool("make_voc_data.py", "--out", out, "--num-train", "2", "--num-test", "1", "--size", "64", *args)
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert expect in r.stderr.strip().splitlines()[-1]
    assert not out.exists()


def test_voc_damaged_marker_is_one_line_and_deletes_nothing(tmp_path):
    out = tmp_path / "v"
    voc.generate(str(out), **SMALL_VOC)
    (out / voc.MARKER).write_text("{not json")
    before = snapshot(out)
    r = tool("make_voc_data.py", "--out", out, "--num-train", "2", "--num-test", "1", "--size", "64")
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert "cannot be read" in r.stderr.strip().splitlines()[-1]
    assert snapshot(out) == before


# ------------------------------------------------------------------------------------------ R9, R15 (cls)
def test_cls_rerun_keeps_an_edited_image(tmp_path):
    root = tmp_path / "cls"
    mcd.make_cls_data(str(root), **SMALL_CLS)
    image = root / "train" / mcd.class_name(0) / "00000.png"
    image.write_bytes(b"my edit")
    with pytest.raises(FileExistsError, match="changed since .*00000.png"):
        mcd.make_cls_data(str(root), seed=1, **SMALL_CLS)
    assert image.read_bytes() == b"my edit"


@pytest.mark.parametrize("kwargs, expect", [
    (dict(seed=-1), "seed must be an integer >= 0"),
    (dict(size=10 ** 6), "size must be from 16 to 2048"),
])
def test_cls_checks_arguments_before_writing(tmp_path, kwargs, expect):
    out = tmp_path / "cls"
    with pytest.raises(ValueError, match=expect):
        mcd.make_cls_data(str(out), **dict(SMALL_CLS, **kwargs))
    assert not out.exists()
    r = tool("make_cls_data.py", "--out", out, *[f"--{k}={v}" for k, v in kwargs.items()])
    assert r.returncode != 0 and "Traceback" not in r.stderr and expect in r.stderr
    assert not out.exists()


@pytest.mark.parametrize("reuse", [False, True])
def test_cls_damaged_marker_is_one_line(tmp_path, reuse):
    root = tmp_path / "cls"
    mcd.make_cls_data(str(root), **SMALL_CLS)
    (root / mcd.MARKER).write_text("{not json")
    before = snapshot(root)
    with pytest.raises(FileExistsError, match="cannot be read"):
        mcd.make_cls_data(str(root), reuse=reuse, **SMALL_CLS)
    assert snapshot(root) == before
    r = tool("make_cls_data.py", "--out", root, "--num-classes", "2", "--train-per-class", "2", "--val-per-class",
             "1", "--size", "16", *(["--reuse"] if reuse else []))
    assert r.returncode != 0 and "Traceback" not in r.stderr and "cannot be read" in r.stderr


def test_ledger_records_what_was_written(tmp_path):
    book = ledger_mod.Ledger(str(tmp_path), "files")
    (tmp_path / "a").mkdir()
    book.write("a/x.txt", b"hello")
    book.close()
    entries = ledger_mod.read_ledger(str(tmp_path / "files"))
    assert list(entries) == ["a/x.txt"] and entries["a/x.txt"][1] == 5
    assert ledger_mod.foreign_or_changed(str(tmp_path), ["a/x.txt"], entries) == []
    (tmp_path / "a" / "x.txt").write_bytes(b"HELLO")
    assert ledger_mod.foreign_or_changed(str(tmp_path), ["a/x.txt"], entries) == ["a/x.txt"]
    json.dumps(entries)  # plain values


def test_voc_folder_of_the_earlier_version_is_checked_by_redrawing(tmp_path):
    out = tmp_path / "VOCdevkit"
    voc.generate(str(out), **SMALL_VOC)
    os.remove(out / voc.LEDGER)  # what version 1 left: a marker, no ledger
    marker = json.loads((out / voc.MARKER).read_text())
    (out / voc.MARKER).write_text(json.dumps(dict(marker, version=1)))
    mine = out / "VOC2007" / "Annotations" / "000002.xml"
    mine.write_text("<annotation>mine</annotation>")
    with pytest.raises(FileExistsError, match="000002.xml"):
        voc.generate(str(out), seed=5, **SMALL_VOC)
    assert mine.read_text() == "<annotation>mine</annotation>"
    mine.unlink()
    voc.generate(str(out), seed=5, **SMALL_VOC)  # every other file is recognised as the earlier set's
    assert (out / voc.LEDGER).is_file()


def test_cls_folder_of_the_earlier_version_is_checked_by_redrawing(tmp_path):
    root = tmp_path / "cls"
    mcd.make_cls_data(str(root), **SMALL_CLS)
    os.remove(root / mcd.LEDGER)  # what the earlier version left: a marker, no ledger
    mask = root / "masks" / "validation" / mcd.class_name(1) / "00000.png"
    mask.write_bytes(b"edited")
    with pytest.raises(FileExistsError, match="changed since .*00000.png"):
        mcd.make_cls_data(str(root), seed=4, **SMALL_CLS)
    assert mask.read_bytes() == b"edited"
    mask.unlink()
    mcd.make_cls_data(str(root), seed=4, **SMALL_CLS)
    assert (root / mcd.LEDGER).is_file() and mask.is_file()
