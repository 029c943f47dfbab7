"""saliency_map / saliency_peaks: torch fine_grained equals OpenCV bit for bit; others close; the peaks
are the maps' first extremes; user detectors are checked; clear errors."""
import numpy as np
import pytest
import torch
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

from smix_timm import SaliencyMix, register_saliency_method, saliency_map
from smix_timm.saliency import fine_grained_torch as fg
from smix_timm.saliency import saliency_peaks
from smix_timm.saliency.opencv_backend import require_cv2_saliency
from tests.images import photo_tensor, photographs, synthetic

cv2 = require_cv2_saliency()


def opencv_fine_grained(rgb_hwc: np.ndarray) -> np.ndarray:
    detector = cv2.saliency.StaticSaliencyFineGrained.create()
    ok, sal = detector.computeSaliency(np.ascontiguousarray(rgb_hwc[:, :, ::-1]))
    assert ok
    return sal


def to_batch(*images_hwc) -> torch.Tensor:
    return torch.from_numpy(np.stack(images_hwc)).permute(0, 3, 1, 2).contiguous()


def both_impls(batch: torch.Tensor) -> np.ndarray:
    """fine_grained through saliency_map (fused C kernel on CPU) and eager torch; they must agree."""
    fused = saliency_map(batch)
    eager = fg.fine_grained(batch, impl="eager")
    assert torch.equal(fused, eager)
    return fused.numpy()


def assert_exact(img_hwc: np.ndarray):
    ref = opencv_fine_grained(img_hwc)
    out = both_impls(to_batch(img_hwc))[0]
    assert out.dtype == np.float32 and out.shape == ref.shape
    diff = np.flatnonzero(out.ravel() != ref.ravel())
    assert diff.size == 0, f"{img_hwc.shape}: {diff.size} pixels differ, first at {diff[:5]}"
    assert np.argmax(out) == np.argmax(ref)


PHOTOS = photographs()


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_fine_grained_equals_opencv_on_photographs_and_crops(name):
    photo = PHOTOS[name]
    rng = np.random.default_rng(abs(hash(name)) % 2 ** 32)
    h, w = photo.shape[:2]
    crops = [(224, 224), (256, 256), (32, 32), (113, 97), (5, 300), (1, 1), (1, 17), (160, 240)]
    for ch, cw in crops:
        ch, cw = min(ch, h), min(cw, w)
        y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        assert_exact(np.ascontiguousarray(photo[y:y + ch, x:x + cw]))


@pytest.mark.parametrize("name", sorted(PHOTOS)[:2])
def test_fine_grained_whole_photograph_above_exact_integral_size(name):
    photo = PHOTOS[name]
    assert photo.shape[0] * photo.shape[1] > fg.EXACT_INTEGRAL_PIXELS
    ref = opencv_fine_grained(photo)
    out = both_impls(to_batch(photo))[0]
    mismatch = np.abs(out - ref) * 255
    # The bar: at most 1/255 on at most 0.1% of pixels above 65,793 pixels (we measure 0).
    assert mismatch.max() <= 1.0 + 1e-4 and (mismatch > 1e-4).mean() <= 1e-3
    assert np.argmax(out) == np.argmax(ref)


def test_fine_grained_equals_opencv_on_synthetic_batch_many_sizes():
    rng = np.random.default_rng(0)
    for _ in range(25):
        h, w = int(rng.integers(1, 260)), int(rng.integers(1, 260))
        images = [synthetic(rng, h, w) for _ in range(3)]
        out = both_impls(to_batch(*images))
        for k, img in enumerate(images):
            ref = opencv_fine_grained(img)
            assert np.array_equal(out[k], ref), f"size {h}x{w} image {k}"
            assert np.argmax(out[k]) == np.argmax(ref)


def test_native_kernel_is_built_and_used():
    from smix_timm.saliency import native
    assert native.load() is not None, "the fused C kernel did not build; see the warning"
    with pytest.raises(ValueError, match="impl must be"):
        fg.fine_grained(torch.zeros(1, 3, 4, 4, dtype=torch.uint8), impl="fast")


def test_constant_and_gray_and_bgr_inputs():
    const = np.full((40, 50, 3), 77, np.uint8)
    assert saliency_map(to_batch(const)).abs().max() == 0
    assert np.array_equal(opencv_fine_grained(const), np.zeros((40, 50), np.float32))
    rng = np.random.default_rng(1)
    img = synthetic(rng, 64, 80)
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    ok, ref = cv2.saliency.StaticSaliencyFineGrained.create().computeSaliency(gray)
    out = both_impls(torch.from_numpy(gray)[None, None])
    assert np.array_equal(out[0], ref)
    bgr = to_batch(np.ascontiguousarray(img[:, :, ::-1]))
    assert torch.equal(saliency_map(bgr, channels="bgr"), saliency_map(to_batch(img)))


def test_float_inputs_map_back_to_pixels_exactly():
    rng = np.random.default_rng(2)
    batch = to_batch(*[synthetic(rng, 48, 48) for _ in range(4)])
    ref = saliency_map(batch)
    mean = torch.tensor(IMAGENET_DEFAULT_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_DEFAULT_STD).view(1, 3, 1, 1)
    normalised = (batch.float() / 255 - mean) / std
    assert torch.equal(saliency_map(normalised, mean=IMAGENET_DEFAULT_MEAN, std=IMAGENET_DEFAULT_STD), ref)
    assert torch.equal(saliency_map(normalised.half(), mean=IMAGENET_DEFAULT_MEAN, std=IMAGENET_DEFAULT_STD), ref)
    assert torch.equal(saliency_map(batch.float() / 255, max_value=1.0), ref)
    assert torch.equal(saliency_map(batch.float(), max_value=255.0), ref)
    assert torch.equal(saliency_map(batch.contiguous(memory_format=torch.channels_last)), ref)


@pytest.mark.parametrize("method,max_abs,min_corr", [("spectral_residual", 0.1, 0.995),  # measured <= 0.096, >= 0.998
                                                      ("frequency_tuned", 0.01, 0.999)])
def test_other_detectors_close_to_opencv_reference(method, max_abs, min_corr):
    rng = np.random.default_rng(3)
    images = [np.ascontiguousarray(p[:224, :224]) for p in PHOTOS.values()] + [synthetic(rng, 96, 128)[:96, :96]]
    images = [np.ascontiguousarray(im[:96, :96]) for im in images]
    batch = to_batch(*images)
    ours = saliency_map(batch, method)
    ref = saliency_map(batch, method, backend="opencv")
    assert ours.shape == ref.shape == (len(images), 96, 96)
    assert 0 <= ours.min() and ours.max() <= 1
    for a, b in zip(ours, ref):
        assert (a - b).abs().max() < max_abs
        assert np.corrcoef(a.flatten(), b.flatten())[0, 1] > min_corr


@pytest.mark.parametrize("method", ["fine_grained", "spectral_residual", "frequency_tuned"])
def test_output_contract_odd_sizes(method):
    for shape in [(2, 3, 1, 1), (1, 3, 3, 200), (3, 1, 17, 5), (2, 3, 130, 90)]:
        out = saliency_map(torch.randint(0, 256, shape, dtype=torch.uint8), method)
        assert out.shape == (shape[0], shape[2], shape[3]) and out.dtype == torch.float32
        assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


def test_user_detectors_by_callable_module_and_name():
    seen = {}

    def centre(images):
        seen["dtype"] = images.dtype
        b, _, h, w = images.shape
        yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        closeness = (-(yy - h // 2).abs() - (xx - w // 2).abs()).float()
        return ((closeness - closeness.min()) / (closeness.max() - closeness.min())).expand(b, h, w)

    class Module(torch.nn.Module):
        def forward(self, images):
            return images.float().mean(1) / 255

    x = torch.randint(0, 256, (2, 3, 9, 11), dtype=torch.uint8)
    assert saliency_map(x, centre)[0].flatten().argmax() == 4 * 11 + 5 and seen["dtype"] == torch.uint8
    assert torch.allclose(saliency_map(x, Module()), x.float().mean(1) / 255)
    register_saliency_method("test_centre", lambda images, channels="rgb": centre(images), overwrite=True)
    assert saliency_map(x, "test_centre")[0].flatten().argmax() == 4 * 11 + 5
    with pytest.raises(ValueError, match="already registered"):
        register_saliency_method("test_centre", centre)
    with pytest.raises(ValueError, match=r"must return a \(B, H, W\)"):
        saliency_map(x, lambda images: images.float())


@pytest.mark.parametrize("bad,kwargs,match", [
    (torch.zeros(3, 8, 8, dtype=torch.uint8), {}, "shape"),
    (torch.zeros(2, 4, 8, 8, dtype=torch.uint8), {}, "1 .gray. or 3"),
    (torch.zeros(0, 3, 8, 8, dtype=torch.uint8), {}, "empty batch"),
    (torch.full((1, 3, 8, 8), float("nan")), {"max_value": 1.0}, "NaN"),
    (torch.zeros(2, 3, 40, 40).index_put_((torch.tensor(1), torch.tensor(2), torch.tensor(39), torch.tensor(7)),
                                          torch.tensor(float("nan"))), {"max_value": 1.0}, "NaN"),
    (torch.zeros(2, 3, 40, 40).index_fill_(3, torch.tensor(5), float("inf")), {"max_value": 1.0}, "infinite"),
    (torch.zeros(2, 1, 9, 9).bfloat16().index_fill_(2, torch.tensor(8), float("-inf")), {"max_value": 255.0},
     "infinite"),
    (torch.zeros(1, 3, 8, 8), {}, "need their scale"),
    (torch.zeros(1, 3, 8, 8), {"max_value": 2.0}, "max_value must be"),
    (torch.zeros(1, 3, 8, 8, dtype=torch.uint8), {"mean": IMAGENET_DEFAULT_MEAN, "std": IMAGENET_DEFAULT_STD}, "uint8"),
    (torch.zeros(1, 3, 8, 8), {"mean": (124, 116, 104), "std": (58, 57, 57)}, "0-255 constants"),
    (torch.zeros(1, 3, 8, 8, dtype=torch.uint8), {"method": "nope"}, "unknown saliency method"),
    (torch.zeros(1, 3, 8, 8, dtype=torch.uint8), {"backend": "cuda"}, "backend must be"),
    (torch.zeros(1, 3, 8, 8, dtype=torch.uint8), {"channels": "hsv"}, "channels must be"),
    (np.zeros((1, 3, 8, 8), np.uint8), {}, "torch.Tensor"),
])
def test_bad_input_errors(bad, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        saliency_map(bad, **kwargs)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    rng = np.random.default_rng(5)
    batch = to_batch(*[synthetic(rng, 224, 224) for _ in range(4)])
    for method in ("fine_grained", "spectral_residual", "frequency_tuned"):
        gpu = saliency_map(batch.cuda(), method)
        assert gpu.device.type == "cuda"
        cpu = saliency_map(batch, method)
        if method == "fine_grained":
            assert torch.equal(gpu.cpu(), cpu)
        else:
            assert (gpu.cpu() - cpu).abs().max() < 1e-3


@pytest.mark.parametrize("kwargs", [{"max_value": 255.0}, {"max_value": 1.0},
                                    {"mean": IMAGENET_DEFAULT_MEAN, "std": IMAGENET_DEFAULT_STD}])
def test_input_tensor_is_never_modified(kwargs):
    x = torch.rand(2, 3, 20, 20) * (255.0 if kwargs.get("max_value") == 255.0 else 1.0)
    before = x.clone()
    saliency_map(x, **kwargs)
    assert torch.equal(x, before)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("height, width", [(1, 1), (1, 9), (2, 3), (7, 5), (31, 32), (32, 32), (33, 64), (64, 31),
                                           (113, 112), (224, 224), (100, 300)])
def test_cuda_fine_grained_equals_cpu_bit_for_bit(height, width):
    rng = np.random.default_rng(height * 1000 + width)
    noise = torch.from_numpy(rng.integers(0, 256, (3, 3, height, width), dtype=np.uint8))
    blocks = torch.from_numpy(rng.integers(0, 256, (3, 3, height // 4 + 1, width // 4 + 1), dtype=np.uint8))
    shapes = blocks.repeat_interleave(4, 2).repeat_interleave(4, 3)[:, :, :height, :width].contiguous()
    for batch in (noise, shapes):
        assert torch.equal(saliency_map(batch.cuda()).cpu(), saliency_map(batch))
        maxima, minima = saliency_peaks(batch.cuda())
        ref_max, ref_min = saliency_peaks(batch)
        assert torch.equal(maxima, ref_max) and torch.equal(minima, ref_min)


def test_saliency_peaks_are_the_first_extremes_of_opencvs_maps():
    images = torch.zeros(2, 3, 48, 48, dtype=torch.uint8)
    images[0, :, 30:36, 10:16] = 255
    images[1, :, 5:11, 20:26] = 200
    maxima, minima = saliency_peaks(images)
    reference = saliency_map(images, backend="opencv").flatten(1)  # OpenCV itself, image by image
    for k in range(2):
        assert int(maxima[k, 0]) * 48 + int(maxima[k, 1]) == int(reference[k].argmax())
        assert int(minima[k, 0]) * 48 + int(minima[k, 1]) == int(reference[k].argmin())
    assert 30 - 12 <= maxima[0, 0] < 36 + 12 and 10 - 12 <= maxima[0, 1] < 16 + 12  # near the square


# ------------------------------------------------------------------------------ user detectors' output
@pytest.mark.parametrize("bad, match", [
    (lambda images: torch.full(images.shape[:1] + images.shape[2:], float("nan")), r"finite maps in \[0, 1\]"),
    (lambda images: images.float().mean(1), r"finite maps in \[0, 1\]"),  # 0-255 floats
    (lambda images: torch.zeros(images.shape[:1] + images.shape[2:], device="meta"), "returned maps on meta"),
])
def test_user_detector_output_is_checked(bad, match):
    x = photo_tensor()
    with pytest.raises(ValueError, match=match):
        saliency_map(x, bad)
    mix = SaliencyMix(mixup_alpha=0.0, saliencymix_alpha=1.0, num_classes=4, method=bad)
    with pytest.raises(ValueError, match=match):
        mix(x.clone(), torch.arange(4))


def test_user_detector_in_range_is_used():
    x = photo_tensor()
    maps = saliency_map(x, lambda images: images.float().mean(1) / 255)
    assert torch.allclose(maps, x.float().mean(1) / 255)
