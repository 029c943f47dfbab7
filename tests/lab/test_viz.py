"""tools/analysis/visualize_mix.py and smix_lab/analysis/viz.py: pictures of SaliencyMix at work (CPU, small images)."""
import json
import os

import numpy as np
import pytest

from smix_lab.analysis import visualize_mix as vm  # noqa: E402
from smix_lab.analysis import viz
from smix_timm import SCHEMES
from tests._analysis_testlib import assert_png, image_folder


def _inside(box, point):
    y0, y1, x0, x1 = box
    return y0 <= point[0] < y1 and x0 <= point[1] < x1


def _cv2_saliency():
    try:
        from smix_timm import require_cv2_saliency
        require_cv2_saliency()
        return True
    except ImportError:
        return False


@pytest.fixture(scope="module")
def photo_run(tmp_path_factory):
    """The default input (matplotlib's photographs), small, one pair."""
    out = tmp_path_factory.mktemp("viz_photo")
    assert vm.main(["--out", str(out), "--num", "1", "--size", "64", "--seed", "3"]) == 0
    return out


def test_writes_readable_pngs_and_summary(photo_run):
    w, h = assert_png(os.path.join(photo_run, "mix_grid.png"))
    assert h > w  # one row per method
    assert_png(os.path.join(photo_run, "detectors.png"))
    text = open(os.path.join(photo_run, "mix_summary.txt")).read()
    for name in list(SCHEMES) + ["cutmix"]:
        assert name in text
    assert "grace_hopper.jpg" in text and "(y0, y1, x0, x1)" in text


def test_summary_boxes_hold_the_source_peak(photo_run):
    summary = json.load(open(os.path.join(photo_run, "mix_summary.json")))
    methods = [m["method"] for m in summary["pairs"][0]["methods"]]
    expected = list(SCHEMES) + ["cutmix"] + (["official"] if _cv2_saliency() else [])
    assert methods == expected
    for pair in summary["pairs"]:
        rows = {m["method"]: m for m in pair["methods"]}
        default = rows["salient_to_corresponding"]
        assert _inside(default["source_box"], pair["source_peak"])
        assert default["source_box"] == default["target_box"]
        assert default["box_contains_source_peak"] is True
        for name, (src, _) in SCHEMES.items():  # every scheme's box holds its own point (max or min)
            point = pair["source_peak"] if src == "max" else pair["source_least"]
            assert _inside(rows[name]["source_box"], point), name
        for m in pair["methods"]:  # soft label = share of the target left (timm correct_lam)
            y0, y1, x0, x1 = m["target_box"]
            assert m["label_weight_target"] == pytest.approx(1 - (y1 - y0) * (x1 - x0) / 64 ** 2, abs=1e-5)


def test_deterministic_and_data_dir_layout(tmp_path):
    data = image_folder(tmp_path / "data", classes=("c0", "c1"), per_class=2, size=40, seed=1)
    outs = []
    for k in range(2):
        out = tmp_path / f"out{k}"
        assert vm.main(["--out", str(out), "--data-dir", data, "--num", "1", "--seed", "5", "--no-official"]) == 0
        outs.append(out)
    a, b = (json.load(open(os.path.join(o, "mix_summary.json"))) for o in outs)
    assert a == b
    assert a["size"] == 40  # the images' own size
    assert open(os.path.join(outs[0], "mix_grid.png"), "rb").read() == \
        open(os.path.join(outs[1], "mix_grid.png"), "rb").read()
    names = [p["source"] for p in a["pairs"]] + [p["target"] for p in a["pairs"]]
    assert len(set(n.split("(")[1] for n in names)) == 2  # one image per class first
    assert [m["method"] for m in a["pairs"][0]["methods"]][-1] == "cutmix"


def test_images_option_and_fixed_lambda(tmp_path):
    folder = image_folder(tmp_path / "imgs", classes=("x",), per_class=3, size=48, seed=2)
    out = tmp_path / "out"
    assert vm.main(["--out", str(out), "--images", os.path.join(folder, "validation", "x"), "--num", "2",
                    "--lam", "0.75", "--size", "32", "--no-official"]) == 0
    summary = json.load(open(os.path.join(out, "mix_summary.json")))
    assert len(summary["pairs"]) == 2 and summary["size"] == 32
    for pair in summary["pairs"]:
        assert pair["lam"] == 0.75
        box = pair["methods"][0]["source_box"]
        assert (box[1] - box[0], box[3] - box[2]) == (16, 16)  # int(32 * sqrt(1 - 0.75))


def test_mix_pair_points_and_result():
    rng = np.random.default_rng(0)
    from tests.images import synthetic
    source, target = synthetic(rng, 48, 48), synthetic(rng, 48, 48)
    params = viz.draw_params(1, (48, 48), seed=0, lam=0.6)[0]
    pair = viz.mix_pair(source, target, params, official=False)
    for panel in pair.panels[:5]:
        assert _inside(panel.source_box, panel.source_point)
        if panel.target_point is not None:
            assert _inside(panel.target_box, panel.target_point)
        y0, y1, x0, x1 = panel.target_box
        sy0, sy1, sx0, sx1 = panel.source_box
        np.testing.assert_array_equal(panel.mixed[y0:y1, x0:x1], source[sy0:sy1, sx0:sx1])
        outside = np.ones((48, 48), bool)
        outside[y0:y1, x0:x1] = False
        np.testing.assert_array_equal(panel.mixed[outside], target[outside])


def test_mix_pair_computes_each_saliency_map_once(monkeypatch):
    """One detector call for the pair (both images): every scheme's boxes come from those peaks."""
    import smix_timm.mix as mix_module
    calls = []

    def counted(label, real):
        def call(images, *args, **kwargs):
            calls.append((label, images.shape[0]))
            return real(images, *args, **kwargs)
        return call

    monkeypatch.setattr(viz, "saliency_map", counted("map", viz.saliency_map))
    monkeypatch.setattr(mix_module, "saliency_peaks", counted("peaks", mix_module.saliency_peaks))
    from tests.images import synthetic
    rng = np.random.default_rng(1)
    source, target = synthetic(rng, 40, 40), synthetic(rng, 40, 40)
    pair = viz.mix_pair(source, target, viz.draw_params(1, (40, 40), seed=1, lam=0.5)[0], official=False)
    assert calls == [("map", 2)]
    assert [panel.method for panel in pair.panels][:len(SCHEMES)] == list(SCHEMES)


def test_timm_batch_is_timms_normalised_float_batch():
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (3, 8, 6, 3), dtype=np.uint8)
    x = viz.timm_batch(images)
    mean = np.array([0.485, 0.456, 0.406], np.float32).reshape(1, 3, 1, 1)
    std = np.array([0.229, 0.224, 0.225], np.float32).reshape(1, 3, 1, 1)
    want = (images.transpose(0, 3, 1, 2).astype(np.float32) / 255.0 - mean) / std
    assert tuple(x.shape) == (3, 3, 8, 6)
    np.testing.assert_allclose(x.numpy(), want, rtol=0, atol=1e-5)


def test_errors(tmp_path, capsys):
    assert vm.main(["--out", str(tmp_path / "o"), "--images", str(tmp_path / "missing.png")]) == 2
    assert "does not exist" in capsys.readouterr().err
    one = image_folder(tmp_path / "one", classes=("x",), per_class=1)
    assert vm.main(["--out", str(tmp_path / "o"), "--images", os.path.join(one, "validation", "x")]) == 2
    assert "at least 2 images" in capsys.readouterr().err
    assert vm.main(["--out", str(tmp_path / "o"), "--data-dir", str(tmp_path / "nothing")]) == 2
    with pytest.raises(SystemExit):
        vm.main(["--num", "0"])
    with pytest.raises(ValueError, match="lam"):
        viz.draw_params(1, (8, 8), lam=1.5)
