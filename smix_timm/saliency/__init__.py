"""Batched saliency detectors (paper sec. 3.1 eq. 1 and sec. 3.3).

``saliency_map(images, method)`` returns one map per image, (B, H, W) float32
in [0, 1] on the input's device; ``saliency_peaks`` returns only where each map
has its first maximum and minimum (all the mixing needs). Built-in methods: ``fine_grained`` (Montabone
& Soto; bit-exact with OpenCV), ``spectral_residual`` (Hou & Zhang),
``frequency_tuned`` (Achanta et al.). ``backend='opencv'`` runs OpenCV per
image instead (the reference). Users add detectors with
``register_saliency_method(name, fn)`` or pass a callable / nn.Module.
"""
from __future__ import annotations

import functools
from typing import Callable, Dict, Optional, Tuple, Union

import torch

from .. import placement
from .._inputs import Constants, check_channels, check_float_input, float_scale, pixel_tolerance, to_uint8
from . import native
from .fine_grained_torch import fine_grained
from .frequency_tuned_torch import frequency_tuned
from .opencv_backend import opencv_saliency, require_cv2_saliency, warn_once_if_no_cv2_saliency
from .spectral_residual_torch import spectral_residual

Detector = Callable[..., torch.Tensor]
_REGISTRY: Dict[str, Detector] = {
    "fine_grained": fine_grained,
    "spectral_residual": spectral_residual,
    "frequency_tuned": frequency_tuned,
}
_BUILTINS = dict(_REGISTRY)  # tested against OpenCV: their output is not checked again on the hot path
OPENCV_METHODS = ("fine_grained", "spectral_residual", "frequency_tuned")
BACKENDS = ("torch", "opencv")

__all__ = ["saliency_map", "saliency_peaks", "check_backend", "register_saliency_method", "available_methods",
           "resolve_method", "require_cv2_saliency", "warn_once_if_no_cv2_saliency"]


def register_saliency_method(name: str, fn: Detector, overwrite: bool = False) -> None:
    """Make a saliency detector available by name to ``saliency_map`` and ``SaliencyMix`` (and to
    ``--saliency-method`` when registered before the option parser is built).

    Args:
        name: the name to register it under.
        fn: ``fn(images_uint8 (B, C, H, W), channels='rgb'|'bgr') -> (B, H, W)`` maps on the images'
            device, float in [0, 1] or uint8 (divided by 255); its output is checked on every call
            (shape, device, finite, range).
        overwrite: replace a method already registered under ``name``; without it that is an error.

    Raises:
        TypeError: ``fn`` is not callable.
        ValueError: ``name`` is taken and ``overwrite`` is False.
    """
    if not callable(fn):
        raise TypeError(f"saliency method {name!r} must be callable, got {type(fn).__name__}")
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"saliency method {name!r} is already registered; pass overwrite=True to replace it")
    _REGISTRY[name] = fn


def available_methods():
    return sorted(_REGISTRY)


def resolve_method(method: Union[str, Detector]) -> Detector:
    """Look a method up by name, or accept a callable / nn.Module as it is."""
    if callable(method):
        return method
    if method not in _REGISTRY:
        raise ValueError(f"unknown saliency method {method!r}; choose one of {available_methods()} "
                         "or pass a callable returning (B, H, W)")
    return _REGISTRY[method]


def _check_output(maps: torch.Tensor, images: torch.Tensor, name: str, trusted: bool) -> torch.Tensor:
    """The detector's maps as float32 on the images' device; a detector of the user's is checked in full.

    A user's maps must be (B, H, W), on the images' device, finite and in [0, 1]: a NaN map has its
    argmax at (0, 0), so every box would land in the corner with no error.
    """
    b, _, h, w = images.shape
    if not isinstance(maps, torch.Tensor) or tuple(maps.shape) != (b, h, w):
        got = tuple(maps.shape) if isinstance(maps, torch.Tensor) else type(maps).__name__
        raise ValueError(f"saliency method {name} must return a (B, H, W) = {(b, h, w)} tensor, got {got}")
    if trusted:
        return maps.to(device=images.device, dtype=torch.float32)
    if maps.device != images.device:
        raise ValueError(f"saliency method {name} returned maps on {maps.device}, the images are on "
                         f"{images.device}; return them on the images' device")
    if not (maps.is_floating_point() or maps.dtype == torch.uint8):
        raise ValueError(f"saliency method {name} must return float maps in [0, 1], got dtype {maps.dtype}")
    maps = maps.to(torch.float32) / (255.0 if maps.dtype == torch.uint8 else 1.0)
    low, high = (float(v) for v in torch.aminmax(maps))
    if not (0.0 <= low and high <= 1.0):  # NaN fails both
        raise ValueError(f"saliency method {name} must return finite maps in [0, 1], got values {low}..{high}; "
                         "normalise them (e.g. divide by the per-image maximum)")
    return maps


def check_backend(backend: str, method: Union[str, Detector]) -> str:
    """'torch' (batched, any method) or 'opencv' (the reference, OpenCV's three detectors only)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "opencv" and (callable(method) or method not in OPENCV_METHODS):
        raise ValueError(f"backend='opencv' supports {OPENCV_METHODS}, not {method!r}; use backend='torch'")
    return backend


def _check_choices(channels: str, backend: str, method: Union[str, Detector]) -> None:
    check_channels(channels)
    check_backend(backend, method)


def _scale_lists(channels: int, mean: Constants, std: Constants, max_value: Optional[float]):
    """``float_scale``'s per-channel scale and offset as Python lists, remembered for the usual constants.

    The mixing classes call the kernel with the same timm constants at every step; building the
    constant tensors anew cost more than the rest of the call's bookkeeping at 32 px.
    """
    def key(values):
        if values is None:
            return None
        return tuple(float(v) for v in values) if isinstance(values, (tuple, list)) else float(values)

    if isinstance(mean, torch.Tensor) or isinstance(std, torch.Tensor):  # tensors can change in place: no memo
        return _compute_scale_lists(channels, mean, std, max_value)
    return _cached_scale_lists(channels, key(mean), key(std), max_value)


def _compute_scale_lists(channels, mean, std, max_value):
    scale, offset, _ = float_scale(torch.empty(1, channels, 1, 1), mean, std, max_value)
    return scale.tolist(), offset.tolist()


@functools.lru_cache(maxsize=64)
def _cached_scale_lists(channels, mean, std, max_value):
    return _compute_scale_lists(channels, mean, std, max_value)


def _fused_fine_grained(images: torch.Tensor, method, backend: str, channels: str, mean: Constants,
                        std: Constants, max_value: Optional[float], maps: Optional[str], peaks: bool):
    """(maps, int32 [argmax, argmin]) from the fused C kernel, or None where it does not apply.

    It applies to the built-in fine_grained on CPU uint8 or float32 batches; float pixels are mapped
    inside the kernel (no uint8 copy of the batch), with the range check of ``to_uint8``.
    """
    if (backend != "torch" or not isinstance(method, str) or method != "fine_grained"
            or _REGISTRY.get(method) is not _BUILTINS[method] or images.device.type != "cpu"
            or images.dtype not in (torch.uint8, torch.float32) or native.load() is None):
        return None
    threads = torch.get_num_threads()
    if images.dtype == torch.uint8:
        return native.fine_grained_u8_native(images, channels, threads, maps=maps, peaks=peaks)
    scale, offset = _scale_lists(images.shape[1], mean, std, max_value)
    out, top, outside = native.fine_grained_f32_native(images, scale, offset, pixel_tolerance(images.dtype), channels,
                                                       threads, maps=maps, peaks=peaks)
    if outside:
        to_uint8(images, mean=mean, std=std, max_value=max_value)  # raises, naming the range and the likely cause
        described = float_scale(images, mean, std, max_value)[2]
        raise ValueError(f"float images given with {described} map to {outside} values outside 0-255")
    return out, top


def saliency_map(images: torch.Tensor, method: Union[str, Detector] = "fine_grained", *,
                 mean: Constants = None, std: Constants = None, max_value: Optional[float] = None,
                 channels: str = "rgb", backend: str = "torch") -> torch.Tensor:
    """Saliency of each image: (B, C, H, W) uint8 or float -> (B, H, W) float32 in [0, 1] (paper sec. 3.1).

    Args:
        images: (B, C, H, W), C in {1, 3}, uint8 0-255 or float, on any device.
        method: 'fine_grained' (the paper's, bit-exact with OpenCV), 'spectral_residual',
            'frequency_tuned', a registered name, or a callable / nn.Module (uint8 RGB -> (B, H, W)).
        mean, std: timm's 0-1 normalisation constants of float input; or
        max_value: 1.0 or 255.0 for unnormalised float input. Float images are read as the 0-255
            pixels they map to, because the detectors (like OpenCV's) are defined on those.
        channels: whether a 3-channel tensor is 'rgb' (timm) or 'bgr' (cv2.imread).
        backend: 'torch' (batched) or 'opencv' (per image, the reference).
    Returns:
        (B, H, W) float32 in [0, 1] on the images' device; for 'fine_grained' exactly OpenCV's
        ``computeSaliency`` output.
    Raises:
        ValueError / TypeError: a bad batch, float input without its scale or mapping outside 0-255,
            an unknown method, or a user detector returning something else than (B, H, W) in [0, 1].

    >>> import torch
    >>> images = torch.zeros(2, 3, 40, 40, dtype=torch.uint8)
    >>> images[:, :, 10:20, 10:20] = 255
    >>> maps = saliency_map(images)
    >>> tuple(maps.shape), maps.dtype, bool(maps.max() <= 1.0)
    ((2, 40, 40), torch.float32, True)
    >>> bool(torch.equal(maps, saliency_map(images, backend="opencv")))
    True
    """
    _check_choices(channels, backend, method)
    check_float_input(images, mean, std)
    fused = _fused_fine_grained(images, method, backend, channels, mean, std, max_value, maps="unit", peaks=False)
    if fused is not None:
        return fused[0]
    pixels = to_uint8(images, mean=mean, std=std, max_value=max_value)
    if backend == "opencv":
        return opencv_saliency(pixels, method, channels)
    if isinstance(method, str):
        detector = resolve_method(method)
        trusted = _BUILTINS.get(method) is detector  # our detectors, not one registered by the user
        return _check_output(detector(pixels, channels=channels), images, method, trusted)
    # User detectors see uint8 RGB pixels, whatever order the caller had.
    rgb = pixels.flip(1) if channels == "bgr" and pixels.shape[1] == 3 else pixels
    return _check_output(method(rgb), images, type(method).__name__, trusted=False)


def saliency_peaks(images: torch.Tensor, method: Union[str, Detector] = "fine_grained", *,
                   mean: Constants = None, std: Constants = None, max_value: Optional[float] = None,
                   channels: str = "rgb", backend: str = "torch") -> Tuple[torch.Tensor, torch.Tensor]:
    """Where each image's saliency map has its first maximum and first minimum (paper sec. 3.1, eq. 2).

    Args:
        images, method, mean, std, max_value, channels, backend: as for ``saliency_map``.
    Returns:
        (maxima, minima): (B, 2) int64 [y, x] on the CPU, first occurrence in row-major order,
        exactly ``placement.peak_positions(saliency_map(...))``. The built-in fine_grained on CPU
        finds them inside the C kernel without writing the maps out.
    """
    _check_choices(channels, backend, method)
    check_float_input(images, mean, std)
    fused = _fused_fine_grained(images, method, backend, channels, mean, std, max_value, maps=None, peaks=True)
    if fused is None:
        return placement.peak_positions(saliency_map(images, method, mean=mean, std=std, max_value=max_value,
                                                     channels=channels, backend=backend))
    yx = placement.flat_to_yx(fused[1], images.shape[-1])  # (B, 2 [max, min], 2 [y, x])
    return yx[:, 0], yx[:, 1]
