"""smix_timm.models: the paper's CIFAR networks in timm's registry."""
import pytest
import timm
import torch
import torchvision
from timm.data import resolve_data_config

import smix_timm.models as models

NAMES = ["resnet18_cifar", "resnet50_cifar", "wrn28_10", "wrn16_2"]


@pytest.mark.parametrize("name", NAMES)
def test_registered_with_cifar_pretrained_cfg(name):
    assert name in timm.list_models()
    model = timm.create_model(name)
    cfg = resolve_data_config({}, model=model)
    assert cfg["input_size"] == (3, 32, 32)
    assert cfg["mean"] == models.CIFAR10_MEAN and cfg["std"] == models.CIFAR10_STD
    assert cfg["crop_pct"] == 1.0
    assert model.num_classes == 10


@pytest.mark.parametrize("name,size", [(n, 32) for n in NAMES] + [("resnet18_cifar", 64), ("wrn16_2", 64)])
def test_output_shapes(name, size):
    model = timm.create_model(name, num_classes=100, drop_rate=0.0).eval()
    with torch.no_grad():
        feats = model.forward_features(torch.randn(2, 3, size, size))
        out = model.forward_head(feats)
    assert out.shape == (2, 100)
    # CIFAR stems keep full resolution: 32 px input ends in 4x4 (ResNet) or 8x8 (WRN) maps
    expect = size // 8 if "resnet" in name else size // 4
    assert feats.shape[-2:] == (expect, expect)
    assert feats.shape[1] == model.num_features


def test_cifar_resnet_stem_and_torchvision_keys():
    model = timm.create_model("resnet18_cifar")
    assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1)
    assert isinstance(model.maxpool, torch.nn.Identity)
    ours = {k: v.shape for k, v in model.state_dict().items() if not k.startswith("fc.")}
    tv = {k: v.shape for k, v in torchvision.models.resnet18().state_dict().items()
          if not k.startswith("fc.")}
    assert set(ours) == set(tv)  # mmdet's ResNet(style='pytorch') reads these names
    assert all(ours[k] == tv[k] for k in tv if k != "conv1.weight")
    assert ours["conv1.weight"] == (64, 3, 3, 3)


def test_resnet50_cifar_bottleneck_widths():
    model = timm.create_model("resnet50_cifar")
    assert model.num_features == 2048
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(23.5e6, rel=0.02)


def test_features_only_reductions():
    f = timm.create_model("resnet18_cifar", features_only=True)
    assert f.feature_info.reduction() == [1, 1, 2, 4, 8]
    outs = f(torch.randn(1, 3, 32, 32))
    assert [o.shape[-1] for o in outs] == [32, 32, 16, 8, 4]
    w = timm.create_model("wrn16_2", features_only=True)
    assert [o.shape[1] for o in w(torch.randn(1, 3, 32, 32))] == [16, 32, 64, 128]


def test_wrn28_10_block_dropout_survives_drop_rate_zero():
    # train.py passes drop_rate=args.drop (default 0); the paper's 0.3 block dropout must stay
    model = timm.create_model("wrn28_10", drop_rate=0.0)
    drops = [m for m in model.modules() if isinstance(m, torch.nn.Dropout)]
    assert len(drops) == 12 and all(d.p == 0.3 for d in drops)
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(36.5e6, rel=0.01)
    assert model.fc.in_features == 640


def test_wrn_rejects_unsupported_options():
    with pytest.raises(ValueError, match="drop_path_rate"):
        timm.create_model("wrn16_2", drop_path_rate=0.1)
    with pytest.raises(ValueError, match="6n\\+4"):
        models.WideResNet(depth=20)


def test_reset_classifier_and_train_step():
    model = timm.create_model("wrn16_2")
    model.reset_classifier(7)
    x = torch.randn(4, 3, 32, 32)
    loss = torch.nn.functional.cross_entropy(model(x), torch.tensor([0, 1, 2, 6]))
    loss.backward()
    assert model.conv1.weight.grad is not None and model.get_classifier().out_features == 7
