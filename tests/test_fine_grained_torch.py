"""saliency/fine_grained_torch.py: each step of the fine-grained detector equals OpenCV's (fixed-point gray,
3x3 Gaussian, float32 integral image), and the eager torch path equals the fused kernel in every chunking."""
import numpy as np
import pytest
import torch

from smix_timm.saliency import fine_grained_torch as fg
from tests.images import synthetic

cv2 = pytest.importorskip("cv2")


def batch(count, height, width, seed=0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    images = np.stack([synthetic(rng, height, width) for _ in range(count)])
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()


@pytest.mark.parametrize("channels", ["rgb", "bgr"])
def test_gray_is_opencvs_fixed_point_conversion(channels):
    x = batch(3, 21, 34)
    gray = fg.gray_u8(x, channels)
    assert gray.shape == (3, 21, 34) and gray.dtype == torch.int32
    for k in range(3):
        hwc = x[k].permute(1, 2, 0).numpy()
        code = cv2.COLOR_RGB2GRAY if channels == "rgb" else cv2.COLOR_BGR2GRAY
        assert np.array_equal(gray[k].numpy(), cv2.cvtColor(np.ascontiguousarray(hwc), code))
    assert torch.equal(fg.gray_u8(x[:, :1]), x[:, 0].to(torch.int32))  # one channel is the gray itself


@pytest.mark.parametrize("height, width", [(1, 1), (1, 6), (5, 1), (2, 2), (13, 29)])
def test_gaussian3x3_is_opencvs_blur_with_reflect101_border(height, width):
    gray = fg.gray_u8(batch(2, height, width, seed=height + width))
    ours = fg.gaussian3x3_u8(gray)
    for k in range(2):
        ref = cv2.GaussianBlur(gray[k].numpy().astype(np.uint8), (3, 3), 0, borderType=cv2.BORDER_REFLECT_101)
        assert np.array_equal(ours[k].numpy(), ref)


def test_integral_is_opencvs_float32_integral():
    gray = fg.gray_u8(batch(2, 37, 45))
    ours = fg.integral_f32(gray)
    assert ours.shape == (2, 38, 46) and ours.dtype == torch.float32
    assert (ours[:, 0] == 0).all() and (ours[:, :, 0] == 0).all()
    for k in range(2):
        ref = cv2.integral(gray[k].numpy().astype(np.uint8), sdepth=cv2.CV_32F)
        assert np.array_equal(ours[k].numpy(), ref)


def test_u8_to_unit_is_opencvs_convert_to():
    values = torch.arange(256, dtype=torch.uint8).view(1, 16, 16)
    ref = np.arange(256, dtype=np.uint8).reshape(16, 16).astype(np.float32) * np.float32(1.0 / 255.0)
    assert np.array_equal(fg.u8_to_unit(values)[0].numpy(), ref)
    assert fg.u8_to_unit(values).max() == 1.0


def test_eager_chunks_and_native_give_the_same_maps():
    x = batch(5, 33, 40, seed=3)
    eager = fg.fine_grained(x, impl="eager")
    assert torch.equal(eager, fg.u8_to_unit(fg.fine_grained_u8(x)))
    assert torch.equal(fg.fine_grained(x, impl="eager", chunk=2), eager)
    assert torch.equal(fg.fine_grained(x, impl="auto"), eager)
    with pytest.raises(ValueError, match="impl must be 'auto', 'native' or 'eager'"):
        fg.fine_grained(x, impl="opencv")
