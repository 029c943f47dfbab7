"""Timing helpers and the accelerator rows of tools/benchmarks/benchmark_saliency.py.

``timed`` is the one timer of the speed benchmarks (best of repeats after a warm-up, optional
synchronisation and untimed setup). ``device_rows`` measures, on one device, each detector on a batch,
one per-sample SaliencyMix call against timm's CutMix, and against one bf16 channels-last training step.
"""
from __future__ import annotations

import time

import torch
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, Mixup

from smix_lab.bench.photos import photo_crops
from smix_timm.mix import SaliencyMix
from smix_timm.saliency import saliency_map


def timed(fn, repeat: int, sync=lambda: None, setup=None) -> float:
    """Best of ``repeat`` wall times (seconds), after one warm-up call.

    With ``setup``, each call is ``fn(setup())`` and only ``fn`` is timed (e.g. a fresh copy of a batch
    that ``fn`` mixes in place, made outside the timer).
    """
    def call():
        arg = setup() if setup is not None else None
        sync()
        start = time.perf_counter()
        fn(arg) if setup is not None else fn()
        sync()
        return time.perf_counter() - start

    call()
    return min(call() for _ in range(repeat))


KERNEL_SIZES = ((256, 32), (128, 64), (16, 224))  # (batch, side): about the same pixels per batch


def kernel_ns_per_pixel(repeat: int, sizes=KERNEL_SIZES) -> dict:
    """The fused fine_grained kernel's cost per pixel at several sizes, one thread, peaks only (what the
    mixing asks of it), on photo crops: {side: ns per pixel}, best of ``repeat``. Empty without the kernel."""
    from smix_timm.saliency import native

    if native.load() is None:
        return {}
    out = {}
    for batch, side in sizes:
        u8 = photo_crops(batch, side)
        t = timed(lambda: native.fine_grained_u8_native(u8, "rgb", 1, maps=None, peaks=True), repeat)
        out[side] = 1e9 * t / (batch * side * side)
    return out


def count_torch_ops(fn) -> int:
    """How many torch operators one call of ``fn()`` dispatches (on a GPU, about one kernel launch each).

    Counted with ``torch.utils._python_dispatch.TorchDispatchMode``, below autograd: every aten op,
    views and copies included.
    """
    from torch.utils._python_dispatch import TorchDispatchMode

    class Counter(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.calls = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.calls += 1
            return func(*args, **(kwargs or {}))

    counter = Counter()
    with counter:
        fn()
    return counter.calls


def device_rows(device: torch.device, batch: int, size: int, repeat: int, model_name: str = "resnet50") -> dict:
    """The accelerator rows: each detector on a (batch, 3, size, size) batch, one per-sample SaliencyMix
    call against timm's CutMix (batch and per-sample), its torch-op count, and one bf16 channels-last
    training step of ``model_name``."""
    import timm

    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    u8 = photo_crops(batch, size).to(device)
    mean = torch.tensor(IMAGENET_DEFAULT_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_DEFAULT_STD, device=device).view(1, 3, 1, 1)
    x = (u8.float() / 255 - mean) / std
    target = torch.arange(batch, device=device) % 1000
    rows = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else str(device), "batch": batch}
    print(f"\n== {rows['device']}: batch {batch}x3x{size}x{size}")
    cpu_maps = saliency_map(u8[:8].cpu())
    for method in ("fine_grained", "spectral_residual", "frequency_tuned"):
        t = timed(lambda: saliency_map(u8, method), repeat, sync)
        rows[method + " ms"] = 1e3 * t
        extra = ""
        if method == "fine_grained":
            rows["fine_grained == CPU kernel"] = bool(torch.equal(saliency_map(u8[:8]).cpu(), cpu_maps))
            extra = f"   (== CPU kernel on 8 images: {rows['fine_grained == CPU kernel']})"
        print(f"  {method:18s} {1e3 * t:8.2f} ms  {batch / t:9.1f} img/s{extra}")
    cutmix = Mixup(mixup_alpha=0.0, cutmix_alpha=1.0, num_classes=1000)
    cutmix_elem = Mixup(mixup_alpha=0.0, cutmix_alpha=1.0, num_classes=1000, mode="elem")
    mix = SaliencyMix(mixup_alpha=0.0, saliencymix_alpha=1.0, num_classes=1000, mean=IMAGENET_DEFAULT_MEAN,
                      std=IMAGENET_DEFAULT_STD)
    rows["cutmix ms"] = 1e3 * timed(lambda xi: cutmix(xi, target), repeat, sync, setup=x.clone)
    rows["cutmix per-sample ms"] = 1e3 * timed(lambda xi: cutmix_elem(xi, target), repeat, sync, setup=x.clone)
    rows["saliencymix ms"] = 1e3 * timed(lambda xi: mix(xi, target), repeat, sync, setup=x.clone)
    rows["saliencymix torch ops"] = count_torch_ops(lambda: mix(x.clone(), target)) - 1  # minus the clone
    model = timm.create_model(model_name, num_classes=1000).to(device).to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    images = x.contiguous(memory_format=torch.channels_last)

    def train_step():
        with torch.autocast(device.type, dtype=torch.bfloat16):
            loss = torch.nn.functional.cross_entropy(model(images), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    rows["train step ms"] = 1e3 * timed(train_step, repeat, sync)
    print(f"  one mixing call: SaliencyMix per-sample {rows['saliencymix ms']:.2f} ms "
          f"({rows['saliencymix torch ops']} torch ops), timm CutMix {rows['cutmix ms']:.2f} ms "
          f"({rows['saliencymix ms'] / rows['cutmix ms']:.2f}x), timm per-sample CutMix "
          f"{rows['cutmix per-sample ms']:.2f} ms")
    print(f"  one {model_name} bf16 channels-last training step: {rows['train step ms']:.1f} ms; SaliencyMix "
          f"is {100 * rows['saliencymix ms'] / rows['train step ms']:.2f}% of it")
    return rows
