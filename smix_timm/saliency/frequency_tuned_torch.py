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
_NOISE_LAB = 1e-3  # Lab distance below float32 noise; one uint8 step of colour is ~0.1-1 Lab units


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


def reflect101_index(size: int, pad: int, device=None) -> torch.Tensor:
    """Source index of each of ``size + 2 * pad`` positions under OpenCV's BORDER_REFLECT_101.

    Reflect-101 mirrors about the edge pixels (``gfedcb|abcdefgh|gfedcba``) and is periodic with
    period ``2 * size - 2``, so it is defined for any pad, also on sides of 1 or 2 pixels where
    torch's reflect padding refuses (a side of 1 repeats its one pixel, as OpenCV does).
    """
    positions = torch.arange(-pad, size + pad, device=device)
    if size == 1:
        return torch.zeros_like(positions)
    period = 2 * size - 2
    folded = positions.remainder(period)
    return torch.where(folded < size, folded, period - folded)


def binomial_blur5(x: torch.Tensor) -> torch.Tensor:
    """5x5 [1,4,6,4,1]/16 blur per channel, border reflect-101 (as OpenCV's default) at every size."""
    c, (h, w) = x.shape[1], x.shape[-2:]
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=x.dtype, device=x.device) / 16.0
    if h > 2 and w > 2:  # torch's reflect padding is reflect-101
        x = F.pad(x, (2, 2, 2, 2), mode="reflect")
    else:
        x = x.index_select(-1, reflect101_index(w, 2, x.device)).index_select(-2, reflect101_index(h, 2, x.device))
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
    # An image whose blur equals its mean colour (one pixel; a 2-px side, where the 5-tap blur
    # averages the period exactly) has no saliency: OpenCV gets exact zeros there, our float
    # sums leave ~1e-5 Lab units of noise, which the division would blow up to 1.
    flat = peak <= _NOISE_LAB
    return torch.where(flat, torch.zeros_like(dist), dist / peak.clamp_min(_NOISE_LAB))
