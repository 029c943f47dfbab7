"""The fused C kernel of fine_grained_kernel.c, compiled at install time, called through ctypes.

``pip install`` (setup.py) builds the kernel as the extension module
``smix_timm.saliency._fine_grained``; nothing is compiled at run time, so a
compute node without a compiler runs the same code. The kernel carries
x86-64 v4 / v3 / baseline clones and the dynamic loader picks the best one the
CPU has. ctypes releases the GIL during a call, so a thread pool runs parts of
a batch in parallel.

Where the extension is missing (installed without a compiler) or older than its
source (an edited checkout not reinstalled), ``load()`` returns None, one
warning says why and how to fix it, and the eager torch path runs (same
results, slower). ``SMIX_NATIVE=0`` turns the kernel off without a warning.
"""
from __future__ import annotations

import ctypes
import hashlib
import importlib.util
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, List, Optional, Sequence, Tuple

import torch

EXTENSION = "smix_timm.saliency._fine_grained"
SOURCE = os.path.join(os.path.dirname(__file__), "fine_grained_kernel.c")
# Every C source of the extension, in the order setup.py hashes them into SMIX_SOURCE_SHA256.
SOURCES = tuple(os.path.join(os.path.dirname(__file__), name)
                for name in ("fine_grained_kernel.c", "batch_kernel.c", "simd_dispatch.h"))
_lock = threading.Lock()
_lib: Optional[ctypes.CDLL] = None
_tried = False
_pool: Optional[Tuple[int, int, ThreadPoolExecutor]] = None  # (pid, threads, pool)

_U8_ARGS = [ctypes.c_void_p] + [ctypes.c_int] * 5 + [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
_F32_ARGS = ([ctypes.c_void_p] + [ctypes.c_int] * 5 + [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_float]
             + [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p])
MAP_KINDS = {None: None, "u8": torch.uint8, "unit": torch.float32}


def extension_path() -> Optional[str]:
    """File of the compiled extension, or None where the install did not build it."""
    try:
        spec = importlib.util.find_spec(EXTENSION)
    except (ImportError, ValueError):
        return None
    return spec.origin if spec is not None and spec.origin and os.path.exists(spec.origin) else None


def _source_sha256() -> Optional[str]:
    digest = hashlib.sha256()
    try:
        for path in SOURCES:
            with open(path, "rb") as f:
                digest.update(f.read())
    except OSError:  # an installed wheel without the sources: nothing to compare with
        return None
    return digest.hexdigest()


def _open(path: str) -> ctypes.CDLL:
    lib = ctypes.CDLL(path)
    lib.smix_fine_grained_u8.restype = ctypes.c_int
    lib.smix_fine_grained_u8.argtypes = _U8_ARGS
    lib.smix_fine_grained_f32.restype = ctypes.c_longlong
    lib.smix_fine_grained_f32.argtypes = _F32_ARGS
    lib.smix_fine_grained_dispatch.restype = ctypes.c_char_p
    lib.smix_fine_grained_source_sha256.restype = ctypes.c_char_p
    lib.smix_paste_patches.restype = ctypes.c_int
    lib.smix_paste_patches.argtypes = [ctypes.c_void_p] + [ctypes.c_longlong] * 3 + [ctypes.c_void_p] * 4
    lib.smix_planar_from_interleaved_u8.restype = None
    lib.smix_planar_from_interleaved_u8.argtypes = [ctypes.c_void_p] + [ctypes.c_longlong] * 3 + [ctypes.c_void_p]
    built = lib.smix_fine_grained_source_sha256().decode()
    current = _source_sha256()
    if current is not None and built != current:
        raise RuntimeError(f"{path} was built from another version of its C sources (fine_grained_kernel.c, "
                           "batch_kernel.c, simd_dispatch.h); reinstall the package (pip install -e . or "
                           "bash tools/install.sh) to rebuild it")
    return lib


def load() -> Optional[ctypes.CDLL]:
    """The compiled kernel, or None (with one warning per process) where it cannot be used."""
    global _lib, _tried
    if os.environ.get("SMIX_NATIVE", "1") == "0":
        return None
    if _tried:  # every mixing step asks: no lock once the first call has decided
        return _lib
    with _lock:
        if _tried:
            return _lib
        _tried = True
        path = extension_path()
        try:
            if path is None:
                raise RuntimeError(f"the extension {EXTENSION} was not built at install time (no C compiler "
                                   "then?); reinstall with a C compiler present")
            _lib = _open(path)
        except (OSError, RuntimeError, AttributeError) as err:
            warnings.warn(f"smix: the fused fine_grained kernel is not used: {err}. Running the slower eager "
                          "torch path (same results).", RuntimeWarning, stacklevel=2)
    return _lib


def dispatch() -> Optional[str]:
    """Which code the kernel was built for (e.g. the x86-64 clones), or None without the kernel."""
    lib = load()
    return lib.smix_fine_grained_dispatch().decode() if lib is not None else None


def _executor(threads: int) -> ThreadPoolExecutor:
    """One pool per process and thread count; a forked DataLoader worker makes its own."""
    global _pool
    if _pool is None or _pool[0] != os.getpid() or _pool[1] != threads:
        _pool = (os.getpid(), threads, ThreadPoolExecutor(threads, thread_name_prefix="smix-saliency"))
    return _pool[2]


def _run_split(call: Callable[[int, int], int], batch: int, threads: int) -> List[int]:
    threads = max(1, min(threads, batch))
    if threads == 1:
        return [call(0, batch)]
    bounds = [round(k * batch / threads) for k in range(threads + 1)]
    return list(_executor(threads).map(call, bounds[:-1], bounds[1:]))


def _require() -> ctypes.CDLL:
    lib = load()
    if lib is None:
        raise RuntimeError("the fused fine_grained kernel is unavailable (see the warning above)")
    return lib


def _outputs(b: int, h: int, w: int, maps: Optional[str], peaks: bool):
    if maps not in MAP_KINDS:
        raise ValueError(f"maps must be one of {list(MAP_KINDS)}, got {maps!r}")
    out = torch.empty((b, h, w), dtype=MAP_KINDS[maps]) if maps else None
    top = torch.empty((b, 2), dtype=torch.int32) if peaks else None
    return out, top


def _ptr(t: Optional[torch.Tensor], first: int) -> Optional[int]:
    """Address of element ``first`` of ``t`` (NULL for None)."""
    return None if t is None else t.data_ptr() + first * t.element_size()


def fine_grained_u8_native(images: torch.Tensor, channels: str, threads: int, maps: Optional[str] = "u8",
                           peaks: bool = False) -> Tuple[Optional[torch.Tensor], Optional[torch.Tensor]]:
    """(B, C, H, W) uint8 CPU -> (B, H, W) maps and/or (B, 2) int32 [argmax, argmin] flat indices.

    Args:
        images: uint8 pixels, C in {1, 3}, on the CPU.
        channels: 'rgb' or 'bgr' (order of a 3-channel tensor).
        threads: parts of the batch run in parallel on this many threads.
        maps: 'u8' (0-255), 'unit' (float32 in [0, 1], as OpenCV's computeSaliency) or None.
        peaks: whether to find each map's first maximum and minimum.
    Returns:
        (maps or None, peaks or None); a peak is the first maximum / minimum in row-major order.
    """
    lib = _require()
    images = images.contiguous()
    b, c, h, w = images.shape
    out, top = _outputs(b, h, w, maps, peaks)
    channel_b = 0 if (channels == "bgr" or c == 1) else 2

    def run(start: int, stop: int) -> int:
        return lib.smix_fine_grained_u8(_ptr(images, start * c * h * w), stop - start, c, h, w, channel_b,
                                        _ptr(out, start * h * w), int(maps == "unit"), _ptr(top, start * 2))

    if any(code < 0 for code in _run_split(run, b, threads)):
        raise MemoryError(f"fine_grained kernel could not allocate its buffers for {h}x{w} images")
    return out, top


def fine_grained_f32_native(images: torch.Tensor, scale: Sequence[float], offset: Sequence[float],
                            tolerance: float, channels: str, threads: int, maps: Optional[str] = "u8",
                            peaks: bool = False) -> Tuple[Optional[torch.Tensor], Optional[torch.Tensor], int]:
    """As fine_grained_u8_native for float32 images, each value read as the pixel x * scale + offset.

    The mapping is the one ``smix_timm._inputs.to_uint8`` applies (float32 multiply, then add, round
    half to even, clamp to 0-255), fused into the kernel's gray pass: no uint8 copy of the batch.

    Returns:
        (maps or None, peaks or None, number of mapped values outside [-tolerance, 255 + tolerance]
        or not finite); where that number is not 0 the maps mean nothing and the caller raises.
    """
    lib = _require()
    images = images.contiguous()
    b, c, h, w = images.shape
    out, top = _outputs(b, h, w, maps, peaks)
    channel_b = 0 if (channels == "bgr" or c == 1) else 2
    scale_c = (ctypes.c_float * c)(*[float(v) for v in scale])
    offset_c = (ctypes.c_float * c)(*[float(v) for v in offset])

    def run(start: int, stop: int) -> int:
        return lib.smix_fine_grained_f32(_ptr(images, start * c * h * w), stop - start, c, h, w,
                                         channel_b, scale_c, offset_c, tolerance, _ptr(out, start * h * w),
                                         int(maps == "unit"), _ptr(top, start * 2))

    codes = _run_split(run, b, threads)
    if any(code < 0 for code in codes):
        raise MemoryError(f"fine_grained kernel could not allocate its buffers for {h}x{w} images")
    return out, top, int(sum(codes))


def paste_patches(x: torch.Tensor, source, target, has_patch) -> None:
    """Sample i of ``x`` takes the box ``source[i]`` of sample B-1-i, written at its box ``target[i]``.

    One call of batch_kernel.c for the whole batch, in place; every patch is read before any is
    written. The caller guarantees what the C code cannot check: ``x`` is a CPU tensor whose samples
    do not share memory, the boxes are (B, 4) int64 C-contiguous numpy arrays inside the images, each
    source box of the same size as its target box, and ``has_patch`` is a (B,) bool array.

    Args:
        x: (B, C, H, W) CPU tensor of any dtype and strides, changed in place.
        source, target: (B, 4) int64 [y0, y1, x0, x1] boxes (the source in the partner).
        has_patch: (B,) bool, which samples take a patch.
    """
    lib = _require()
    strides = (ctypes.c_longlong * 4)(*x.stride())
    flags = has_patch.astype("uint8")
    code = lib.smix_paste_patches(x.data_ptr(), x.element_size(), x.shape[0], x.shape[1], strides,
                                  source.ctypes.data, target.ctypes.data, flags.ctypes.data)
    if code < 0:
        raise MemoryError("the patch step could not allocate its one-patch buffer")


def planar_from_interleaved(interleaved) -> torch.Tensor:
    """A C-contiguous (B, H, W, C) uint8 numpy array -> a new contiguous (B, C, H, W) uint8 tensor, one C call.

    Args:
        interleaved: C-contiguous uint8 numpy array (B, H, W, C), e.g. ``numpy.stack`` of timm's
            interleaved samples seen as (H, W, C).
    Returns:
        (B, C, H, W) uint8 CPU tensor with the same values, contiguous.
    """
    lib = _require()
    b, h, w, c = interleaved.shape
    out = torch.empty((b, c, h, w), dtype=torch.uint8)
    lib.smix_planar_from_interleaved_u8(interleaved.ctypes.data, b, h * w, c, out.data_ptr())
    return out
