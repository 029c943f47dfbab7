"""Assembling a collate's uint8 batch from its samples: two C calls for the whole batch, checks on the result.

timm's prefetcher transforms end in ``MaybePILToTensor`` / ``ToNumpy``: each sample is a (C, H, W)
view of the decoded image's interleaved (H, W, C) memory. ``numpy.stack`` gathers the samples in one
call, keeping that layout (a memcpy per sample); the native extension then writes the planar
(B, C, H, W) batch in one more call, image by image while each is in cache. Samples of any other
layout (contiguous, cropped, flipped with negative strides) are stacked by numpy's strided copy.
No Python step per sample beyond reading them; the checks of what timm's collate contract allows
(uint8, (C, H, W), one size) are made on the stacked result, and only a batch that fails them is
looked at sample by sample, to name the first offending sample. Figures: BENCHMARKS.md (collate).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .saliency import native


def _describe(image) -> str:
    dtype = getattr(image, "dtype", type(image).__name__)
    shape = tuple(getattr(image, "shape", ()))
    return f"{dtype} {shape}"


def _is_uint8_chw(image) -> bool:
    dtype = getattr(image, "dtype", None)
    return dtype in (np.uint8, torch.uint8) and len(getattr(image, "shape", ())) == 3


def _first_bad_sample(images: Sequence) -> ValueError:
    """The error for the first sample that breaks the contract (called only when the batch failed)."""
    for k, image in enumerate(images):
        if not _is_uint8_chw(image):
            return ValueError(f"sample {k}: expected a uint8 (C, H, W) image as timm's fast collate path "
                              f"produces (ToNumpy transform), got {_describe(image)}")
    first = tuple(images[0].shape)
    for k, image in enumerate(images):
        if tuple(image.shape) != first:
            return ValueError(f"sample {k} has shape {tuple(image.shape)}, sample 0 {first}; "
                              "all images of a batch must have one size")
    return ValueError("the samples could not be stacked into one uint8 batch; pass uint8 (C, H, W) numpy "
                      "arrays or CPU tensors")


def stack_uint8_images(images: Sequence) -> torch.Tensor:
    """The collate's samples as one new contiguous (B, C, H, W) uint8 CPU tensor (the bytes of ``torch.stack``).

    Args:
        images: non-empty sequence of uint8 (C, H, W) numpy arrays or CPU tensors of one shape, any strides.
    Returns:
        A new contiguous uint8 tensor; ``images`` are not changed.
    Raises:
        ValueError: naming the first sample that is not a uint8 (C, H, W) image, or whose shape differs
            from sample 0's (the messages of the collate's contract, timm's ``FastCollateMixup`` inputs).
    """
    arrays = images
    if isinstance(images[0], torch.Tensor):  # timm's MaybePILToTensor: numpy views are cheaper for numpy.stack
        try:
            arrays = [image.numpy() for image in images]
        except (AttributeError, RuntimeError, TypeError):  # mixed types, CUDA or grad tensors: as they are
            pass
    try:
        stacked = np.stack(arrays, dtype=np.uint8, casting="no")  # any other dtype raises (bool included)
    except (ValueError, TypeError, RuntimeError):
        # Different shapes or something numpy cannot read (a CUDA tensor, an object). Tensors on
        # another device are still accepted, as torch.stack accepts them.
        if all(isinstance(image, torch.Tensor) and _is_uint8_chw(image) for image in images):
            shapes = {tuple(image.shape) for image in images}
            if len(shapes) == 1:
                return torch.stack(list(images))
        raise _first_bad_sample(images) from None
    if stacked.ndim != 4:
        raise _first_bad_sample(images)
    if stacked.flags.c_contiguous:
        return torch.from_numpy(stacked)
    interleaved = stacked.transpose(0, 2, 3, 1)
    if interleaved.flags.c_contiguous and native.load() is not None:
        return native.planar_from_interleaved(interleaved)
    return torch.from_numpy(np.ascontiguousarray(stacked))


__all__ = ["stack_uint8_images"]
