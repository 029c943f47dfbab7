"""Input validation and conversion of image batches to 0-255 uint8.

Every saliency detector works on what OpenCV works on: uint8 pixels, 0-255.
Float batches are mapped back from timm's normalisation (``x * std + mean``,
constants on the 0-1 scale, timm.data.constants) or from an explicit
``max_value`` of 1 or 255. Nothing is guessed from the data, but the result is checked: mapped values
outside 0-255 (beyond rounding) mean the scale given was wrong, and raise.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple, Union

import torch

Constants = Optional[Union[Sequence[float], torch.Tensor]]

CHANNEL_ORDERS = ("rgb", "bgr")


def check_channels(channels: str) -> str:
    """The channel order of 3-channel tensors: 'rgb' (timm) or 'bgr' (cv2.imread)."""
    if channels not in CHANNEL_ORDERS:
        raise ValueError(f"channels must be one of {CHANNEL_ORDERS}, got {channels!r}")
    return channels


def check_mean_std(mean: Constants, std: Constants) -> None:
    """Both timm normalisation constants or neither; each on the 0-1 scale, std positive."""
    if (mean is None) != (std is None):
        raise ValueError("pass both mean and std (timm normalisation constants, 0-1 scale) or neither")
    if mean is not None:
        _as_channel_tensor(mean, len(torch.as_tensor(mean).flatten()), "mean", torch.empty(0))
        _as_channel_tensor(std, len(torch.as_tensor(std).flatten()), "std", torch.empty(0))


def check_batch(images: torch.Tensor, what: str = "images", *, any_channels: bool = False) -> None:
    """Raise a clear error unless ``images`` is a non-empty (B, C, H, W) uint8 or floating-point tensor.

    The one check of an image batch at the door, shared by the detectors and the mixing classes.

    Args:
        images: the batch to check.
        what: its name in the messages ('images', 'x').
        any_channels: allow any channel count (MixUp and CutMix mix any); by default 1 (gray) or
            3 (colour), the images the detectors read.
    Raises:
        TypeError: not a tensor, or a dtype other than uint8 / floating point.
        ValueError: not 4-D, an empty batch or image, or (unless ``any_channels``) C not in {1, 3}.
    """
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{what} must be a torch.Tensor of shape (B, C, H, W), got {type(images).__name__}")
    if images.dim() != 4:
        raise ValueError(
            f"{what} must have shape (B, C, H, W), got {tuple(images.shape)} ({images.dim()} dims); "
            f"add a batch dimension with {what}.unsqueeze(0) for a single image")
    b, c, h, w = images.shape
    if b == 0:
        raise ValueError(f"{what} is an empty batch (B=0); pass at least one image")
    if not any_channels and c not in (1, 3):
        raise ValueError(f"{what} must have 1 (gray) or 3 (colour) channels, got C={c} in shape {tuple(images.shape)}")
    if h == 0 or w == 0:
        raise ValueError(f"{what} has an empty spatial size {h}x{w}")
    if not (images.dtype == torch.uint8 or images.is_floating_point()):
        raise TypeError(f"{what} must be uint8 (0-255 pixels) or floating point, got {images.dtype}")


def has_shared_rows(x: torch.Tensor) -> bool:
    """Whether two elements of ``x`` share memory (e.g. a batch made by ``expand``).

    Writing into such a tensor changes several samples at once. Dense layouts (contiguous,
    channels-last) are answered without looking further; otherwise the strides are checked:
    sorted by stride, each dimension must step past the whole extent of the smaller ones.
    """
    if x.is_contiguous() or x.is_contiguous(memory_format=torch.channels_last):
        return False
    extent = 1
    for stride, size in sorted((abs(st), n) for n, st in zip(x.shape, x.stride()) if n > 1):
        if stride < extent:
            return True
        extent = stride * size
    return False


# Float input mapped back to 0-255 must land in [0, 255] up to rounding; 16-bit floats round coarser
# (bfloat16 keeps 8 bits: a normalised value near 2.6 is off by up to ~0.9 pixel levels).
_SCALE_TOLERANCE = {torch.float16: 3.0, torch.bfloat16: 3.0}


def _check_pixel_range(pixels: torch.Tensor, dtype: torch.dtype, scale: str) -> None:
    """One min/max pass over the float batch mapped to 0-255 (NaN shows in both, +-inf in one)."""
    low, high = (float(v) for v in torch.aminmax(pixels))
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("images contain NaN or infinite values; saliency of such pixels is undefined")
    tolerance = pixel_tolerance(dtype)
    if low >= -tolerance and high <= 255.0 + tolerance:
        return
    if scale == "max_value=1.0" and high <= 255.0 * 255.0 + tolerance and low >= -tolerance:
        cause = "the images look like 0-255 floats: pass max_value=255.0"
    elif scale == "mean/std":
        cause = ("the mean/std do not match how the batch was normalised, or the batch was changed after "
                 "normalising (e.g. random erasing with --no-prefetcher: use the prefetcher, which mixes "
                 "before erasing)")
    else:
        cause = ("the images look timm-normalised: pass mean=/std= (e.g. timm.data.IMAGENET_DEFAULT_MEAN/STD) "
                 "instead of max_value" if low < -tolerance else "check max_value")
    raise ValueError(f"float images given with {scale} map to pixel values {low:.1f}..{high:.1f}, outside 0-255; "
                     f"{cause}")


def _as_channel_tensor(values: Constants, channels: int, name: str, like: torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(values, dtype=torch.float32, device=like.device).flatten()
    if t.numel() == 1:
        t = t.expand(channels)
    if t.numel() != channels:
        raise ValueError(f"{name} has {t.numel()} values but the images have {channels} channels")
    if name == "std" and (t <= 0).any():
        raise ValueError(f"std must be positive, got {t.tolist()}")
    if (t.abs() > 1.5).any():
        raise ValueError(
            f"{name}={t.tolist()} looks like 0-255 constants; pass timm's 0-1 constants "
            "(e.g. timm.data.IMAGENET_DEFAULT_MEAN / IMAGENET_DEFAULT_STD)")
    return t.view(1, channels, 1, 1)


def float_scale(images: torch.Tensor, mean: Constants = None, std: Constants = None,
                max_value: Optional[float] = None) -> Tuple[torch.Tensor, torch.Tensor, str]:
    """How float images map to 0-255 pixels: ``pixel = x * scale + offset``, per channel.

    Args:
        images: float (B, C, H, W) batch (only its channel count and device are used).
        mean, std: timm's 0-1 normalisation constants (``x * std + mean`` undoes it), or
        max_value: 1.0 (0-1 floats) or 255.0 (0-255 floats); exactly one of the two ways.
    Returns:
        (scale, offset, description): float32 (C,) tensors on the images' device, and a short
        description of the scale for error messages.
    Raises:
        ValueError: neither or both ways given, constants of the wrong length or on the 0-255 scale,
            a non-positive std, or a max_value other than 1.0 / 255.0.
    """
    check_mean_std(mean, std)
    c = images.shape[1]
    if mean is not None:
        if max_value is not None:
            raise ValueError("pass either mean/std or max_value, not both")
        scale = _as_channel_tensor(std, c, "std", images).flatten() * 255.0
        offset = _as_channel_tensor(mean, c, "mean", images).flatten() * 255.0
        return scale, offset, "mean/std"
    if max_value is None:
        raise ValueError(
            "float images need their scale: pass mean=/std= (timm-normalised input, e.g. "
            "timm.data.IMAGENET_DEFAULT_MEAN/STD) or max_value=1.0 (0-1 floats) or max_value=255.0 (0-255 floats)")
    if float(max_value) not in (1.0, 255.0):
        raise ValueError(f"max_value must be 1.0 or 255.0, got {max_value}")
    scale = torch.full((c,), 255.0 / float(max_value), dtype=torch.float32, device=images.device)
    return scale, torch.zeros_like(scale), f"max_value={float(max_value)}"


def check_float_input(images: torch.Tensor, mean: Constants, std: Constants) -> None:
    """The checks every path runs first: a (B, C, H, W) batch; uint8 without mean/std, or float."""
    check_batch(images)
    if images.dtype == torch.uint8 and (mean is not None or std is not None):
        raise ValueError("mean/std were given but the images are uint8 (already 0-255); drop mean/std")


def pixel_tolerance(dtype: torch.dtype) -> float:
    """How far outside 0-255 a correctly scaled float batch may map (rounding of its dtype)."""
    return _SCALE_TOLERANCE.get(dtype, 1.0)


def to_uint8(images: torch.Tensor, mean: Constants = None, std: Constants = None,
             max_value: Optional[float] = None) -> torch.Tensor:
    """Return the batch as uint8 0-255 pixels, (B, C, H, W), on the input's device.

    uint8 input is returned as is. Float input needs either ``mean`` and ``std``
    (timm's 0-1 normalisation constants) or ``max_value`` (1.0 or 255.0); each
    value becomes ``round(x * scale + offset)`` (float32 multiply, then add, round
    half to even; see ``float_scale``), clamped to 0-255, after checking that the
    mapped batch lies within 0-255 up to rounding.
    """
    check_float_input(images, mean, std)
    if images.dtype == torch.uint8:
        return images
    x = images if images.dtype == torch.float32 else images.float()
    scale, offset, described = float_scale(x, mean, std, max_value)
    # Inputs that were integer pixels land within float32 rounding of an integer, so the rounding
    # below recovers them exactly. Multiply and add are two roundings, as in the C kernel.
    x = x.mul(scale.view(1, -1, 1, 1)).add_(offset.view(1, -1, 1, 1))
    _check_pixel_range(x, images.dtype, described)
    return x.round_().clamp_(0, 255).to(torch.uint8)
