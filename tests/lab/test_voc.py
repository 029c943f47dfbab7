"""smix_lab.data.voc (tools/data/make_voc_data.py): deterministic, VOC layout, read by mmdet as is; it never
deletes or replaces a file it did not write or that changed, and checks every argument before writing."""
import filecmp
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from smix_lab.data import ledger as ledger_mod
from smix_lab.data import voc as make_voc_data

REPO = Path(__file__).resolve().parents[2]
SMALL_VOC = dict(num_train=2, num_test=1, size=(64, 64), progress=False)
needs_mmdet = pytest.mark.skipif(bool(os.environ.get("SMIX_NO_DET")),
                                 reason="detection side not installed (SMIX_NO_DET set)")


def run_tool(args, cwd):
    """Run ``python tools/...`` in a subprocess; return CompletedProcess."""
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "2")
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def tool(name, *args):
    script = str(REPO / "tools" / "data" / name)
    return subprocess.run([sys.executable, script, *map(str, args)], capture_output=True, text=True, timeout=300)


def snapshot(root):
    return {os.path.relpath(os.path.join(d, n), root): open(os.path.join(d, n), "rb").read()
            for d, _, names in os.walk(root) for n in names}

VOC_CLASSES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car",
               "cat", "chair", "cow", "diningtable", "dog", "horse",
               "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
               "tvmonitor")


@pytest.fixture(scope="module")
def voc(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen") / "VOCdevkit"
    make_voc_data.generate(str(out), seed=3, num_train=12, num_test=6,
                           size=(160, 120), progress=False)
    return out


def test_layout(voc):
    for year, splits in (("VOC2007", ("trainval", "test", "train", "val")),
                         ("VOC2012", ("trainval", "train", "val"))):
        main = voc / year / "ImageSets" / "Main"
        for split in splits:
            ids = (main / f"{split}.txt").read_text().split()
            assert ids, (year, split)
            for i in ids:
                assert (voc / year / "JPEGImages" / f"{i}.jpg").is_file()
                assert (voc / year / "Annotations" / f"{i}.xml").is_file()
            assert (main / f"dog_{split}.txt").is_file()
    t07 = (voc / "VOC2007/ImageSets/Main/trainval.txt").read_text().split()
    te07 = (voc / "VOC2007/ImageSets/Main/test.txt").read_text().split()
    assert len(t07) == 12 and len(te07) == 6 and not set(t07) & set(te07)
    assert (voc / make_voc_data.MARKER).is_file()
    assert make_voc_data.VOC_CLASSES == VOC_CLASSES
    looks = {(s, t) for s, t, _ in make_voc_data.CLASS_LOOKS.values()}
    assert len(looks) == 20  # each class its own shape x texture


def test_deterministic(voc, tmp_path):
    again = tmp_path / "again"
    make_voc_data.generate(str(again), seed=3, num_train=12, num_test=6,
                           size=(160, 120), progress=False)
    cmp = filecmp.dircmp(str(voc / "VOC2007" / "JPEGImages"),
                         str(again / "VOC2007" / "JPEGImages"))
    assert cmp.left_list == cmp.right_list
    for sub in ("JPEGImages", "Annotations"):
        for year in ("VOC2007", "VOC2012"):
            for name in os.listdir(voc / year / sub):
                a = (voc / year / sub / name).read_bytes()
                assert a == (again / year / sub / name).read_bytes(), name
    other = tmp_path / "other"
    make_voc_data.generate(str(other), seed=4, num_train=2, num_test=1,
                           size=(160, 120), progress=False)
    assert (other / "VOC2007/JPEGImages/000001.jpg").read_bytes() != \
        (voc / "VOC2007/JPEGImages/000001.jpg").read_bytes()


def _dataset(voc, year, split, test_mode=False):
    from mmdet.datasets import VOCDataset
    return VOCDataset(
        data_root=str(voc), ann_file=f"{year}/ImageSets/Main/{split}.txt",
        data_prefix=dict(sub_data_root=f"{year}/"), pipeline=[],
        test_mode=test_mode)


@needs_mmdet
def test_mmdet_voc_dataset_reads_it(voc):
    n_objects, classes = 0, set()
    for year, split in (("VOC2007", "trainval"), ("VOC2007", "test"),
                        ("VOC2012", "trainval")):
        ds = _dataset(voc, year, split, test_mode=(split == "test"))
        assert ds.metainfo["dataset_type"] == year
        assert len(ds) == (6 if split == "test" else 12)
        for i in range(len(ds)):
            info = ds.get_data_info(i)
            img = Image.open(info["img_path"])
            assert img.size == (160, 120) == (info["width"], info["height"])
            labels = {inst["bbox_label"] for inst in info["instances"]}
            assert 2 <= len(info["instances"]) <= 4
            assert len(labels) >= 2  # several classes per image
            for inst in info["instances"]:
                x0, y0, x1, y1 = inst["bbox"]
                assert 0 <= x0 < x1 < 160 and 0 <= y0 < y1 < 120
                assert inst["ignore_flag"] == 0
                classes.add(inst["bbox_label"])
            n_objects += len(info["instances"])
    assert n_objects >= 60 and len(classes) >= 15


@needs_mmdet
def test_boxes_are_tight(voc):
    """mmdet's box (XML - 1) bounds the object's pixels: its edges differ
    from the background just inside and match it just outside."""
    ds = _dataset(voc, "VOC2007", "trainval")
    info = ds.get_data_info(0)
    rng = np.random.default_rng([3, 0, 0])
    _, objects = make_voc_data.draw_image(rng, 160, 120)
    boxes = sorted(tuple(inst["bbox"]) for inst in info["instances"])
    expected = sorted((x0, y0, x1 - 1, y1 - 1) for _, (x0, y0, x1, y1)
                      in objects)
    assert boxes == expected


@needs_mmdet
def test_voc_metric_scores_ground_truth_as_perfect(voc):
    """mmdet's test pipeline + VOCMetric on predictions equal to the ground
    truth give mAP 1.0 (and shifted boxes much less)."""
    import torch
    from mmdet.datasets import VOCDataset
    from mmdet.evaluation import VOCMetric
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    ds = VOCDataset(
        data_root=str(voc), ann_file="VOC2007/ImageSets/Main/test.txt",
        data_prefix=dict(sub_data_root="VOC2007/"), test_mode=True,
        pipeline=[dict(type="LoadImageFromFile"),
                  dict(type="LoadAnnotations", with_bbox=True),
                  dict(type="PackDetInputs")])
    for shift, expected in ((0, 1.0), (25, None)):
        metric = VOCMetric(metric="mAP", eval_mode="11points")
        metric.dataset_meta = ds.metainfo
        for i in range(len(ds)):
            sample = ds[i]["data_samples"]
            gt = sample.gt_instances
            sample.pred_instances = gt.new(
                bboxes=gt.bboxes.tensor + shift,
                scores=torch.ones(len(gt)), labels=gt.labels)
            metric.process({}, [sample.to_dict()])
        result = metric.evaluate(len(ds))
        if expected is not None:
            assert result["pascal_voc/mAP"] == pytest.approx(expected)
        else:
            assert result["pascal_voc/mAP"] < 0.5


def test_refuses_foreign_folder(tmp_path):
    real = tmp_path / "VOCdevkit"
    (real / "VOC2007").mkdir(parents=True)
    (real / "VOC2007" / "precious.txt").write_text("mine")
    args = ["tools/data/make_voc_data.py", "--out", str(real), "--num-train", "2",
            "--num-test", "1", "--size", "96"]
    out = run_tool(args, cwd=REPO)
    assert out.returncode != 0
    assert "not generated by this tool" in out.stderr and "--force" in \
        out.stderr
    assert not (real / "VOC2007" / "JPEGImages").exists()
    out = run_tool(args + ["--force"], cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert (real / "VOC2007" / "precious.txt").read_text() == "mine"
    assert "[make_voc_data] VOC2007 trainval: 2/2 images" in out.stdout
    # a forced folder is not marked as ours: the next run refuses again
    assert not (real / make_voc_data.MARKER).exists()
    assert run_tool(args, cwd=REPO).returncode != 0


def test_regenerates_own_folder_only(tmp_path):
    out = tmp_path / "VOCdevkit"
    make_voc_data.generate(str(out), num_train=4, num_test=2, size=(96, 96),
                           progress=False)
    (out / "VOC2007" / "JPEGImages" / "user.jpg").write_bytes(b"x")
    make_voc_data.generate(str(out), num_train=2, num_test=1, size=(120, 120),
                           progress=False)
    jpgs = sorted(os.listdir(out / "VOC2007" / "JPEGImages"))
    assert jpgs == ["000001.jpg", "000002.jpg", "000003.jpg", "user.jpg"]
    assert Image.open(out / "VOC2007/JPEGImages/000001.jpg").size == \
        (120, 120)
    assert sorted(os.listdir(out / "VOC2012" / "JPEGImages")) == \
        ["2012_000001.jpg", "2012_000002.jpg"]


def test_bad_size(tmp_path):
    import argparse
    import subprocess
    with pytest.raises(argparse.ArgumentTypeError, match="use N or WxH"):
        make_voc_data.parse_size("10x")
    script = str(REPO / "tools" / "data" / "make_voc_data.py")
    done = subprocess.run([sys.executable, script, "--out", str(tmp_path / "v"), "--size", "10x"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "use N or WxH" in done.stderr and "Traceback" not in done.stderr


# ------------------------------------------------------------------------------------------ files it did not write
def test_voc_rerun_keeps_a_users_image_with_a_colliding_id(tmp_path):
    out = tmp_path / "VOCdevkit"
    make_voc_data.generate(str(out), **SMALL_VOC)
    mine = out / "VOC2007" / "JPEGImages" / "000001.jpg"
    mine.write_bytes(b"my own photograph")
    before = snapshot(out)
    with pytest.raises(FileExistsError, match="VOC2007/JPEGImages/000001.jpg"):
        make_voc_data.generate(str(out), seed=1, **SMALL_VOC)
    assert snapshot(out) == before  # nothing deleted, no list overwritten


def test_voc_rerun_keeps_an_edited_list(tmp_path):
    out = tmp_path / "VOCdevkit"
    make_voc_data.generate(str(out), **SMALL_VOC)
    lst = out / "VOC2007" / "ImageSets" / "Main" / "trainval.txt"
    lst.write_text("000001\n")
    with pytest.raises(FileExistsError, match="changed since"):
        make_voc_data.generate(str(out), seed=1, **SMALL_VOC)
    assert lst.read_text() == "000001\n"


def test_voc_rerun_replaces_its_own_unchanged_files(tmp_path):
    out = tmp_path / "VOCdevkit"
    make_voc_data.generate(str(out), num_train=3, num_test=2, size=(64, 64), progress=False)
    (out / "VOC2007" / "JPEGImages" / "user.jpg").write_bytes(b"x")
    make_voc_data.generate(str(out), seed=2, **SMALL_VOC)
    assert sorted(os.listdir(out / "VOC2007" / "JPEGImages")) == ["000001.jpg", "000002.jpg", "000003.jpg",
                                                                   "user.jpg"]
    fresh = tmp_path / "fresh"
    make_voc_data.generate(str(fresh), seed=2, **SMALL_VOC)
    assert (out / "VOC2007/JPEGImages/000001.jpg").read_bytes() == \
        (fresh / "VOC2007/JPEGImages/000001.jpg").read_bytes()


def test_voc_force_never_replaces_a_file_that_is_there(tmp_path):
    real = tmp_path / "VOCdevkit"
    (real / "VOC2007" / "JPEGImages").mkdir(parents=True)
    (real / "VOC2007" / "JPEGImages" / "000001.jpg").write_bytes(b"real VOC image")
    with pytest.raises(FileExistsError, match="000001.jpg"):
        make_voc_data.generate(str(real), force=True, **SMALL_VOC)
    assert (real / "VOC2007" / "JPEGImages" / "000001.jpg").read_bytes() == b"real VOC image"


def test_voc_interrupted_run_is_cleaned_up_on_the_next(tmp_path, monkeypatch):
    out = tmp_path / "VOCdevkit"
    real_draw, calls = make_voc_data.draw_image, []

    def stops(*args):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_draw(*args)

    monkeypatch.setattr(make_voc_data, "draw_image", stops)
    with pytest.raises(KeyboardInterrupt):
        make_voc_data.generate(str(out), **SMALL_VOC)
    monkeypatch.setattr(make_voc_data, "draw_image", real_draw)
    make_voc_data.generate(str(out), **SMALL_VOC)
    names = [n for _, _, files in os.walk(out) for n in files]
    assert not [n for n in names if n.endswith(ledger_mod.TEMP_SUFFIX)]
    assert len(make_voc_data.read_ledger(str(out / make_voc_data.LEDGER))) == len(make_voc_data._generated_files(
        dict(num_train=2, num_test=1)))


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
    make_voc_data.generate(str(out), **SMALL_VOC)
    (out / make_voc_data.MARKER).write_text("{not json")
    before = snapshot(out)
    r = tool("make_voc_data.py", "--out", out, "--num-train", "2", "--num-test", "1", "--size", "64")
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert "cannot be read" in r.stderr.strip().splitlines()[-1]
    assert snapshot(out) == before


def test_voc_folder_of_the_earlier_version_is_checked_by_redrawing(tmp_path):
    out = tmp_path / "VOCdevkit"
    make_voc_data.generate(str(out), **SMALL_VOC)
    os.remove(out / make_voc_data.LEDGER)  # what version 1 left: a marker, no ledger
    marker = json.loads((out / make_voc_data.MARKER).read_text())
    (out / make_voc_data.MARKER).write_text(json.dumps(dict(marker, version=1)))
    mine = out / "VOC2007" / "Annotations" / "000002.xml"
    mine.write_text("<annotation>mine</annotation>")
    with pytest.raises(FileExistsError, match="000002.xml"):
        make_voc_data.generate(str(out), seed=5, **SMALL_VOC)
    assert mine.read_text() == "<annotation>mine</annotation>"
    mine.unlink()
    make_voc_data.generate(str(out), seed=5, **SMALL_VOC)  # every other file is recognised as the earlier set's
    assert (out / make_voc_data.LEDGER).is_file()
