"""Images per second through timm's real training loader, with one collate or another.

What a user feels: timm's ``create_loader`` (JPEG decode, RandomResizedCrop,
flip, ``ToNumpy``, the prefetcher's uint8 collate, then normalisation in the
main process), with the mixing done by the collate (``FastCollateMixup`` or
``FastCollateSaliencyMix``). No model runs; the loader is the whole job.
"""
from __future__ import annotations

import time
from typing import Callable, Dict, Optional

import torch
from timm.data import FastCollateMixup, ImageDataset, create_loader

from ..mix import FastCollateSaliencyMix
from .speed import timed

CollateFactory = Callable[[int], Optional[Callable]]


def standard_collates() -> Dict[str, CollateFactory]:
    """The collates compared: timm's fast collate alone, timm's CutMix, SaliencyMix (paper's setting)."""
    return {
        "no mixing (timm fast_collate)": lambda classes: None,
        "timm FastCollateMixup (CutMix)": lambda classes: FastCollateMixup(
            mixup_alpha=0.0, cutmix_alpha=1.0, label_smoothing=0.1, num_classes=classes),
        "FastCollateSaliencyMix": lambda classes: FastCollateSaliencyMix(
            mixup_alpha=0.0, saliencymix_alpha=1.0, label_smoothing=0.1, num_classes=classes),
    }


def build_loader(folder: str, collate: Optional[Callable], batch_size: int, workers: int, size: int = 224):
    """timm's training loader on an ImageFolder, prefetcher on, CPU device, no colour jitter."""
    dataset = ImageDataset(folder)
    return create_loader(dataset, input_size=(3, size, size), batch_size=batch_size, is_training=True,
                         use_prefetcher=True, color_jitter=0.0, num_workers=workers, collate_fn=collate,
                         device=torch.device("cpu"), persistent_workers=workers > 0)


def images_per_second(loader, passes: int = 1) -> float:
    """Images per second over ``passes`` passes of the loader, counted from its first batch
    (the worker start-up and the first batch are left out)."""
    seen, start = 0, None
    for _ in range(passes):
        for images, _target in loader:
            if start is None:
                start = time.perf_counter()
                continue
            seen += len(images)
    if start is None or seen == 0:
        raise ValueError("the loader gave fewer than two batches; use more images or a smaller batch")
    return seen / (time.perf_counter() - start)


def _best_ms(call: Callable[[], object], repeats: int) -> float:
    """``speed.timed`` (best of ``repeats`` after a warm-up call) in ms."""
    return 1e3 * timed(call, repeats)


def worker_costs(folder: str, batch_size: int = 64, repeats: int = 15, size: int = 224) -> Dict[str, float]:
    """What one loader worker spends per batch, measured in this process on one thread (a worker's share).

    The samples come from timm's own training transform on the JPEGs of ``folder`` (decode,
    RandomResizedCrop, flip, ``MaybePILToTensor``); each collate then runs on the same samples.
    Best of ``repeats``, in ms per batch. ``expected_ratio`` is the images/s ratio of a loader whose
    worker does nothing else: (samples + CutMix collate) / (samples + SaliencyMix collate).

    Args:
        folder: an ImageFolder of JPEGs (``photos.write_jpeg_folder``).
        batch_size: samples per batch.
        repeats: timed repetitions of each part.
        size: crop size.
    Returns:
        ms per batch of each part, and ``expected_ratio``.
    """
    from timm.data import create_transform
    from timm.data.loader import fast_collate

    from ..batch_assembly import stack_uint8_images
    from ..saliency import native

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        dataset = ImageDataset(folder)
        if len(dataset) < batch_size:
            raise ValueError(f"{folder} holds {len(dataset)} images, fewer than one batch of {batch_size}")
        dataset.transform = create_transform((3, size, size), is_training=True, use_prefetcher=True,
                                             color_jitter=0.0)
        samples = [dataset[i] for i in range(batch_size)]
        images = [image for image, _ in samples]
        collates = standard_collates()
        cutmix = collates["timm FastCollateMixup (CutMix)"](8)
        saliencymix = collates["FastCollateSaliencyMix"](8)
        stacked = torch.stack(images)
        costs = {
            "samples (decode, crop, flip)": _best_ms(lambda: [dataset[i] for i in range(batch_size)], repeats),
            "timm fast_collate (no mixing)": _best_ms(lambda: fast_collate(samples), repeats),
            "timm FastCollateMixup (CutMix)": _best_ms(lambda: cutmix(samples), repeats),
            "FastCollateSaliencyMix": _best_ms(lambda: saliencymix(samples), repeats),
            "batch assembly, torch.stack": _best_ms(lambda: torch.stack(images), repeats),
            "batch assembly, ours (cv2.split)": _best_ms(lambda: stack_uint8_images(images), repeats),
        }
        if native.load() is not None:
            costs["fine_grained kernel (peaks only)"] = _best_ms(
                lambda: native.fine_grained_u8_native(stacked, "rgb", 1, maps=None, peaks=True), repeats)
    finally:
        torch.set_num_threads(threads)
    base = costs["samples (decode, crop, flip)"]
    cutmix_batch = base + costs["timm FastCollateMixup (CutMix)"]
    costs["expected_ratio"] = cutmix_batch / (base + costs["FastCollateSaliencyMix"])
    return costs
