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
