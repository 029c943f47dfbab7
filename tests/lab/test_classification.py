"""Built-in classification data (smix_lab.data.classification, tools/data/make_cls_data.py); it never deletes
or replaces a file it did not write or that changed, and checks every argument before writing."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from smix_lab.data import classification as mcd

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SMALL = dict(num_classes=8, train_per_class=4, val_per_class=2, size=48, log=None)
SMALL_CLS = dict(num_classes=2, train_per_class=2, val_per_class=1, size=16, log=None)


def _pixels(root):
    ann = mcd.load_annotations(root)
    return {p: np.asarray(Image.open(os.path.join(root, p))) for p in ann["images"]}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("cls") / "d")
    mcd.make_cls_data(root, seed=3, **SMALL)
    return root


def test_layout_is_timm_image_folder(data):
    from timm.data import create_dataset
    ann = mcd.load_annotations(data)
    assert len(ann["classes"]) == 8 and len(set(ann["classes"])) == 8
    for split, n in (("train", 4), ("validation", 2)):
        ds = create_dataset("", root=data, split=split)
        assert len(ds) == 8 * n
        assert sorted(ds.reader.class_to_idx) == ann["classes"]
        for path, label in ds.reader.samples:
            rel = os.path.relpath(path, data).replace(os.sep, "/")
            assert ann["images"][rel]["label"] == label


def test_deterministic(data, tmp_path):
    again = str(tmp_path / "again")
    mcd.make_cls_data(again, seed=3, **SMALL)
    a, b = _pixels(data), _pixels(again)
    assert a.keys() == b.keys()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert mcd.load_annotations(data)["images"] == mcd.load_annotations(again)["images"]
    other = str(tmp_path / "other")
    mcd.make_cls_data(other, seed=4, **SMALL)
    c = _pixels(other)
    assert sum(np.array_equal(a[k], c[k]) for k in a) == 0


def test_masks_and_boxes_match_images(data):
    ann = mcd.load_annotations(data)
    colours = dict(mcd.COLOURS)
    inside_err, ring_err = [], []
    for rel, rec in ann["images"].items():
        img = np.asarray(Image.open(os.path.join(data, rel))).astype(float)
        mask = mcd.load_mask(data, rel, ann)
        assert mask.shape == img.shape[:2] and mask.any()
        ys, xs = np.nonzero(mask)
        assert rec["box"] == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
        assert rec["area"] == pytest.approx(mask.mean(), abs=1e-4)
        assert 0.005 <= mask.mean() <= 0.25
        box_area = (rec["box"][2] - rec["box"][0]) * (rec["box"][3] - rec["box"][1]) / mask.size
        assert 0.02 <= box_area <= 0.26
        attrs = ann["class_attributes"][rec["label"]]
        if attrs["texture"] == "solid":
            colour = np.array(colours[rec["colour"]], float)
            err = np.abs(img - colour).mean(-1)
            # the 1-px ring just outside the mask is background, not object
            grown = mask.copy()
            grown[1:] |= mask[:-1]
            grown[:-1] |= mask[1:]
            grown[:, 1:] |= mask[:, :-1]
            grown[:, :-1] |= mask[:, 1:]
            inside_err.append(err[mask].mean())
            ring_err.append(err[grown & ~mask].mean())
    assert max(inside_err) < 25          # object pixels have the class colour (+-15 jitter, noise)
    assert min(ring_err) > max(inside_err)


def test_classes_differ_and_colour_is_not_the_class(data):
    attrs = [tuple(mcd.class_attributes(i).values()) for i in range(mcd.MAX_CLASSES)]
    assert len(set(attrs)) == mcd.MAX_CLASSES
    assert len({a[0] for a in attrs[:8]}) == 8
    with pytest.raises(ValueError):
        mcd.class_attributes(mcd.MAX_CLASSES)
    ann = mcd.load_annotations(data)
    colours_of_class0 = {r["colour"] for r in ann["images"].values() if r["label"] == 0}
    assert len(colours_of_class0) > 1


def test_refuses_foreign_folder(tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="--force"):
        mcd.make_cls_data(str(foreign), **SMALL)
    assert (foreign / "notes.txt").read_text() == "keep me"
    mcd.make_cls_data(str(foreign), force=True, **SMALL)
    assert os.path.exists(foreign / mcd.MARKER) and (foreign / "notes.txt").exists()


def test_force_never_replaces_the_users_splits(tmp_path):
    foreign = tmp_path / "dataset"
    (foreign / "train" / "cat").mkdir(parents=True)
    (foreign / "train" / "cat" / "a.png").write_bytes(b"user image")
    with pytest.raises(FileExistsError, match="already has train, not made by make_cls_data.py"):
        mcd.make_cls_data(str(foreign), force=True, **SMALL)
    assert (foreign / "train" / "cat" / "a.png").read_bytes() == b"user image"


@pytest.mark.parametrize("case", ["under_file", "empty", "unwritable"])
def test_cli_bad_out_is_one_line(tmp_path, case):
    if case == "unwritable" and os.geteuid() == 0:
        out = "/proc/smix-cannot-write-here"  # root may write anywhere else
    elif case == "unwritable":
        (tmp_path / "ro").mkdir(mode=0o500)
        out = str(tmp_path / "ro" / "data")
    elif case == "under_file":
        (tmp_path / "file").write_text("x")
        out = str(tmp_path / "file" / "data")
    else:
        out = ""
    for tool in ("make_cls_data.py", "make_voc_data.py"):
        script = os.path.join(ROOT, "tools", "data", tool)
        r = subprocess.run([sys.executable, script, "--out", out, "--num-train", "1",
                            "--num-test", "1"] if tool == "make_voc_data.py" else
                           [sys.executable, script, "--out", out, "--num-classes", "1",
                            "--train-per-class", "1", "--val-per-class", "1", "--size", "16"],
                           capture_output=True, text=True)
        assert r.returncode != 0 and "Traceback" not in r.stderr, (tool, r.stderr[-1500:])
        assert "error" in r.stderr.strip().splitlines()[-1], (tool, r.stderr)


def test_regenerates_own_folder_and_reuse(data, tmp_path):
    root = str(tmp_path / "own")
    mcd.make_cls_data(root, seed=0, **SMALL)
    stray = os.path.join(root, "train", mcd.class_name(0), "stray.png")
    Image.new("RGB", (8, 8)).save(stray)
    with pytest.raises(FileExistsError, match="did not write .*stray.png.*move them out"):
        mcd.make_cls_data(root, seed=1, **SMALL)    # a file the user added is never deleted
    assert os.path.exists(stray) and os.path.exists(os.path.join(root, "validation"))
    os.remove(stray)
    mcd.make_cls_data(root, seed=1, **SMALL)        # replaces exactly the earlier generated set
    with open(os.path.join(root, mcd.MARKER)) as f:
        assert json.load(f)["seed"] == 1
    msgs = []
    mcd.make_cls_data(root, seed=1, reuse=True, **dict(SMALL, log=msgs.append))
    assert any("reusing" in m for m in msgs)


def test_cli_progress_and_refusal(tmp_path):
    script = os.path.join(ROOT, "tools", "data", "make_cls_data.py")
    out = tmp_path / "cli"
    r = subprocess.run([sys.executable, script, "--out", str(out), "--num-classes", "3", "--train-per-class", "5",
                        "--val-per-class", "1", "--size", "32"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "train: 15/15" in r.stdout and "wrote 18 images" in r.stdout
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "x").write_text("x")
    r = subprocess.run([sys.executable, script, "--out", str(tmp_path / "foreign")], capture_output=True, text=True)
    assert r.returncode != 0 and "not made by make_cls_data.py" in r.stderr and "Traceback" not in r.stderr


def test_object_area_sets_the_object_size(tmp_path):
    big = str(tmp_path / "big")
    params = mcd.make_cls_data(big, seed=3, object_area=(0.4, 0.5), **SMALL)
    assert params["object_area"] == [0.4, 0.5]
    areas = []
    for rec in mcd.load_annotations(big)["images"].values():
        x0, y0, x1, y1 = rec["box"]
        areas.append((x1 - x0) * (y1 - y0) / 48 ** 2)
    # the drawn box is 40-50 % of the image (rounded to whole pixels, rotation and shape trim the mask's box)
    assert 0.25 < np.median(areas) <= 0.52 and max(areas) <= 0.56
    with pytest.raises(ValueError, match="object_area must be"):
        mcd.make_cls_data(str(tmp_path / "bad"), object_area=(0.5, 0.2), **SMALL)
    done = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "data", "make_cls_data.py"), "--out",
                           str(tmp_path / "cli"), "--object-area", "0", "0.3", "--num-classes", "2"],
                          capture_output=True, text=True)
    assert done.returncode == 1 and "object_area must be (low, high) with 0 < low <= high <= 1" in done.stderr


# ------------------------------------------------------------------------------------------ files it did not write
def tool(name, *args):
    script = os.path.join(ROOT, "tools", "data", name)
    return subprocess.run([sys.executable, script, *map(str, args)], capture_output=True, text=True, timeout=300)


def snapshot(root):
    return {os.path.relpath(os.path.join(d, n), root): open(os.path.join(d, n), "rb").read()
            for d, _, names in os.walk(root) for n in names}


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


def _fine_grained_peak_on_object(scene, count=60):
    """Share of images of ``scene`` whose fine_grained saliency peak lies on the object (32 px, objects 20-60 %)."""
    import torch

    from smix_timm.saliency import saliency_peaks
    images, masks = zip(*[mcd.render_image(i % 10, 32, np.random.default_rng([7, i]), (0.2, 0.6), scene)[:2]
                          for i in range(count)])
    maxima, _ = saliency_peaks(torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous(), "fine_grained")
    y, x = maxima.numpy().T
    return float(np.stack(masks)[np.arange(count), y, x].mean())


def test_decoys_scene_misleads_the_saliency_peak():
    """The control's point: on "decoys" the detector's peak falls on the object far less often than on the
    default scene (and less often than a random pixel would: the objects cover ~23 % of these images)."""
    default, decoys = _fine_grained_peak_on_object("salient_object"), _fine_grained_peak_on_object("decoys")
    assert decoys < 0.15 and decoys < default / 2, (default, decoys)


def test_decoys_are_opaque_blocks_off_the_object_and_the_object_is_blended():
    rng_seed = [3, 1]
    faint, mask, _ = mcd.render_image(2, 32, np.random.default_rng(rng_seed), (0.2, 0.6), "decoys", (0.3, 0.3))
    solid, mask2, _ = mcd.render_image(2, 32, np.random.default_rng(rng_seed), (0.2, 0.6), "decoys", (1.0, 1.0))
    assert np.array_equal(mask, mask2) and mask.any()
    assert np.array_equal(faint[~mask], solid[~mask])  # the blend changes the object's pixels only
    extreme = (faint <= 15).all(-1) | (faint >= 245).all(-1)  # the decoys' checker tones
    assert extreme.sum() >= 10 and not (extreme & mask).any()
    background = mcd.render_image(2, 32, np.random.default_rng(rng_seed), (0.2, 0.6), "decoys", (1e-6, 1e-6))[0]
    lift = np.abs(faint.astype(float) - background)[mask].mean() / np.abs(solid.astype(float) - background)[mask].mean()
    assert 0.2 < lift < 0.45  # a 30 % blend moves the object's pixels about 30 % of the opaque way


def test_decoys_settings_are_in_the_marker_and_another_blend_is_redrawn(tmp_path):
    root = str(tmp_path / "decoys")
    mcd.make_cls_data(root, scene="decoys", object_alpha=(0.5, 0.6), **SMALL_CLS)
    with open(os.path.join(root, mcd.MARKER)) as f:
        marker = json.load(f)
    assert marker["scene"] == "decoys" and marker["scene_parameters"]["object_alpha"] == [0.5, 0.6]
    assert marker["scene_parameters"]["decoy_shape"] == "block"
    before = _pixels(root)
    msgs = []
    mcd.make_cls_data(root, scene="decoys", object_alpha=(0.5, 0.6), reuse=True, **dict(SMALL_CLS, log=msgs.append))
    assert any("reusing" in m for m in msgs)
    msgs.clear()
    mcd.make_cls_data(root, scene="decoys", object_alpha=(0.9, 1.0), reuse=True, **dict(SMALL_CLS, log=msgs.append))
    assert not any("reusing" in m for m in msgs)
    after = _pixels(root)
    assert any(not np.array_equal(before[p], after[p]) for p in before)
    defaults = str(tmp_path / "default-blend")
    assert mcd.make_cls_data(defaults, scene="decoys", **SMALL_CLS)["scene_parameters"]["object_alpha"] == \
        list(mcd.DECOY_OBJECT_ALPHA)


@pytest.mark.parametrize("kwargs, expect", [
    (dict(object_alpha=(0.5, 0.6)), "object_alpha is a setting of the 'decoys' scene"),
    (dict(scene="decoys", object_alpha=(0.7, 0.6)), "object_alpha must be"),
    (dict(scene="decoys", object_alpha=(0.0, 0.6)), "object_alpha must be"),
])
def test_object_alpha_is_checked_before_writing(tmp_path, kwargs, expect):
    out = tmp_path / "cls"
    with pytest.raises(ValueError, match=expect):
        mcd.make_cls_data(str(out), **dict(SMALL_CLS, **kwargs))
    assert not out.exists()
