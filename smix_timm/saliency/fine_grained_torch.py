"""Fine-grained static saliency (Montabone & Soto 2010), batched in torch.

Bit-exact port of OpenCV contrib's ``StaticSaliencyFineGrained`` (the detector
the SaliencyMix paper picks, sec. 3.3); the steps and their integer/float32
arithmetic are in docs/saliency.md:
gray (fixed-point BGR2GRAY) -> two 3x3 Gaussian passes (reflect-101, uint8
rounding) -> float32 integral image -> centre-surround on/off differences at six
scales -> per-image normalisation of the on/off sums -> on+off mix, as uint8.
"""
from __future__ import annotations

from typing import Dict, Tuple

import torch
import torch.nn.functional as F

# Neighbourhood half-sizes of the six scales, in OpenCV's order.
SCALES = (12, 24, 48, 28, 56, 112)

# Images with at most this many pixels have an integral image whose entries are
# all exact in float32 (255 * H * W < 2**24), so any exact summation order works.
EXACT_INTEGRAL_PIXELS = 65793


def gray_u8(images: torch.Tensor, channels: str = "rgb") -> torch.Tensor:
    """OpenCV COLOR_BGR2GRAY in fixed point, (B, C, H, W) uint8 -> (B, H, W) int32."""
    x = images.to(torch.int32)
    if x.shape[1] == 1:
        return x[:, 0]
    if channels == "rgb":
        r, g, b = x[:, 0], x[:, 1], x[:, 2]
    else:
        b, g, r = x[:, 0], x[:, 1], x[:, 2]
    return (3735 * b + 19235 * g + 9798 * r + 16384) >> 15


def _pad_reflect101(x: torch.Tensor) -> torch.Tensor:
    """Pad (B, H, W) by one pixel with OpenCV's BORDER_REFLECT_101 (replicate for a 1-pixel side)."""
    x = x.unsqueeze(1).float()
    h, w = x.shape[-2:]
    pad_w = "reflect" if w > 1 else "replicate"
    pad_h = "reflect" if h > 1 else "replicate"
    x = F.pad(x, (1, 1, 0, 0), mode=pad_w)
    x = F.pad(x, (0, 0, 1, 1), mode=pad_h)
    return x[:, 0].to(torch.int32)


def gaussian3x3_u8(gray: torch.Tensor) -> torch.Tensor:
    """OpenCV GaussianBlur(ksize=3, sigma=0) on uint8: kernel [1,2,1]x[1,2,1]/16, rounded ``(s+8)>>4``."""
    p = _pad_reflect101(gray)
    rows = p[:, :, :-2] + 2 * p[:, :, 1:-1] + p[:, :, 2:]
    s = rows[:, :-2] + 2 * rows[:, 1:-1] + rows[:, 2:]
    return (s + 8) >> 4


def integral_f32(gray: torch.Tensor) -> torch.Tensor:
    """cv::integral(gray, CV_32F): (B, H+1, W+1) float32 with a zero first row and column.

    Row prefix sums are exact integers; rows are then added top to bottom in
    float32 as OpenCV does, which matters only above EXACT_INTEGRAL_PIXELS.
    """
    b, h, w = gray.shape
    out = gray.new_zeros((b, h + 1, w + 1), dtype=torch.float32)
    if h * w <= EXACT_INTEGRAL_PIXELS:
        out[:, 1:, 1:] = gray.cumsum(2).cumsum(1).to(torch.float32)
        return out
    rows = gray.to(torch.int64).cumsum(2).to(torch.float32)
    acc = out[:, 0, 1:]
    for y in range(h):
        acc = acc + rows[:, y]
        out[:, y + 1, 1:] = acc
    return out


def _window_indices(size: int, n: int, device) -> Tuple[torch.Tensor, torch.Tensor]:
    pos = torch.arange(size, device=device)
    return (pos - n + 1).clamp(0, size), (pos + n + 1).clamp(0, size)


def _surround_counts(h: int, w: int, device) -> Dict[int, torch.Tensor]:
    """Pixels in each clamped window minus the centre, per scale: (H, W) float32."""
    counts = {}
    for n in SCALES:
        y1, y2 = _window_indices(h, n, device)
        x1, x2 = _window_indices(w, n, device)
        counts[n] = ((y2 - y1).view(-1, 1) * (x2 - x1).view(1, -1) - 1).to(torch.float32)
    return counts


def on_off_sums(blurred: torch.Tensor, integral: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Sum over the six scales of trunc(max(g - mean, 0)) and trunc(max(mean - g, 0)), float32 integers.

    The clamped windows of OpenCV's getMean equal windows over the integral image
    padded by edge replication, so each corner is a shifted slice (no gathers).
    """
    b, h, w = blurred.shape
    g = blurred.to(torch.float32)
    counts = _surround_counts(h, w, blurred.device)
    total = torch.zeros_like(g)     # sum of trunc(g - mean)
    magnitude = torch.zeros_like(g)  # sum of |trunc(g - mean)|
    big = max(SCALES)
    # One replicate-padded integral serves every scale: padded index y + big - 1
    # holds row clamp(y, 0, H), so the corners of scale n start at offset big - n.
    padded = F.pad(integral.unsqueeze(1), (big - 1, big, big - 1, big), mode="replicate")[:, 0]
    for n in SCALES:
        lo, hi = big - n, big + n
        top_left, bottom_right = padded[:, lo:lo + h, lo:lo + w], padded[:, hi:hi + h, hi:hi + w]
        bottom_left, top_right = padded[:, hi:hi + h, lo:lo + w], padded[:, lo:lo + h, hi:hi + w]
        # OpenCV's float32 order: ((I[y2,x2] + I[y1,x1]) - I[y2,x1]) - I[y1,x2]
        mean = torch.add(bottom_right, top_left).sub_(bottom_left).sub_(top_right)
        mean.sub_(g).div_(counts[n])
        diff = torch.sub(g, mean, out=mean).trunc_()
        total.add_(diff)
        magnitude.add_(diff.abs_())
    s_on = (magnitude + total).mul_(0.5)
    s_off = magnitude.sub_(total).mul_(0.5)
    return s_on, s_off


def _normalise_u8(s: torch.Tensor) -> torch.Tensor:
    """trunc(255. * float32(s / max s)) per image, 0 where the max is 0 (OpenCV's mixScales)."""
    peak = s.amax(dim=(1, 2), keepdim=True)
    ratio = s / peak  # float32 division, as OpenCV
    out = (255.0 * ratio.to(torch.float64)).nan_to_num_(0.0).trunc_()
    return out.to(torch.int32)


def fine_grained_u8(images: torch.Tensor, channels: str = "rgb") -> torch.Tensor:
    """Fine-grained saliency of a uint8 batch (B, C, H, W) as uint8 (B, H, W), equal to OpenCV's."""
    blurred = gaussian3x3_u8(gaussian3x3_u8(gray_u8(images, channels)))
    s_on, s_off = on_off_sums(blurred, integral_f32(blurred))
    on, off = _normalise_u8(s_on), _normalise_u8(s_off)
    peak = torch.maximum(on.amax(dim=(1, 2), keepdim=True), off.amax(dim=(1, 2), keepdim=True))
    mixed = (255.0 * (on + off).to(torch.float64)) / peak.to(torch.float64)
    mixed = mixed.nan_to_num_(0.0).trunc_().to(torch.int32)
    # OpenCV casts the double to uchar through a 32-bit int: values above 255 wrap.
    return (mixed & 255).to(torch.uint8)


def fine_grained(images: torch.Tensor, channels: str = "rgb", impl: str = "auto", chunk: int = 16) -> torch.Tensor:
    """Fine-grained saliency as float32 (B, H, W) in [0, 1], i.e. OpenCV's ``computeSaliency`` output.

    ``impl``: 'auto' (the fused C kernel on CPU when it builds, else eager
    torch), 'native' (the C kernel, error if unavailable) or 'eager' (torch
    ops; also the CUDA path). All give identical results.
    """
    if impl not in ("auto", "native", "eager"):
        raise ValueError(f"impl must be 'auto', 'native' or 'eager', got {impl!r}")
    if images.device.type == "cpu" and impl != "eager":
        from .native import fine_grained_u8_native, load
        if impl == "native" or load() is not None:
            return fine_grained_u8_native(images, channels, torch.get_num_threads(), maps="unit")[0]
    maps = [fine_grained_u8(part, channels) for part in images.split(chunk)]
    return u8_to_unit(torch.cat(maps))


def u8_to_unit(maps_u8: torch.Tensor) -> torch.Tensor:
    """uint8 map -> float32 in [0, 1] as OpenCV's ``convertTo(CV_32F, 1.0f/255.0f)``."""
    return maps_u8.to(torch.float32) * torch.tensor(1.0 / 255.0, dtype=torch.float32)
