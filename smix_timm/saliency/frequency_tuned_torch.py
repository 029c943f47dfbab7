"""Frequency-tuned saliency (Achanta et al., CVPR 2009), batched in torch.

S(x, y) = || I_mu - I_whc(x, y) ||: Euclidean distance in CIE Lab between the
image's mean colour and the colour after a 5x5 binomial blur ([1,4,6,4,1]/16,
border reflect-101), normalised by the per-image max. Lab from sRGB (D65) with
the same formulas as OpenCV's float ``COLOR_RGB2Lab``; the reference in
``opencv_backend`` builds the same map from cv2.cvtColor and cv2.GaussianBlur.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

_RGB_TO_XYZ = torch.tensor([[0.412453, 0.357580, 0.180423],
                            [0.212671, 0.715160, 0.072169],
                            [0.019334, 0.119193, 0.950227]])
_WHITE = torch.tensor([0.950456, 1.0, 1.088754])


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) sRGB in [0, 1] -> CIE Lab (L in 0-100), as OpenCV's float RGB2Lab."""
    lin = torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = torch.einsum("ij,bjhw->bihw", _RGB_TO_XYZ.to(rgb), lin) / _WHITE.to(rgb).view(1, 3, 1, 1)
    eps = 0.008856
    f = torch.where(xyz > eps, xyz.clamp_min(0).pow(1.0 / 3.0), 7.787 * xyz + 16.0 / 116.0)
    y = xyz[:, 1]
    lightness = torch.where(y > eps, 116.0 * f[:, 1] - 16.0, 903.3 * y)
    a = 500.0 * (f[:, 0] - f[:, 1])
    b = 200.0 * (f[:, 1] - f[:, 2])
    return torch.stack([lightness, a, b], dim=1)


def binomial_blur5(x: torch.Tensor) -> torch.Tensor:
    """5x5 [1,4,6,4,1]/16 blur per channel, border reflect-101 (replicate on sides under 3 px)."""
    c = x.shape[1]
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=x.dtype, device=x.device) / 16.0
    h, w = x.shape[-2:]
    x = F.pad(x, (2, 2, 0, 0), mode="reflect" if w > 2 else "replicate")
    x = F.pad(x, (0, 0, 2, 2), mode="reflect" if h > 2 else "replicate")
    x = F.conv2d(x, k.view(1, 1, 1, 5).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(x, k.view(1, 1, 5, 1).repeat(c, 1, 1, 1), groups=c)


def frequency_tuned(images_u8: torch.Tensor, channels: str = "rgb") -> torch.Tensor:
    """(B, C, H, W) uint8 -> (B, H, W) float32 saliency in [0, 1]."""
    x = images_u8.to(torch.float32) / 255.0
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    elif channels == "bgr":
        x = x.flip(1)
    lab = rgb_to_lab(x)
    mean = lab.mean(dim=(2, 3), keepdim=True)
    dist = (binomial_blur5(lab) - mean).pow(2).sum(1).sqrt()
    peak = dist.amax(dim=(1, 2), keepdim=True)
    return torch.where(peak > 0, dist / peak.clamp_min(1e-12), torch.zeros_like(dist))
