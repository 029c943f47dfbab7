"""The fused C kernel of fine_grained_kernel.c: built once with the system C compiler, called via ctypes.

The build goes to ``$SMIX_CACHE`` (default ~/.cache/smix)/kernels/, named by a
hash of source, flags and compiler, written atomically (several DataLoader
workers or DDP ranks may race), with its sha256 beside it: a file that does not
match (truncated, damaged) is rebuilt, never loaded. ctypes releases the GIL, so a thread pool runs
images in parallel. Where no compiler works, ``load()`` returns None and the
eager torch path is used; ``SMIX_NATIVE=0`` turns the kernel off.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

import torch

SOURCE = os.path.join(os.path.dirname(__file__), "fine_grained_kernel.c")
# IEEE float semantics are part of the result: no -ffast-math, no FMA contraction.
FLAGS = ["-O3", "-march=native", "-std=c99", "-fPIC", "-shared", "-ffp-contract=off", "-fno-fast-math"]
_lock = threading.Lock()
_lib = None
_tried = False


def _cache_dir() -> str:
    return os.path.join(os.environ.get("SMIX_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "smix")),
                        "kernels")


def _cpu_signature() -> str:
    """-march=native code must not run on another CPU: key the cache by the CPU's feature flags."""
    try:
        with open("/proc/cpuinfo") as f:
            return next((line for line in f if line.startswith(("flags", "Features"))), platform.processor())
    except OSError:
        return platform.processor()


def _digest(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _verified(target: str) -> bool:
    """Whether ``target`` is the complete file its build wrote (sha256 in the ``.sha256`` beside it).

    A truncated or damaged shared object would not fail to load: it would kill the process (SIGBUS)
    when a page of it is touched, in every DataLoader worker. So nothing unverified is loaded.
    """
    try:
        with open(target + ".sha256") as f:
            return f.read().strip() == _digest(target)
    except OSError:
        return False


def _build(compiler: str) -> str:
    with open(SOURCE, "rb") as f:
        source = f.read()
    salt = " ".join(FLAGS + [compiler, platform.machine(), _cpu_signature()])
    key = hashlib.sha256(source + salt.encode()).hexdigest()[:16]
    target = os.path.join(_cache_dir(), f"fine_grained_{key}.so")
    if os.path.exists(target) and _verified(target):
        return target
    os.makedirs(_cache_dir(), exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=_cache_dir())
    os.close(fd)
    try:
        subprocess.run([compiler, *FLAGS, SOURCE, "-o", tmp], check=True, capture_output=True, text=True)
        digest = _digest(tmp)
        os.replace(tmp, target)  # atomic: racing processes end with one complete file
        fd, tmp_digest = tempfile.mkstemp(suffix=".sha256", dir=_cache_dir())
        with os.fdopen(fd, "w") as f:
            f.write(digest + "\n")
        os.replace(tmp_digest, target + ".sha256")
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    if not _verified(target):  # another process replaced the file in between: build again next time
        raise RuntimeError(f"{target} changed while it was being built (another process?); not loading it")
    return target


def load() -> Optional[ctypes.CDLL]:
    """The compiled kernel, or None (with one warning) where it cannot be built."""
    global _lib, _tried
    if os.environ.get("SMIX_NATIVE", "1") == "0":
        return None
    with _lock:
        if _tried:
            return _lib
        _tried = True
        compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
        try:
            if compiler is None:
                raise RuntimeError("no C compiler (cc/gcc/clang) on PATH")
            lib = ctypes.CDLL(_build(compiler))
            lib.smix_fine_grained_batch.restype = ctypes.c_int
            lib.smix_fine_grained_batch.argtypes = [ctypes.c_void_p] + [ctypes.c_int] * 5 + [ctypes.c_void_p]
            _lib = lib
        except (OSError, RuntimeError, subprocess.CalledProcessError) as err:
            detail = getattr(err, "stderr", "") or err
            warnings.warn(f"smix: the fused fine_grained kernel could not be built ({detail}); "
                          "using the slower eager torch path (same results)", RuntimeWarning)
    return _lib


def fine_grained_u8_native(images: torch.Tensor, channels: str, threads: int) -> torch.Tensor:
    """(B, C, H, W) uint8 CPU -> (B, H, W) uint8 with the C kernel, images split over ``threads``."""
    lib = load()
    if lib is None:
        raise RuntimeError("native kernel unavailable")
    images = images.contiguous()
    b, c, h, w = images.shape
    out = torch.empty((b, h, w), dtype=torch.uint8)
    channel_b = 0 if (channels == "bgr" or c == 1) else 2
    stride_in, stride_out = c * h * w, h * w

    def run(start: int, stop: int) -> int:
        return lib.smix_fine_grained_batch(images.data_ptr() + start * stride_in, stop - start, c, h, w,
                                           channel_b, out.data_ptr() + start * stride_out)

    threads = max(1, min(threads, b))
    if threads == 1:
        codes = [run(0, b)]
    else:
        bounds = [round(k * b / threads) for k in range(threads + 1)]
        with ThreadPoolExecutor(threads) as pool:
            codes = list(pool.map(run, bounds[:-1], bounds[1:]))
    if any(codes):
        raise MemoryError(f"fine_grained kernel could not allocate its buffers for {h}x{w} images")
    return out
