"""The patch-fidelity check: readers of VOC / COCO / built-in sets, the figures, the report, the errors."""
import json
import math
import os
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from smix_lab.analysis import fidelity_report, patch_fidelity
from smix_lab.analysis.annotated import (
    AnnotatedImage,
    AnnotationError,
    boxes_to_mask,
    check_has_objects,
    read_annotated,
)
from smix_lab.data.classification import make_cls_data
from smix_lab.data.voc import generate
from smix_lab.study.stats import mean_interval, wilson_interval


def _voc_folder(root, boxes_by_image, size=(40, 30)):
    """A hand-made VOC2007 folder: one JPEG per entry, its XML with the given 1-based inclusive boxes."""
    for sub in ("Annotations", "JPEGImages", "ImageSets/Main"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    for image_id, boxes in boxes_by_image.items():
        Image.new("RGB", size, (90, 120, 150)).save(os.path.join(root, "JPEGImages", f"{image_id}.jpg"))
        objects = "".join(f"<object><name>cat</name><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin>"
                          f"<xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>" for b in boxes)
        with open(os.path.join(root, "Annotations", f"{image_id}.xml"), "w") as f:
            f.write(f"<annotation><filename>{image_id}.jpg</filename><size><width>{size[0]}</width>"
                    f"<height>{size[1]}</height></size>{objects}</annotation>")
    with open(os.path.join(root, "ImageSets", "Main", "trainval.txt"), "w") as f:
        f.write("\n".join(boxes_by_image) + "\n")
    return root


def test_voc_boxes_are_one_based_inclusive(tmp_path):
    root = _voc_folder(str(tmp_path / "VOC2007"), {"000001": [(3, 5, 10, 8)]})
    layout, items = read_annotated(root, split="trainval")
    assert layout == "voc" and len(items) == 1
    _, mask = items[0].load()
    expected = np.zeros((30, 40), bool)
    expected[4:8, 2:10] = True  # VOC's pixel 3..10 (1-based, inclusive) are columns 2..9
    assert (mask == expected).all()


def test_a_vocdevkit_with_one_year_is_found_and_a_split_is_honoured(tmp_path):
    _voc_folder(str(tmp_path / "VOCdevkit" / "VOC2007"), {"000001": [(1, 1, 4, 4)], "000002": [(2, 2, 6, 6)]})
    with open(tmp_path / "VOCdevkit" / "VOC2007" / "ImageSets" / "Main" / "val.txt", "w") as f:
        f.write("000002\n")
    layout, items = read_annotated(str(tmp_path / "VOCdevkit"), split="val")
    assert layout == "voc" and [os.path.basename(i.image_path) for i in items] == ["000002.jpg"]
    with pytest.raises(AnnotationError, match="pass one of the splits there .*trainval.*val"):
        read_annotated(str(tmp_path / "VOCdevkit"), split="test")


def test_bad_inputs_give_one_line_errors_that_name_the_fix(tmp_path):
    (tmp_path / "photos").mkdir()
    with pytest.raises(AnnotationError, match="not an annotated set: a VOC folder needs Annotations/") as err:
        read_annotated(str(tmp_path / "photos"))
    assert "\n" not in str(err.value)
    root = _voc_folder(str(tmp_path / "VOC2007"), {"000001": [(1, 1, 4, 4)], "000002": []})
    _, items = read_annotated(root)
    with pytest.raises(AnnotationError, match="000002.jpg has no object boxes; annotate it, or pass --skip-empty"):
        check_has_objects(items, skip_empty=False)
    assert [os.path.basename(i.image_path) for i in check_has_objects(items, skip_empty=True)] == ["000001.jpg"]
    outside = _voc_folder(str(tmp_path / "other" / "VOC2007"), {"000001": [(1, 1, 90, 4)]})
    _, items = read_annotated(outside)
    with pytest.raises(AnnotationError, match=r"box \[0, 0, 90, 4\] lies outside the 40x30 image"):
        items[0].load()
    with pytest.raises(AnnotationError, match="is empty"):
        boxes_to_mask([(5, 5, 5, 9)], 10, 10, "x.xml")


def test_the_command_says_what_is_wrong_in_one_line(tmp_path, capsys):
    (tmp_path / "photos").mkdir()
    assert fidelity_report.main(["--data", str(tmp_path / "photos"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("patch_fidelity.py: error:") and "VOC" in err[0]
    assert not (tmp_path / "out").exists()


def test_coco_boxes_are_x_y_width_height(tmp_path):
    (tmp_path / "images").mkdir()
    Image.new("RGB", (20, 10)).save(tmp_path / "images" / "a.png")
    Image.new("RGB", (20, 10)).save(tmp_path / "images" / "b.png")
    coco = {"images": [{"id": 1, "file_name": "a.png"}, {"id": 2, "file_name": "b.png"}],
            "annotations": [{"id": 7, "image_id": 1, "bbox": [2, 3, 4, 5]}]}
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(coco))
    with pytest.raises(AnnotationError, match="pass the folder of its images with --images"):
        read_annotated(str(path))
    layout, items = read_annotated(str(path), images=str(tmp_path / "images"))
    assert layout == "coco" and len(items) == 2 and items[1].boxes == ()
    _, mask = items[0].load()
    assert mask.sum() == 20 and mask[3:8, 2:6].all()
    bad = dict(coco, annotations=[{"id": 8, "image_id": 3, "bbox": [0, 0, 1, 1]}])
    path.write_text(json.dumps(bad))
    with pytest.raises(AnnotationError, match="image id 3, which 'images' does not list"):
        read_annotated(str(path), images=str(tmp_path / "images"))


@pytest.fixture(scope="module")
def built_in(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("cls") / "set")
    make_cls_data(root, num_classes=3, train_per_class=12, val_per_class=1, size=32, object_area=(0.2, 0.6),
                  log=None)
    return root


def test_figures_match_a_direct_count_on_the_masks(built_in):
    """Every per-patch figure, recomputed by slicing the partner's mask with the box the library chose."""
    _, items = read_annotated(built_in, split="train")
    settings = patch_fidelity.FidelitySettings(size=32, crop="none", samples=30, batch=8, seed=3).check()
    data = patch_fidelity.prepare(items, settings, log=None)
    records, _ = patch_fidelity.measure(data, settings, log=None)
    lam = np.random.default_rng([3, 1]).beta(1.0, 1.0, size=30)
    for method, r in records.items():
        cutmix_rng = np.random.default_rng([3, 2])
        for first in range(0, 30, 8):
            x = data.images[first:first + 8]
            _, pairs = patch_fidelity._batch_pairs(method.replace("SaliencyMix ", ""), x, lam[first:first + len(x)],
                                                   settings, cutmix_rng)
            for i in range(len(x)):
                y0, y1, x0, x1 = pairs.source[i]
                patch = data.masks[first + len(x) - 1 - i][y0:y1, x0:x1]
                k = first + i
                if patch.size == 0:
                    assert not r.has_patch[k]
                    continue
                weight = patch.size / 32 ** 2
                assert r.object_share[k] == pytest.approx(patch.mean())
                assert r.any_object[k] == bool(patch.any())
                assert r.weight[k] == pytest.approx(weight)
                assert r.honest[k] == (patch.mean() >= weight - 1e-12)


def test_the_report_on_a_built_in_set(built_in, tmp_path):
    args = fidelity_report.parse_args(["--data", built_in, "--size", "32", "--crop", "none", "--samples", "20",
                                       "--batch", "8", "--detectors", "fine_grained", "--out", str(tmp_path)])
    summary = fidelity_report.run(args, log=lambda m: None)
    assert list(summary) == ["CutMix", "SaliencyMix fine_grained"]
    for name in ("fidelity.md", "fidelity.json", "fidelity.png", "examples.png"):
        assert os.path.getsize(tmp_path / name) > 0
    saved = json.loads((tmp_path / "fidelity.json").read_text())
    assert saved["layout"] == "built-in" and saved["images"] == 20
    row = summary["SaliencyMix fine_grained"]
    assert 0 <= row["object_share"]["low"] <= row["object_share"]["mean"] <= row["object_share"]["high"] <= 1
    assert row["object_share_minus_cutmix"]["n"] == min(row["patches"], summary["CutMix"]["patches"]) or \
        row["object_share_minus_cutmix"]["n"] <= row["patches"]
    assert "| SaliencyMix fine_grained |" in (tmp_path / "fidelity.md").read_text()


def test_the_report_on_generated_voc_at_training_resolution(tmp_path):
    generate(str(tmp_path / "VOCdevkit"), seed=0, num_train=6, num_test=2, size=(64, 64), progress=False)
    args = fidelity_report.parse_args(["--data", str(tmp_path / "VOCdevkit" / "VOC2007"), "--split", "trainval",
                                       "--size", "48", "--crop", "train", "--samples", "6", "--batch", "4",
                                       "--detectors", "spectral_residual", "--out", str(tmp_path / "out")])
    summary = fidelity_report.run(args, log=lambda m: None)
    assert summary["CutMix"]["patches"] >= 4
    assert json.loads((tmp_path / "out" / "fidelity.json").read_text())["layout"] == "voc"


def test_train_crop_moves_the_mask_with_the_image():
    """A mask drawn from the image itself (its bright square) stays on the bright square after the
    random resized crop: the same geometry is applied to both."""
    image = np.zeros((60, 80, 3), np.uint8)
    image[10:40, 20:50] = 255
    item = SimpleNamespace(load=lambda: (Image.fromarray(image), image[..., 0] > 0), image_path="x")
    settings = patch_fidelity.FidelitySettings(size=32, crop="train", samples=2, seed=5).check()
    data = patch_fidelity.prepare([item, item], settings, log=None)
    for k in range(2):
        bright = data.images[k, 0].numpy() > 127
        assert (bright != data.masks[k]).mean() < 0.05


def test_intervals():
    assert mean_interval([1.0, 2.0, 3.0])["low"] == pytest.approx(2 - 4.303 / math.sqrt(3))
    low_high = wilson_interval(0, 10)
    assert low_high["low"] == 0.0 and low_high["high"] == pytest.approx(0.2775, abs=1e-4)
    assert wilson_interval(5, 10)["p"] == 0.5
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


def test_settings_are_checked():
    with pytest.raises(ValueError, match="--crop must be one of train, eval, none"):
        patch_fidelity.FidelitySettings(crop="random").check()
    with pytest.raises(ValueError, match="--detectors must name some of"):
        patch_fidelity.FidelitySettings(detectors=("sharp",)).check()


def test_an_exact_mask_item_reads_its_mask(built_in):
    _, items = read_annotated(built_in)
    assert all(isinstance(i, AnnotatedImage) and i.mask_path for i in items)
    image, mask = items[0].load()
    assert mask.shape == (image.size[1], image.size[0]) and mask.any()


def test_the_report_on_real_photographs_with_hand_drawn_boxes(tmp_path):
    from smix_lab.data.photo_voc import write_photo_voc
    ids = write_photo_voc(str(tmp_path / "photos"))
    assert "grace_hopper" in ids
    args = fidelity_report.parse_args(["--data", str(tmp_path / "photos" / "VOC2007"), "--size", "64",
                                       "--crop", "eval", "--detectors", "fine_grained", "--out", str(tmp_path / "out")])
    summary = fidelity_report.run(args, log=lambda m: None)
    assert summary["CutMix"]["patches"] + 1 >= len(ids)
    with pytest.raises(FileExistsError):
        write_photo_voc(str(tmp_path / "out"))
