"""OpenCV reference detectors, one image at a time (the ``backend='opencv'`` path).

This is the anchor the torch detectors are tested and benchmarked against:
``cv2.saliency.StaticSaliencyFineGrained`` and ``StaticSaliencySpectralResidual``
from opencv-contrib, and the frequency-tuned map built from cv2.cvtColor(Lab)
and cv2.GaussianBlur.

Nothing here runs at import: without cv2.saliency (opencv-contrib) the torch detectors work as
ever, and only what needs OpenCV says so, when it is first asked for
(``warn_once_if_no_cv2_saliency``; ``require_cv2_saliency`` raises at the call itself).
"""
from __future__ import annotations

import threading
import warnings

import numpy as np
import torch

_warned_lock = threading.Lock()
_warned = False  # whether this process has said that cv2.saliency is missing


def require_cv2_saliency():
    """Import cv2 and check that the contrib ``saliency`` module is there, with a fix if not."""
    try:
        import cv2
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "OpenCV is not installed; install it with: pip install opencv-contrib-python-headless") from err
    if not hasattr(getattr(cv2, "saliency", None), "StaticSaliencyFineGrained"):
        raise ImportError(
            f"cv2 {cv2.__version__} at {cv2.__file__} has no cv2.saliency: the plain opencv-python package "
            "(pulled in by mmengine/mmcv) shadows opencv-contrib. Fix: pip install --force-reinstall --no-deps "
            f"opencv-contrib-python-headless=={cv2.__version__.split('-')[0]}  (or rerun tools/install.sh)")
    return cv2


def warn_once_if_no_cv2_saliency(needed_by: str) -> bool:
    """Whether cv2.saliency is there; if not, one RuntimeWarning per process naming what needs it.

    The mixing classes call it when configured with ``backend='opencv'`` or ``official=True``, so a
    missing opencv-contrib shows when the run is set up (in the main process), not first at a batch.
    """
    global _warned
    try:
        require_cv2_saliency()
        return True
    except ImportError as err:
        with _warned_lock:
            said, _warned = _warned, True
        if not said:
            warnings.warn(f"smix_timm: {err}. {needed_by} needs it (the torch detectors do not).",
                          RuntimeWarning, stacklevel=3)
        return False


def _create(cv2, name: str):
    cls = getattr(cv2.saliency, name)
    factory = getattr(cls, "create", None) or getattr(cv2.saliency, name + "_create")
    return factory()


def _to_hwc_bgr(image_u8: torch.Tensor, channels: str) -> np.ndarray:
    arr = image_u8.detach().cpu().numpy()
    if arr.shape[0] == 1:
        return np.ascontiguousarray(arr[0])
    arr = arr.transpose(1, 2, 0)
    if channels == "rgb":
        arr = arr[:, :, ::-1]
    return np.ascontiguousarray(arr)


def _frequency_tuned_one(cv2, bgr: np.ndarray) -> np.ndarray:
    if bgr.ndim == 2:
        bgr = np.repeat(bgr[:, :, None], 3, axis=2)
    lab = cv2.cvtColor(bgr.astype(np.float32) / 255.0, cv2.COLOR_BGR2Lab)
    kernel = np.array([1, 4, 6, 4, 1], np.float32) / 16.0
    blurred = cv2.sepFilter2D(lab, -1, kernel, kernel, borderType=cv2.BORDER_REFLECT_101)
    dist = np.sqrt(((blurred - lab.reshape(-1, 3).mean(0)) ** 2).sum(2))
    peak = dist.max()
    return (dist / peak if peak > 0 else np.zeros_like(dist)).astype(np.float32)


def opencv_saliency(images_u8: torch.Tensor, method: str, channels: str = "rgb") -> torch.Tensor:
    """(B, C, H, W) uint8 -> (B, H, W) float32 via OpenCV, one image at a time."""
    cv2 = require_cv2_saliency()
    maps = []
    if method == "frequency_tuned":
        for img in images_u8:
            maps.append(_frequency_tuned_one(cv2, _to_hwc_bgr(img, channels)))
    else:
        name = {"fine_grained": "StaticSaliencyFineGrained",
                "spectral_residual": "StaticSaliencySpectralResidual"}[method]
        detector = _create(cv2, name)
        for img in images_u8:
            ok, sal = detector.computeSaliency(_to_hwc_bgr(img, channels))
            if not ok:
                raise RuntimeError(f"OpenCV {name}.computeSaliency failed on an image of shape {tuple(img.shape)}")
            maps.append(np.asarray(sal, dtype=np.float32).reshape(img.shape[-2:]))
    return torch.from_numpy(np.stack(maps)).to(images_u8.device)
