"""The official SaliencyMix code's box, reproduced on purpose (for ablations only).

The official training script (and OpenMMLab's OpenMixup, which copied it) calls
``saliency_bbox(input[rand_index[0]], lam)``: it hands OpenCV's fine-grained
detector the *normalised float32* image (HWC), which OpenCV reads as if it were
uint8 pixels, so the map is unrelated to the image's true saliency; it computes
one map per batch (from the first source image) and pastes that one box,
centred on the peak and clipped at the border, into every sample (docs/saliency.md).
``SaliencyMix(official=True)`` uses this module: ``official_input`` (what OpenCV was fed),
``official_peak`` (the map's argmax) and ``official_box_pairs`` (the batch's boxes).
"""
from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np
import torch

from ._inputs import Constants, _as_channel_tensor
from .placement import Box, BoxPairs
from .saliency import require_cv2_saliency


def official_input(image: torch.Tensor, mean: Constants = None, std: Constants = None) -> torch.Tensor:
    """The (C, H, W) float image the official code fed to OpenCV: the timm-normalised one.

    A float image is taken to be that already (timm's batch path) and returned as it is. A uint8
    image (the collate path) is normalised again, ``(pixels / 255 - mean) / std`` in float32, with
    timm's 0-1 constants.

    Raises:
        ValueError: a uint8 image without mean/std (nothing to rebuild the normalised image from).
    """
    if image.dtype != torch.uint8:
        return image
    if mean is None or std is None:
        raise ValueError("official=True on uint8 input needs mean/std to rebuild the normalised float "
                         "image the official code fed to OpenCV")
    channels = image.shape[0]
    mean_c = _as_channel_tensor(mean, channels, "mean", image)[0]
    std_c = _as_channel_tensor(std, channels, "std", image)[0]
    return (image.float() / 255.0 - mean_c) / std_c


def official_peak(image_chw: torch.Tensor) -> Tuple[int, int]:
    """(row, col) of the official map's argmax for one (C, H, W) float image, exactly as the official code."""
    cv2 = require_cv2_saliency()
    temp_img = image_chw.detach().float().cpu().numpy().transpose(1, 2, 0)
    detector = cv2.saliency.StaticSaliencyFineGrained.create() \
        if hasattr(cv2.saliency.StaticSaliencyFineGrained, "create") \
        else cv2.saliency.StaticSaliencyFineGrained_create()
    _, saliency = detector.computeSaliency(temp_img)
    saliency = (saliency * 255).astype("uint8")
    row, col = np.unravel_index(np.argmax(saliency, axis=None), saliency.shape)
    return int(row), int(col)


def official_boxes(peak: Tuple[int, int], lam: np.ndarray, height: int, width: int) -> np.ndarray:
    """The official ``saliency_bbox`` box for each lambda, (N,) -> (N, 4) int64 [y0, y1, x0, x1].

    Sides int(size * sqrt(1 - lam)), +-side//2 around the one peak of the batch, clipped to the image
    (so an odd side loses a pixel, as in the official code).
    """
    cut_rat = np.sqrt(1.0 - np.asarray(lam, dtype=np.float64).reshape(-1))
    half_rows, half_cols = (height * cut_rat).astype(np.int64) // 2, (width * cut_rat).astype(np.int64) // 2
    row, col = peak
    return np.stack([np.clip(row - half_rows, 0, height), np.clip(row + half_rows, 0, height),
                     np.clip(col - half_cols, 0, width), np.clip(col + half_cols, 0, width)], axis=1)


def official_box(peak: Tuple[int, int], lam: float, height: int, width: int) -> Box:
    """One lambda's ``official_boxes`` box, as a tuple."""
    return tuple(int(v) for v in official_boxes(peak, np.array([lam]), height, width)[0])


def official_box_pairs(peak: Tuple[int, int], batch: int, chosen: Sequence[int], lam: np.ndarray,
                       height: int, width: int) -> BoxPairs:
    """The batch's boxes under the official code: for each chosen sample, its lambda's box around
    the one ``peak``, the same place in source and target (``official_boxes``); B rows."""
    chosen = np.asarray(chosen, dtype=np.int64).reshape(-1)
    pairs = BoxPairs.empty(batch)
    if len(chosen):
        boxes = official_boxes(peak, np.asarray(lam, dtype=np.float64).reshape(-1)[chosen], height, width)
        pairs.source[chosen] = pairs.target[chosen] = boxes
        pairs.has_patch[chosen] = True
    return pairs
