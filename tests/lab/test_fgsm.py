"""tools/analysis/fgsm.py: FGSM top-1 (paper Table 4) for timm checkpoints on a validation folder (CPU, tiny)."""
import csv
import os

import pytest
import torch

from smix_lab.analysis import fgsm  # noqa: E402
from smix_timm.checkpoint import load_timm_checkpoint
from tests._analysis_testlib import (
    assert_png,
    bright_dark_folder,
    bright_dark_linear,
    error_of,
    image_folder,
    resnet_checkpoint,
    save_checkpoint,
)


@pytest.fixture(scope="module")
def linear_case(tmp_path_factory):
    """Bright vs dark images and a linear timm model that separates them perfectly."""
    root = tmp_path_factory.mktemp("fgsm_linear")
    data = bright_dark_folder(root / "data", per_class=6, size=16)
    ckpt = save_checkpoint(root / "run", bright_dark_linear(), "smix_test_linear", 2, 16)
    return data, ckpt


def test_perturbation_is_exactly_eps_in_pixel_units():
    torch.manual_seed(0)
    x01 = torch.randint(0, 256, (2, 3, 8, 8)).float() / 255.0
    grad = torch.randn(2, 3, 8, 8)
    grad[0, 0, :2] = 0.0
    for eps in (0.0, 1.0, 4.0, 8.0):
        adv = fgsm.fgsm_images(x01, grad, eps)
        assert float(adv.min()) >= 0.0 and float(adv.max()) <= 1.0
        step = (adv - x01) * 255.0
        free = (grad != 0) & (x01 + eps / 255 * grad.sign() >= 0) & (x01 + eps / 255 * grad.sign() <= 1)
        torch.testing.assert_close(step[free], eps * grad.sign()[free], atol=1e-4, rtol=0)
        assert torch.equal(adv[grad == 0], x01[grad == 0])
        clipped = (grad != 0) & ~free
        assert ((adv[clipped] == 0) | (adv[clipped] == 1)).all()
    assert torch.equal(fgsm.fgsm_images(x01, grad, 0.0), x01)


def test_adversarial_batch_moves_against_the_label(linear_case):
    data, ckpt = linear_case
    model, info = load_timm_checkpoint(ckpt)
    mean, std = info.data_config["mean"], info.data_config["std"]
    x01 = torch.full((2, 3, 16, 16), 0.3)
    x01[1] = 0.7
    target = torch.tensor([0, 1])
    _, grad = fgsm.input_gradient(model, x01, target, mean, std)
    adv = fgsm.fgsm_images(x01, grad, 8.0)
    torch.testing.assert_close(adv[0], torch.full_like(adv[0], 0.3 + 8 / 255))  # dark made brighter
    torch.testing.assert_close(adv[1], torch.full_like(adv[1], 0.7 - 8 / 255))  # bright made darker


def test_accuracy_falls_with_eps_on_a_learnable_case(linear_case, tmp_path):
    data, ckpt = linear_case
    out = tmp_path / "out"
    eps = ["0", "10", "25", "45", "80"]
    assert fgsm.main([ckpt, "--data-dir", data, "--eps", *eps, "-j", "0", "-b", "5", "--out", str(out)]) == 0
    rows = list(csv.DictReader(open(os.path.join(out, "fgsm.csv"))))
    assert len(rows) == 1 and rows[0]["images"] == "12"
    accs = [float(rows[0]["clean"])] + [float(rows[0][f"eps_{e}"]) for e in eps]
    assert accs[0] == 100.0 and accs[1] == accs[0]  # eps 0 is the clean accuracy
    assert all(a >= b for a, b in zip(accs, accs[1:])), accs
    assert accs[-1] == 0.0 and 0.0 < accs[3] < 100.0
    md = open(os.path.join(out, "fgsm.md")).read()
    assert "| checkpoint | arch | images | clean | eps=0 | eps=10 |" in md
    assert_png(os.path.join(out, "fgsm.png"))


def test_two_resnet_checkpoints_table(tmp_path, capsys):
    data = image_folder(tmp_path / "data", classes=("a", "b", "c"), per_class=3, size=36)
    ckpt = resnet_checkpoint(tmp_path / "base", num_classes=3, img_size=32)
    out = tmp_path / "out"
    assert fgsm.main([ckpt, ckpt, "--labels", "base", "smix", "--no-ema", "--data-dir", data, "--eps", "0", "2",
                      "--max-images", "6", "-b", "4", "-j", "0", "--log-interval", "1", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "batch 2/2, 6 images" in captured.err  # progress lines
    assert "checkpoint" in captured.out and "eps=2" in captured.out
    rows = list(csv.DictReader(open(os.path.join(out, "fgsm.csv"))))
    assert [r["checkpoint"] for r in rows] == ["base", "smix"]
    for r in rows:
        assert r["images"] == "6" and r["eps_0"] == r["clean"]
    assert_png(os.path.join(out, "fgsm.png"))


def test_errors(tmp_path, linear_case, capsys):
    data, ckpt = linear_case
    out = str(tmp_path / "out")
    assert fgsm.main([ckpt, "--data-dir", str(tmp_path / "none"), "--out", out]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert fgsm.main([str(tmp_path / "x.pth.tar"), "--data-dir", data, "--out", out]) == 2
    assert "does not exist" in capsys.readouterr().err
    three = image_folder(tmp_path / "three", classes=("a", "b", "c"), per_class=1, size=16)
    assert fgsm.main([ckpt, "--data-dir", three, "--out", out, "-j", "0"]) == 2
    assert "3 classes but the model has 2" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        fgsm.main([ckpt, "--data-dir", data, "--eps", "-1"])
    with pytest.raises(SystemExit):
        fgsm.main([ckpt])  # --data-dir is required


# ------------------------------------------------------------------------------------------ checks before the work
def test_fgsm_refuses_a_missing_split_instead_of_reading_every_split(case, tmp_path, capsys):
    data, ckpt = case
    out = tmp_path / "out"
    assert fgsm.main([ckpt, "--data-dir", data, "--split", "test", "--out", str(out), "-j", "0"]) == 2
    assert 'no "test" split' in error_of(capsys) and not out.exists()
    assert fgsm.main([ckpt, "--data-dir", data, "--split", "val", "--out", str(out), "-j", "0"]) == 0
    assert "(validation)" in (out / "fgsm.md").read_text()  # the split actually read
    assert "| 6 |" in (out / "fgsm.md").read_text()  # 6 validation images, not 6 + 4 training ones


def test_fgsm_refuses_eps_that_is_not_a_finite_number(case, capsys):
    data, ckpt = case
    for eps in ("nan", "inf"):
        with pytest.raises(SystemExit):
            fgsm.main([ckpt, "--data-dir", data, "--eps", "1", eps])
        assert "--eps values must be finite" in capsys.readouterr().err
