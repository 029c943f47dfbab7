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

from smix_lab.bench.speed import timed
from smix_timm.mix import FastCollateSaliencyMix

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


class InMemoryImages(torch.utils.data.Dataset):
    """Images held in memory as one (N, H, W, 3) uint8 array, read as PIL images (what torchvision's CIFAR
    datasets, which our trainer reads, give timm's transforms). timm's ``create_loader`` sets ``transform``."""

    def __init__(self, images, labels, transform=None):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        from PIL import Image

        image = Image.fromarray(self.images[index])
        return (self.transform(image) if self.transform is not None else image), int(self.labels[index])


def build_small_image_loader(images, labels, collate: Optional[Callable], batch_size: int, workers: int,
                             pad: int = 4):
    """timm's training loader on in-memory images with the CIFAR recipe (pad ``pad`` px + random crop to the
    images' size, flip: ``train_data.replace_crop_with_pad``, as ``tools/train.py --train-pad``), prefetcher
    on, CPU device, no colour jitter.

    Args:
        images: (N, H, W, 3) uint8 array; labels: (N,) class indices.
        collate: the loader's collate (None: timm's fast_collate).
        batch_size, workers: as timm's ``create_loader``.
        pad: zero padding before the random crop.
    """
    from smix_timm.train.data import replace_crop_with_pad

    size = images.shape[1]
    loader = create_loader(InMemoryImages(images, labels), input_size=(3, size, size), batch_size=batch_size,
                           is_training=True, use_prefetcher=True, color_jitter=0.0, num_workers=workers,
                           collate_fn=collate, device=torch.device("cpu"), persistent_workers=workers > 0)
    replace_crop_with_pad(loader, pad, (3, size, size))
    return loader


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


def collate_costs(samples, repeats: int = 15, classes: int = 8) -> Dict[str, float]:
    """ms per batch of each collate on the same ``samples`` (a batch of timm's prefetcher samples), one
    thread, best of ``repeats``, and the pieces of ours: batch assembly and the fine_grained kernel.

    Args:
        samples: list of (uint8 (C, H, W) array or tensor, label), as timm's transforms give them.
        repeats: timed repetitions of each part.
        classes: num_classes of the collates (labels must be below it).
    Returns:
        ms per batch by name.
    """
    from timm.data.loader import fast_collate

    from smix_timm.batch_assembly import stack_uint8_images
    from smix_timm.saliency import native

    images = [image for image, _ in samples]
    collates = standard_collates()
    cutmix = collates["timm FastCollateMixup (CutMix)"](classes)
    saliencymix = collates["FastCollateSaliencyMix"](classes)
    stacked = stack_uint8_images(images)
    costs = {
        "timm fast_collate (no mixing)": _best_ms(lambda: fast_collate(samples), repeats),
        "timm FastCollateMixup (CutMix)": _best_ms(lambda: cutmix(samples), repeats),
        "FastCollateSaliencyMix": _best_ms(lambda: saliencymix(samples), repeats),
        "batch assembly, torch.stack": _best_ms(lambda: torch.stack([torch.as_tensor(i) for i in images]), repeats),
        "batch assembly, ours (numpy.stack + C)": _best_ms(lambda: stack_uint8_images(images), repeats),
    }
    if native.load() is not None:
        costs["fine_grained kernel (peaks only)"] = _best_ms(
            lambda: native.fine_grained_u8_native(stacked, "rgb", 1, maps=None, peaks=True), repeats)
    return costs


def _one_thread(fn):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return fn()
    finally:
        torch.set_num_threads(threads)


def small_image_costs(loader, batch_size: int, repeats: int = 15) -> Dict[str, float]:
    """``worker_costs`` for a loader of ``build_small_image_loader``: its own dataset and transform."""
    def measure():
        dataset = loader.dataset
        samples = [dataset[i] for i in range(batch_size)]
        costs = {"samples (pad, crop, flip)": _best_ms(lambda: [dataset[i] for i in range(batch_size)], repeats)}
        costs.update(collate_costs(samples, repeats, classes=int(max(dataset.labels)) + 1))
        return costs

    return _with_expected_ratio(_one_thread(measure), "samples (pad, crop, flip)")


def _with_expected_ratio(costs: Dict[str, float], samples_key: str) -> Dict[str, float]:
    base = costs[samples_key]
    cutmix, ours = costs["timm FastCollateMixup (CutMix)"], costs["FastCollateSaliencyMix"]
    costs["expected_ratio"] = (base + cutmix) / (base + ours)
    return costs


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

    def measure():
        dataset = ImageDataset(folder)
        if len(dataset) < batch_size:
            raise ValueError(f"{folder} holds {len(dataset)} images, fewer than one batch of {batch_size}")
        dataset.transform = create_transform((3, size, size), is_training=True, use_prefetcher=True,
                                             color_jitter=0.0)
        samples = [dataset[i] for i in range(batch_size)]
        costs = {"samples (decode, crop, flip)": _best_ms(lambda: [dataset[i] for i in range(batch_size)], repeats)}
        costs.update(collate_costs(samples, repeats))
        return costs

    return _with_expected_ratio(_one_thread(measure), "samples (decode, crop, flip)")


ANCHOR = "timm FastCollateMixup (CutMix)"


def interleaved_rates(make_loader: Callable[[Optional[Callable]], object], rounds: int, passes: int,
                      classes: int = 8, log=print) -> Dict[str, dict]:
    """Images/s of each standard collate, measured in interleaved rounds (each collate once per round).

    Args:
        make_loader: collate -> a fresh training loader using it.
        rounds, passes: rounds of measurements; passes over the data per measurement.
        classes: num_classes of the collates.
        log: where each round's line goes.
    Returns:
        Per collate: images/s per round, their median, the per-round ratio to timm's CutMix collate
        and the median of those ratios.
    """
    import statistics

    collates = standard_collates()
    rates = {name: [] for name in collates}
    for r in range(rounds):
        for name, make in collates.items():
            loader = make_loader(make(classes))
            rates[name].append(images_per_second(loader, passes))
            del loader
        line = ", ".join(f"{name.split(' (')[0]} {rate[-1]:.1f}" for name, rate in rates.items())
        log(f"  round {r + 1}/{rounds}: images/s {line}")
    out = {}
    for name, values in rates.items():
        ratios = [v / a for v, a in zip(values, rates[ANCHOR])]
        out[name] = {"images_per_s": values, "median": statistics.median(values), "ratio_to_cutmix": ratios,
                     "median_ratio": statistics.median(ratios)}
    return out


def print_rates(results: Dict[str, dict], log=print) -> None:
    """The table of ``interleaved_rates``: median images/s and ratio to CutMix per collate."""
    log(f"\n{'collate':34s} {'median img/s':>12s} {'vs CutMix (median of per-round ratios)':>40s}")
    for name, r in results.items():
        log(f"{name:34s} {r['median']:12.1f} {r['median_ratio']:39.3f}x "
            f"(per round {min(r['ratio_to_cutmix']):.3f}-{max(r['ratio_to_cutmix']):.3f})")


def print_costs(costs: Dict[str, float], batch: int, repeats: int, log=print) -> None:
    """The one-thread cost breakdown of ``worker_costs`` / ``small_image_costs``."""
    log(f"One worker's costs per batch of {batch}, one thread, best of {repeats}:")
    for name, value in costs.items():
        if name != "expected_ratio":
            log(f"  {name:40s} {value:8.2f} ms")
    log(f"  expected images/s ratio of a worker-bound loader, SaliencyMix to CutMix: {costs['expected_ratio']:.3f}x")
