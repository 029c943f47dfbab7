"""saliency/opencv_backend.py: OpenCV's detectors image by image (backend='opencv'), the reference the torch
detectors are held to: the same maps as calling cv2 directly, for either channel order and gray images."""
import numpy as np
import pytest
import torch

from smix_timm import saliency_map
from smix_timm.saliency.opencv_backend import opencv_saliency, require_cv2_saliency
from tests.images import synthetic

cv2 = require_cv2_saliency()


def to_batch(*images_hwc) -> torch.Tensor:
    return torch.from_numpy(np.stack(images_hwc)).permute(0, 3, 1, 2).contiguous()


def test_require_cv2_saliency_gives_cv2_with_the_contrib_detectors():
    assert hasattr(cv2.saliency, "StaticSaliencyFineGrained")
    assert hasattr(cv2.saliency, "StaticSaliencySpectralResidual")


def test_opencv_backend_fine_grained_is_the_reference():
    rng = np.random.default_rng(4)
    batch = to_batch(*[synthetic(rng, 40, 60) for _ in range(3)])
    assert torch.equal(saliency_map(batch, backend="opencv"), saliency_map(batch))


@pytest.mark.parametrize("method, detector", [("fine_grained", "StaticSaliencyFineGrained"),
                                              ("spectral_residual", "StaticSaliencySpectralResidual")])
def test_maps_are_cv2s_own_on_bgr_images(method, detector):
    rng = np.random.default_rng(5)
    images = [synthetic(rng, 36, 44) for _ in range(2)]
    maps = opencv_saliency(to_batch(*images), method)
    assert maps.shape == (2, 36, 44) and maps.dtype == torch.float32
    for k, rgb in enumerate(images):
        ok, ref = getattr(cv2.saliency, detector).create().computeSaliency(np.ascontiguousarray(rgb[:, :, ::-1]))
        assert ok and np.array_equal(maps[k].numpy(), np.asarray(ref, np.float32))


@pytest.mark.parametrize("method", ["fine_grained", "spectral_residual", "frequency_tuned"])
def test_channel_order_and_gray_images(method):
    rng = np.random.default_rng(6)
    rgb = to_batch(*[synthetic(rng, 30, 30) for _ in range(2)])
    assert torch.equal(opencv_saliency(rgb.flip(1).contiguous(), method, channels="bgr"),
                       opencv_saliency(rgb, method))
    gray = rgb[:, :1].contiguous()
    out = opencv_saliency(gray, method)
    assert out.shape == (2, 30, 30) and torch.isfinite(out).all() and 0 <= out.min() and out.max() <= 1
    if method == "frequency_tuned":  # a gray image is read as three equal channels
        assert torch.equal(out, opencv_saliency(gray.expand(-1, 3, -1, -1).contiguous(), method))


def test_frequency_tuned_peaks_on_the_patch_of_another_colour():
    image = torch.full((1, 3, 24, 32), 60, dtype=torch.uint8)
    image[0, :, 8:14, 20:26] = torch.tensor([220, 40, 40], dtype=torch.uint8).view(3, 1, 1)
    out = opencv_saliency(image, "frequency_tuned")[0]
    row, col = divmod(int(out.argmax()), 32)
    assert float(out.max()) == 1.0 and 8 <= row < 14 and 20 <= col < 26
    assert float(out[8:14, 20:26].mean()) > 0.5 > float(out[:4, :8].mean())


def test_missing_cv2_saliency_warns_at_first_use_not_at_import():
    import subprocess
    import sys
    import textwrap
    script = textwrap.dedent("""
        import warnings
        import cv2
        del cv2.saliency  # as when plain opencv-python shadows opencv-contrib
        warnings.simplefilter("error")
        import smix_timm
        from smix_timm import SaliencyMix
        SaliencyMix(mixup_alpha=0.0, saliencymix_alpha=1.0)  # the torch detectors need no OpenCV
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            SaliencyMix(mixup_alpha=0.0, saliencymix_alpha=1.0, backend="opencv")
            SaliencyMix(mixup_alpha=0.0, saliencymix_alpha=1.0, backend="opencv")
        assert len(caught) == 1, [str(w.message) for w in caught]
        message = str(caught[0].message)
        assert "cv2.saliency" in message and "backend='opencv'" in message and "pip install" in message
        try:
            smix_timm.require_cv2_saliency()
        except ImportError as err:
            assert "opencv-contrib" in str(err)
        else:
            raise AssertionError("require_cv2_saliency passed without cv2.saliency")
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-2000:]
