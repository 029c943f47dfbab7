"""smix_lab.analysis.cam (tools/analysis/cam.py): class activation maps of timm checkpoints, the tool's pictures
and summaries, and the models and inputs it refuses."""
import json
import os

import pytest
import timm
import torch

from smix_lab.analysis import cam  # noqa: E402
from smix_timm.checkpoint import load_timm_checkpoint
from tests._analysis_testlib import TinyLinearNet, assert_png, image_folder, resnet_checkpoint, save_checkpoint


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    # 64 px: resnet18's last feature map is 2x2 (at 32 px it is 1x1 and CAM is refused)
    return resnet_checkpoint(tmp_path_factory.mktemp("r18") / "run", num_classes=3, img_size=64)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return image_folder(tmp_path_factory.mktemp("imgs"), classes=("a", "b", "c"), per_class=1, size=40)


# ------------------------------------------------------------------ CAM
def test_cam_shape_and_range(ckpt):
    model, _ = load_timm_checkpoint(ckpt)
    x = torch.randn(2, 3, 40, 48)
    out = cam.class_activation_maps(model, x)
    assert out["cam"].shape == (2, 40, 48) and out["cam01"].shape == (2, 40, 48)
    assert torch.isfinite(out["cam"]).all()
    assert float(out["cam01"].min()) >= 0.0 and float(out["cam01"].max()) <= 1.0 + 1e-6
    assert torch.equal(out["classes"], out["logits"].argmax(1))
    given = cam.class_activation_maps(model, x, class_index=2)
    assert given["classes"].tolist() == [2, 2]
    with pytest.raises(cam.CamError, match="outside"):
        cam.class_activation_maps(model, x, class_index=3)


def test_cam_reproduces_the_logits_of_a_linear_model():
    torch.manual_seed(0)
    model = TinyLinearNet(num_classes=3).eval()
    x = torch.randn(2, 3, 16, 16)  # 1x1 conv: features at input resolution, no upsampling
    out = cam.class_activation_maps(model, x, class_index=1)
    expected = out["logits"][:, 1] - model.fc.bias[1]
    torch.testing.assert_close(out["cam"].mean(dim=(1, 2)), expected, rtol=1e-5, atol=1e-5)


def test_a_constant_map_scales_to_zero_and_a_1x1_map_is_refused():
    torch.manual_seed(0)
    model = TinyLinearNet(num_classes=3).eval()
    flat = cam.class_activation_maps(model, torch.full((1, 3, 8, 8), 0.3))  # every place alike
    assert torch.equal(flat["cam01"], torch.zeros(1, 8, 8))  # not rounding noise blown up to [0, 1]
    varied = cam.class_activation_maps(model, torch.randn(1, 3, 8, 8))
    assert float(varied["cam01"].min()) == 0.0 and float(varied["cam01"].max()) == pytest.approx(1.0)
    with pytest.raises(cam.CamError, match="last feature map is 1x1 for 32x32 inputs"):
        cam.class_activation_maps(timm.create_model("resnet18", num_classes=3).eval(), torch.randn(1, 3, 32, 32))


def test_models_without_a_linear_pooled_head_are_refused():
    with pytest.raises(cam.CamError, match="feature map"):
        cam.class_activation_maps(timm.create_model("test_vit", num_classes=3).eval(), torch.randn(1, 3, 64, 64))
    with pytest.raises(cam.CamError, match="not a linear classifier"):
        cam.class_activation_maps(timm.create_model("test_convnext", num_classes=3).eval(),
                                  torch.randn(1, 3, 64, 64))


def test_cam_tool_two_checkpoints(tmp_path, ckpt, folder):
    other = resnet_checkpoint(tmp_path / "second", num_classes=3, img_size=96, seed=1)
    out = tmp_path / "out"
    assert cam.main([ckpt, other, "--labels", "base", "smix", "--data-dir", folder, "--num", "2",
                     "--out", str(out)]) == 0
    w, h = assert_png(os.path.join(out, "cam.png"))
    assert w > h  # 2 rows, 3 columns
    records = json.load(open(os.path.join(out, "cam_summary.json")))
    assert len(records) == 4 and {r["label"] for r in records} == {"base", "smix"}
    for r in records:
        assert r["cam_size"] == ([64, 64] if r["label"] == "base" else [96, 96])
        assert 0 <= r["predicted"] < 3 and 0.0 < r["score"] <= 1.0
        assert r["true_class"] in ("a", "b", "c")
    text = open(os.path.join(out, "cam_summary.txt")).read()
    assert "predicted" in text and "base" in text and "smix" in text


def test_cam_tool_images_and_errors(tmp_path, ckpt, folder, capsys):
    out = tmp_path / "out"
    images = os.path.join(folder, "validation", "a")
    assert cam.main([ckpt, "--images", images, "--class", "1", "--out", str(out)]) == 0
    assert_png(os.path.join(out, "cam.png"))
    assert all(r["cam_class"] == 1 for r in json.load(open(os.path.join(out, "cam_summary.json"))))
    assert cam.main([str(tmp_path / "nope.pth.tar"), "--images", images, "--out", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err
    vit = tmp_path / "vit"
    path = save_checkpoint(vit, timm.create_model("test_vit", num_classes=3), "test_vit", 3, 64)
    assert cam.main([path, "--images", images, "--out", str(out)]) == 2
    assert "feature map" in capsys.readouterr().err
    assert cam.main([ckpt, "--images", images, "--img-size", "32", "--out", str(out)]) == 2
    assert "last feature map is 1x1 for 32x32 inputs" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cam.main([ckpt, "--labels", "a", "b"])
