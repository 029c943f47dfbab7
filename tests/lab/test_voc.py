"""tools/data/make_voc_data.py (smix_lab.data.voc): deterministic, VOC layout, read by mmdet as is."""
import filecmp
import os
import sys

import numpy as np
import pytest
from tests._mmdet_testlib import REPO, run_tool
from PIL import Image

from smix_lab.data import voc as make_voc_data

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
