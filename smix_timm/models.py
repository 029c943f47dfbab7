"""The paper's CIFAR networks, registered in timm's model registry.

Importing this module makes ``timm.create_model(name)`` and ``train.py --model name``
find them:

    resnet18_cifar, resnet50_cifar   timm's ResNet with a CIFAR stem: one 3x3 stride-1
                                     conv, no max-pool (so 32x32 input ends in 4x4 maps).
                                     State-dict keys are timm's / torchvision's (conv1, bn1,
                                     layer1..4, fc), so mmdet's ResNet reads the stages.
    wrn28_10, wrn16_2                Wide ResNet (Zagoruyko & Komodakis 2016), pre-activation
                                     blocks with dropout between the two convs (0.3 for
                                     wrn28_10 as in the paper); wrn16_2 is a small one for tests.

All default to 10 classes and 3x32x32 input with CIFAR-10 mean/std; pass
``num_classes`` (``--num-classes``) for CIFAR-100 and ``--img-size`` for other sizes.
"""
from typing import Optional, Union

import torch
import torch.nn as nn
from timm.layers import create_classifier
from timm.models import build_model_with_cfg, generate_default_cfgs, register_model
from timm.models.resnet import BasicBlock, Bottleneck, ResNet

__all__ = ["CifarResNet", "WideResNet", "CIFAR10_MEAN", "CIFAR10_STD"]

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


def _cfg(**kwargs):
    cfg = dict(
        url="", num_classes=10, input_size=(3, 32, 32), pool_size=(4, 4),
        crop_pct=1.0, interpolation="bilinear", mean=CIFAR10_MEAN, std=CIFAR10_STD,
        first_conv="conv1", classifier="fc", license="apache-2.0",
    )
    cfg.update(kwargs)
    return cfg


default_cfgs = generate_default_cfgs({
    "resnet18_cifar": _cfg(),
    "resnet50_cifar": _cfg(),
    "wrn28_10": _cfg(pool_size=(8, 8)),
    "wrn16_2": _cfg(pool_size=(8, 8)),
})


class CifarResNet(ResNet):
    """timm ResNet whose stem is a 3x3 stride-1 conv without max-pool (He et al. 2016, CIFAR)."""

    def __init__(self, block, layers, in_chans: int = 3, **kwargs):
        super().__init__(block, layers, in_chans=in_chans, **kwargs)
        stem_chs = self.conv1.out_channels
        self.conv1 = nn.Conv2d(in_chans, stem_chs, kernel_size=3, stride=1, padding=1, bias=False)
        nn.init.kaiming_normal_(self.conv1.weight, mode="fan_out", nonlinearity="relu")
        self.maxpool = nn.Identity()
        # timm's make_blocks counts from a stride-4 stem; this stem has stride 1
        self.feature_info = [dict(info, reduction=max(1, info["reduction"] // 4)) for info in self.feature_info]
        self.feature_info[0]["reduction"] = 1


class WideBasic(nn.Module):
    """Pre-activation wide block: BN-ReLU-conv3x3-dropout-BN-ReLU-conv3x3 plus shortcut."""

    def __init__(self, in_chs: int, out_chs: int, stride: int = 1, drop_rate: float = 0.0):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_chs)
        self.act1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_chs, out_chs, 3, stride=stride, padding=1, bias=False)
        self.drop = nn.Dropout(drop_rate) if drop_rate > 0 else nn.Identity()
        self.bn2 = nn.BatchNorm2d(out_chs)
        self.act2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_chs, out_chs, 3, stride=1, padding=1, bias=False)
        self.shortcut = None
        if stride != 1 or in_chs != out_chs:
            self.shortcut = nn.Conv2d(in_chs, out_chs, 1, stride=stride, bias=False)

    def forward(self, x):
        out = self.act1(self.bn1(x))
        # as in the reference WRN code, a projection shortcut takes the pre-activated input
        shortcut = x if self.shortcut is None else self.shortcut(out)
        out = self.conv1(out)
        out = self.drop(out)
        out = self.conv2(self.act2(self.bn2(out)))
        return out + shortcut


class WideResNet(nn.Module):
    """Wide ResNet-depth-k for 32x32 input; ``block_drop_rate`` is the dropout inside blocks.

    ``drop_rate`` is timm's head dropout (``--drop``), kept apart so that train.py's
    default ``--drop 0`` does not switch off the paper's block dropout.
    """

    def __init__(
            self,
            depth: int = 28,
            widen_factor: int = 10,
            num_classes: int = 10,
            in_chans: int = 3,
            block_drop_rate: float = 0.3,
            drop_rate: float = 0.0,
            global_pool: str = "avg",
    ):
        super().__init__()
        if (depth - 4) % 6 != 0:
            raise ValueError(f"WideResNet depth must be 6n+4 (e.g. 16, 22, 28, 40), got {depth}")
        n = (depth - 4) // 6
        widths = [16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        self.num_classes, self.in_chans, self.drop_rate = num_classes, in_chans, drop_rate
        self.grad_checkpointing = False  # timm's set_grad_checkpointing turns it on

        self.conv1 = nn.Conv2d(in_chans, widths[0], 3, stride=1, padding=1, bias=False)
        self.feature_info = [dict(num_chs=widths[0], reduction=1, module="conv1")]
        in_chs = widths[0]
        for i, (out_chs, stride) in enumerate(zip(widths[1:], (1, 2, 2))):
            blocks = []
            for j in range(n):
                blocks.append(WideBasic(in_chs, out_chs, stride if j == 0 else 1, block_drop_rate))
                in_chs = out_chs
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
            self.feature_info.append(dict(num_chs=out_chs, reduction=2 ** i, module=f"layer{i + 1}"))
        self.bn1 = nn.BatchNorm2d(in_chs)
        self.act1 = nn.ReLU(inplace=True)
        self.num_features = self.head_hidden_size = in_chs
        self.global_pool, self.fc = create_classifier(self.num_features, num_classes, pool_type=global_pool)

        self._init_weights()

    def _init_weights(self) -> None:
        """He (fan-out) init of the convolutions, BatchNorm starting as the identity, zero classifier bias."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, (nn.BatchNorm2d, nn.Linear)) and module.bias is not None:
                module.bias.data.zero_()
                if isinstance(module, nn.BatchNorm2d):
                    module.weight.data.fill_(1.0)

    @torch.jit.ignore
    def group_matcher(self, coarse: bool = False):
        return dict(stem=r"^conv1", blocks=r"^layer(\d+)" if coarse else r"^layer(\d+)\.(\d+)")

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable: bool = True):
        self.grad_checkpointing = enable

    @torch.jit.ignore
    def get_classifier(self, name_only: bool = False) -> Union[str, nn.Module]:
        return "fc" if name_only else self.fc

    def reset_classifier(self, num_classes: int, global_pool: Optional[str] = None):
        pool = self.global_pool.pool_type if global_pool is None else global_pool
        self.num_classes = num_classes
        self.global_pool, self.fc = create_classifier(self.num_features, num_classes, pool_type=pool)

    def forward_features(self, x):
        x = self.conv1(x)
        recompute = self.grad_checkpointing and not torch.jit.is_scripting()
        for layer in (self.layer1, self.layer2, self.layer3):
            x = torch.utils.checkpoint.checkpoint(layer, x, use_reentrant=False) if recompute else layer(x)
        return self.act1(self.bn1(x))

    def forward_head(self, x, pre_logits: bool = False):
        x = self.global_pool(x)  # (B, C)
        if self.drop_rate:
            x = nn.functional.dropout(x, p=self.drop_rate, training=self.training)
        return x if pre_logits else self.fc(x)

    def forward(self, x):
        return self.forward_head(self.forward_features(x))


def _create_cifar_resnet(variant: str, pretrained: bool = False, **kwargs) -> CifarResNet:
    return build_model_with_cfg(CifarResNet, variant, pretrained, **kwargs)


def _create_wrn(variant: str, pretrained: bool = False, **kwargs) -> WideResNet:
    # WideResNet has no stochastic depth / drop block / bn overrides; drop the knobs train.py passes
    for key in ("drop_path_rate", "drop_block_rate", "bn_momentum", "bn_eps"):
        if kwargs.get(key):
            raise ValueError(f"{variant} does not support {key}={kwargs[key]}")
        kwargs.pop(key, None)
    return build_model_with_cfg(
        WideResNet, variant, pretrained, feature_cfg=dict(out_indices=(0, 1, 2, 3)), **kwargs)


@register_model
def resnet18_cifar(pretrained: bool = False, **kwargs) -> CifarResNet:
    """ResNet-18 with a CIFAR stem (3x3 stride-1 conv, no max-pool)."""
    model_args = dict(block=BasicBlock, layers=(2, 2, 2, 2))
    return _create_cifar_resnet("resnet18_cifar", pretrained, **dict(model_args, **kwargs))


@register_model
def resnet50_cifar(pretrained: bool = False, **kwargs) -> CifarResNet:
    """ResNet-50 with a CIFAR stem (3x3 stride-1 conv, no max-pool)."""
    model_args = dict(block=Bottleneck, layers=(3, 4, 6, 3))
    return _create_cifar_resnet("resnet50_cifar", pretrained, **dict(model_args, **kwargs))


@register_model
def wrn28_10(pretrained: bool = False, **kwargs) -> WideResNet:
    """WideResNet-28-10 with dropout 0.3 in the blocks (the paper's WRN)."""
    model_args = dict(depth=28, widen_factor=10, block_drop_rate=0.3)
    return _create_wrn("wrn28_10", pretrained, **dict(model_args, **kwargs))


@register_model
def wrn16_2(pretrained: bool = False, **kwargs) -> WideResNet:
    """WideResNet-16-2 without dropout: small and quick, for tests and CPU runs."""
    model_args = dict(depth=16, widen_factor=2, block_drop_rate=0.0)
    return _create_wrn("wrn16_2", pretrained, **dict(model_args, **kwargs))
