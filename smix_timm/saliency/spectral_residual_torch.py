"""Spectral-residual saliency (Hou & Zhang, CVPR 2007), batched in torch.

Follows OpenCV contrib's ``StaticSaliencySpectralResidual``: gray, resize to
64x64, log-amplitude spectrum minus its 3x3 mean (the spectral residual), back
to the image domain with the original phase, squared magnitude after a 5x5
Gaussian (sigma 8), normalised by its max, resized to the input size.
Bilinear resizing differs from OpenCV's fixed-point INTER_LINEAR_EXACT in the
last bits, so this port is close to OpenCV, not bit-exact (tests bound it).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .fine_grained_torch import gray_u8

WORK_SIZE = 64


def _gaussian_kernel(size: int, sigma: float, dtype, device) -> torch.Tensor:
    pos = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    k = torch.exp(-(pos ** 2) / (2 * sigma ** 2))
    return k / k.sum()


def _separable(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Convolve (B, 1, H, W) with k x k^T, border reflect-101 (OpenCV BORDER_DEFAULT)."""
    r = k.numel() // 2
    x = F.pad(x, (r, r, r, r), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1))
    return F.conv2d(x, k.view(1, 1, -1, 1))


def spectral_residual(images_u8: torch.Tensor, channels: str = "rgb") -> torch.Tensor:
    """(B, C, H, W) uint8 -> (B, H, W) float32 saliency in [0, 1]."""
    h, w = images_u8.shape[-2:]
    gray = gray_u8(images_u8, channels).to(torch.float32).unsqueeze(1)
    small = F.interpolate(gray, size=(WORK_SIZE, WORK_SIZE), mode="bilinear", align_corners=False, antialias=False)
    spectrum = torch.fft.fft2(small.to(torch.float64))
    # Floor keeps exp(residual)**2 finite on flat images (exact zeros in the spectrum).
    log_amp = torch.log(spectrum.abs().clamp_min(1e-8))
    box = torch.full((3,), 1.0 / 3.0, dtype=torch.float64, device=images_u8.device)
    residual = log_amp - _separable(log_amp, box)
    back = torch.fft.ifft2(torch.polar(torch.exp(residual), spectrum.angle()))
    mag = _separable(back.abs(), _gaussian_kernel(5, 8.0, torch.float64, images_u8.device)) ** 2
    mag = mag / mag.amax(dim=(2, 3), keepdim=True).clamp_min(math.ulp(0.0))
    out = F.interpolate(mag.to(torch.float32), size=(h, w), mode="bilinear", align_corners=False)
    return out[:, 0].clamp_(0.0, 1.0)
