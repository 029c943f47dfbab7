"""saliency/frequency_tuned_torch.py: OpenCV's Lab conversion, reflect-101 border and 5x5 blur in torch, and
the frequency-tuned map close to OpenCV's at every size, also on images of one or two pixels a side."""
import numpy as np
import pytest
import torch

from smix_timm import saliency_map
from smix_timm.saliency.frequency_tuned_torch import binomial_blur5, reflect101_index, rgb_to_lab


def test_rgb_to_lab_is_opencvs_float_conversion():
    cv2 = pytest.importorskip("cv2")
    rgb = np.random.default_rng(0).integers(0, 256, (17, 23, 3), dtype=np.uint8).astype(np.float32) / 255
    rgb[0, :4] = [[0, 0, 0], [1, 1, 1], [0.04, 0.04, 0.04], [0.005, 0.5, 1]]  # black, white, both formula sides
    ours = rgb_to_lab(torch.from_numpy(rgb).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
    reference = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
    # OpenCV interpolates the sRGB gamma curve with a spline: the two differ by up to ~0.25 Lab units (of
    # 100), far below what a wrong constant or formula gives
    np.testing.assert_allclose(ours, reference, atol=0.5)


@pytest.mark.parametrize("height, width", [(1, 1), (2, 3), (3, 2), (5, 7), (16, 9)])
def test_binomial_blur5_is_opencvs_sep_filter(height, width):
    cv2 = pytest.importorskip("cv2")
    x = np.random.default_rng(height * 31 + width).uniform(0, 100, (height, width, 3)).astype(np.float32)
    kernel = np.array([1, 4, 6, 4, 1], np.float32) / 16.0
    reference = cv2.sepFilter2D(x, -1, kernel, kernel, borderType=cv2.BORDER_REFLECT_101)
    ours = binomial_blur5(torch.from_numpy(x).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(ours, reference.reshape(height, width, 3), atol=1e-4)


@pytest.mark.parametrize("height, width", [(1, 1), (1, 2), (2, 2), (2, 5), (5, 1), (3, 3), (2, 7)])
def test_frequency_tuned_matches_opencv_on_tiny_images(height, width):
    pytest.importorskip("cv2").saliency
    x = torch.from_numpy(np.random.default_rng(height * 10 + width).integers(0, 256, (3, 3, height, width),
                                                                              dtype=np.uint8))
    ours = saliency_map(x, "frequency_tuned")
    reference = saliency_map(x, "frequency_tuned", backend="opencv")
    assert (ours - reference).abs().max() < 0.02  # as the photo parity test; tiny sides used to differ by 1.0


def test_reflect101_index_is_opencvs():
    cv2 = pytest.importorskip("cv2")
    for size in (1, 2, 3, 6):
        ours = reflect101_index(size, 4).tolist()
        assert ours == [cv2.borderInterpolate(p, size, cv2.BORDER_REFLECT_101) for p in range(-4, size + 4)]
