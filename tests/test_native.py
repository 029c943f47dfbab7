"""The fused C kernel: built at install time, loaded without a compiler, exact, and its fallbacks say so."""
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

from smix_timm import saliency_map
from smix_timm.placement import peak_positions
from smix_timm.saliency import fine_grained_torch as fg
from smix_timm.saliency import native, saliency_peaks
from tests.images import photographs, synthetic


def photo_batch(size=64, count=6):
    photos = list(photographs().values())
    crops = [np.ascontiguousarray(photos[k % len(photos)][k * 7:k * 7 + size, k * 5:k * 5 + size])
             for k in range(count)]
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).contiguous()


def normalise(u8):
    mean = torch.tensor(IMAGENET_DEFAULT_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_DEFAULT_STD).view(1, 3, 1, 1)
    return (u8.float() / 255 - mean) / std


@pytest.fixture
def fresh_loader(monkeypatch):
    """native.load() as in a new process (it decides once per process)."""
    monkeypatch.setattr(native, "_tried", False)
    monkeypatch.setattr(native, "_lib", None)
    yield


def test_kernel_loads_with_no_compiler_on_path(tmp_path):
    """After install, with cc/gcc/clang gone from PATH, the fast kernel still loads (nothing is built at run time)."""
    env = {k: v for k, v in os.environ.items() if k not in ("CC", "CXX")}
    env["PATH"] = str(tmp_path)  # an empty folder: no compiler, nothing else either
    script = ("import shutil, warnings\n"
              "warnings.simplefilter('error')\n"
              "assert not any(shutil.which(c) for c in ('cc', 'gcc', 'clang')), 'a compiler is still on PATH'\n"
              "from smix_timm.saliency import native\n"
              "assert native.load() is not None, 'kernel not loaded'\n"
              "print(native.dispatch())\n")
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip()


def test_extension_is_a_package_file_built_for_several_cpus():
    path = native.extension_path()
    assert path is not None and os.path.dirname(path) == os.path.dirname(native.__file__)
    if sys.platform.startswith("linux") and os.uname().machine == "x86_64":
        assert "v4/v3/baseline" in native.dispatch()


def test_missing_extension_warns_once_and_falls_back(fresh_loader, monkeypatch):
    monkeypatch.setattr(native, "extension_path", lambda: None)
    batch = photo_batch(48, 3)
    with pytest.warns(RuntimeWarning, match="not built at install time.*eager torch path"):
        maps = saliency_map(batch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once, not at every call
        again = saliency_map(batch)
    assert torch.equal(maps, again) and torch.equal(maps, fg.fine_grained(batch, impl="eager"))
    with pytest.raises(RuntimeError, match="unavailable"):
        fg.fine_grained(batch, impl="native")


def test_stale_build_is_not_loaded(fresh_loader, monkeypatch):
    monkeypatch.setattr(native, "_source_sha256", lambda: "0" * 64)
    with pytest.warns(RuntimeWarning, match="another version of its C sources.*reinstall"):
        assert native.load() is None


def test_switch_off_without_warning(fresh_loader, monkeypatch):
    monkeypatch.setenv("SMIX_NATIVE", "0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert native.load() is None


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_threads_split_the_batch_without_changing_it(threads):
    batch = photo_batch(40, 5)
    maps, peaks = native.fine_grained_u8_native(batch, "rgb", threads, maps="u8", peaks=True)
    ref, ref_peaks = native.fine_grained_u8_native(batch, "rgb", 1, maps="u8", peaks=True)
    assert torch.equal(maps, ref) and torch.equal(peaks, ref_peaks)
    unit, _ = native.fine_grained_u8_native(batch, "rgb", threads, maps="unit")
    assert torch.equal(unit, fg.u8_to_unit(ref))


def test_float_input_is_mapped_inside_the_kernel_exactly():
    u8 = photo_batch(56, 4)
    ref = saliency_map(u8)
    x = normalise(u8)
    out, peaks, outside = native.fine_grained_f32_native(
        x, [s * 255 for s in IMAGENET_DEFAULT_STD], [m * 255 for m in IMAGENET_DEFAULT_MEAN], 1.0, "rgb", 2,
        maps="unit", peaks=True)
    assert outside == 0 and torch.equal(out, ref)
    assert torch.equal(saliency_map(x, mean=IMAGENET_DEFAULT_MEAN, std=IMAGENET_DEFAULT_STD), ref)
    assert torch.equal(saliency_map(u8.float() / 255, max_value=1.0), ref)
    assert torch.equal(saliency_map(u8.float(), max_value=255.0), ref)
    bgr = u8.flip(1).contiguous()
    assert torch.equal(saliency_map(bgr.float(), max_value=255.0, channels="bgr"), ref)
    gray = u8[:, :1].contiguous()
    assert torch.equal(saliency_map(gray.float(), max_value=255.0), saliency_map(gray))


def test_kernel_mapping_equals_to_uint8_on_values_between_pixels():
    """Not only data that came from integer pixels: any float maps to the same pixel as to_uint8's."""
    from smix_timm._inputs import to_uint8
    rng = np.random.default_rng(5)
    x = torch.from_numpy(rng.uniform(-0.4, 255.4, (3, 3, 30, 31)).astype(np.float32))
    x[0, 0, 0, :8] = torch.tensor([0.5, 1.5, 2.5, 254.5, 253.5, -0.49, 255.49, 127.5])  # ties: half to even
    assert torch.equal(saliency_map(x, max_value=255.0), fg.fine_grained(to_uint8(x, max_value=255.0)))


@pytest.mark.parametrize("bad,match", [(float("nan"), "NaN"), (float("inf"), "NaN or infinite"),
                                       (3.0, "outside 0-255")])
def test_float_input_out_of_range_raises_as_before(bad, match):
    x = normalise(photo_batch(32, 2))
    x[1, 2, 5, 5] = bad if bad != 3.0 else 40.0
    with pytest.raises(ValueError, match=match):
        saliency_map(x, mean=IMAGENET_DEFAULT_MEAN, std=IMAGENET_DEFAULT_STD)
    with pytest.raises(ValueError, match=match):
        saliency_peaks(x, mean=IMAGENET_DEFAULT_MEAN, std=IMAGENET_DEFAULT_STD)


def test_peaks_equal_the_peaks_of_the_maps():
    rng = np.random.default_rng(7)
    u8 = torch.from_numpy(np.stack([synthetic(rng, 37, 53) for _ in range(5)])).permute(0, 3, 1, 2).contiguous()
    u8[2] = 90  # a flat image: every pixel ties, the first one wins
    for kwargs in ({}, {"backend": "opencv"}):
        maxima, minima = saliency_peaks(u8, **kwargs)
        ref_max, ref_min = peak_positions(saliency_map(u8, **kwargs))
        assert torch.equal(maxima, ref_max) and torch.equal(minima, ref_min)
        assert maxima.dtype == torch.int64 and maxima.shape == (5, 2)
    x = normalise(u8)
    maxima, minima = saliency_peaks(x, mean=IMAGENET_DEFAULT_MEAN, std=IMAGENET_DEFAULT_STD)
    assert torch.equal(maxima, ref_max) and torch.equal(minima, ref_min)
    assert torch.equal(maxima[2], torch.tensor([0, 0]))
    user = saliency_peaks(u8, lambda images: images.float().mean(1) / 255)
    assert torch.equal(user[0], peak_positions(u8.float().mean(1) / 255)[0])


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (2, 2), (3, 250), (300, 230)])
def test_small_and_odd_sizes_match_eager(shape):
    rng = np.random.default_rng(sum(shape))
    u8 = torch.from_numpy(np.stack([synthetic(rng, *shape) for _ in range(2)])).permute(0, 3, 1, 2).contiguous()
    assert torch.equal(saliency_map(u8), fg.fine_grained(u8, impl="eager"))
    assert torch.equal(saliency_map(u8.float(), max_value=255.0), fg.fine_grained(u8, impl="eager"))


def test_mix_scales_identity_the_kernel_relies_on():
    """OpenCV's mixScales value (int)(255. * (float)(s / (float)max)) equals (int)(s * (255.f / max) + 1/4096.f)
    in float32 for every integer pair 0 <= s <= max <= 6 * 255 (the kernel uses the right side)."""
    maxima = np.repeat(np.arange(1, 6 * 255 + 1), np.arange(2, 6 * 255 + 2))  # each max, once per s in [0, max]
    sums = np.concatenate([np.arange(m + 1) for m in range(1, 6 * 255 + 1)])
    s32, m32 = sums.astype(np.float32), maxima.astype(np.float32)
    opencv = (255.0 * (s32 / m32).astype(np.float64)).astype(np.int64)
    kernel = (s32 * (np.float32(255.0) / m32) + np.float32(1.0 / 4096.0)).astype(np.int64)
    assert len(sums) == 1172745
    np.testing.assert_array_equal(kernel, opencv)
    np.testing.assert_array_equal(opencv, (255 * sums) // maxima)  # both are floor(255 s / max)
