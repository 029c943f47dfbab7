"""Helpers for the analysis-tool tests: tiny timm checkpoints, image folders, a linear timm model.

``smix_test_linear`` is a timm-registered model whose logits are linear in the
input (1x1 conv -> global average pool -> linear), so FGSM lowers every margin
monotonically in eps and CAM reproduces the logits exactly.
"""
import argparse
import os

import numpy as np
import timm
import torch
import torch.nn as nn
from PIL import Image
from timm.models import register_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class TinyLinearNet(nn.Module):
    """1x1 conv to one channel, global average pool, linear classifier (timm's classifier API)."""

    def __init__(self, num_classes=2, in_chans=3):
        super().__init__()
        self.num_classes = num_classes
        self.conv = nn.Conv2d(in_chans, 1, 1)
        self.fc = nn.Linear(1, num_classes)
        self.pretrained_cfg = dict(input_size=(3, 16, 16), crop_pct=1.0, interpolation="bilinear",
                                   mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), classifier="fc")

    def get_classifier(self):
        return self.fc

    def forward_features(self, x):
        return self.conv(x)

    def forward_head(self, x, pre_logits=False):
        x = x.mean(dim=(2, 3))
        return x if pre_logits else self.fc(x)

    def forward(self, x):
        return self.forward_head(self.forward_features(x))


if not timm.is_model("smix_test_linear"):
    @register_model
    def smix_test_linear(pretrained=False, num_classes=2, in_chans=3, **kwargs):
        return TinyLinearNet(num_classes=num_classes, in_chans=in_chans)


def bright_dark_linear(threshold=127.5):
    """A TinyLinearNet that says 1 (bright) when the mean pixel is above ``threshold`` (0-255), else 0."""
    model = TinyLinearNet(num_classes=2)
    with torch.no_grad():
        model.conv.weight.fill_(1.0 / 3.0)  # input normalised with mean 0.5, std 0.5: f = mean(2 v/255 - 1)
        model.conv.bias.zero_()
        c0 = 2.0 * threshold / 255.0 - 1.0
        model.fc.weight.copy_(torch.tensor([[-10.0], [10.0]]))
        model.fc.bias.copy_(torch.tensor([10.0 * c0, -10.0 * c0]))
    return model


def train_args(model, num_classes, img_size, **extra):
    """An argparse.Namespace like timm train.py's (the fields the loader reads)."""
    return argparse.Namespace(model=model, num_classes=num_classes, img_size=img_size, input_size=None,
                              mean=None, std=None, crop_pct=1.0, interpolation="", gp=None, in_chans=None,
                              model_kwargs={}, **extra)


def save_checkpoint(out_dir, model, arch, num_classes, img_size, ema_model=None, filename="model_best.pth.tar"):
    """A checkpoint written by timm's own CheckpointSaver (last.pth.tar + model_best.pth.tar)."""
    from timm.utils import CheckpointSaver
    os.makedirs(out_dir, exist_ok=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    saver = CheckpointSaver(model, optimizer, args=train_args(arch, num_classes, img_size), model_ema=ema_model,
                            checkpoint_dir=str(out_dir), recovery_dir=str(out_dir), max_history=1)
    saver.save_checkpoint(epoch=0, metric=50.0)
    return os.path.join(str(out_dir), filename)


def resnet_checkpoint(out_dir, num_classes=3, img_size=32, seed=0):
    """resnet18 checkpoint with EMA weights that differ from the plain ones (fc shifted by +1)."""
    from timm.utils import ModelEmaV3
    torch.manual_seed(seed)
    model = timm.create_model("resnet18", num_classes=num_classes, pretrained=False)
    ema = ModelEmaV3(model)
    with torch.no_grad():
        ema.module.fc.bias.add_(1.0)
    return save_checkpoint(out_dir, model, "resnet18", num_classes, img_size, ema_model=ema)


def image_folder(root, classes=("a", "b", "c"), per_class=2, size=32, seed=0, split="validation"):
    """root/<split>/<class>/<k>.png with structured random images; returns root."""
    from tests.images import synthetic
    rng = np.random.default_rng(seed)
    for name in classes:
        folder = os.path.join(str(root), split, name)
        os.makedirs(folder, exist_ok=True)
        for k in range(per_class):
            Image.fromarray(synthetic(rng, size, size)).save(os.path.join(folder, f"{k:03d}.png"))
    return str(root)


def bright_dark_folder(root, per_class=6, size=16, seed=0):
    """root/validation/{0_dark,1_bright}: noisy flat images, dark means 70..110, bright 145..185."""
    rng = np.random.default_rng(seed)
    for label, (lo, hi) in (("0_dark", (70, 110)), ("1_bright", (145, 185))):
        folder = os.path.join(str(root), "validation", label)
        os.makedirs(folder, exist_ok=True)
        for k, level in enumerate(np.linspace(lo, hi, per_class)):
            img = np.clip(np.rint(level + rng.normal(0, 3, (size, size, 3))), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(os.path.join(folder, f"{k:03d}.png"))
    return str(root)


def assert_png(path):
    """The file exists and PIL reads it fully as a PNG; returns its (width, height)."""
    assert os.path.isfile(path), path
    with Image.open(path) as img:
        assert img.format == "PNG"
        img.load()
        return img.size


def folder_without_test_split(root):
    """train/ and validation/ (no test/) of bright and dark images, and a linear checkpoint that fits them.

    Returns (data folder, checkpoint path)."""
    data = bright_dark_folder(os.path.join(str(root), "data"), per_class=3, size=16)
    image_folder(os.path.join(str(root), "data"), classes=("0_dark", "1_bright"), per_class=2, size=16, split="train")
    ckpt = save_checkpoint(os.path.join(str(root), "run"), bright_dark_linear(), "smix_test_linear", 2, 16)
    return data, ckpt


def error_of(capsys):
    """The last line a tool wrote to stderr (its one-line error), or "" when it wrote none."""
    err = capsys.readouterr().err.strip().splitlines()
    return err[-1] if err else ""
