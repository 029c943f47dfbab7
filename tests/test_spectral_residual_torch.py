"""saliency/spectral_residual_torch.py: the spectral-residual map in torch (close to OpenCV's, bounded in
test_saliency.py): its output contract, channel handling, and where it puts the saliency."""
import numpy as np
import torch

from smix_timm.saliency.spectral_residual_torch import WORK_SIZE, spectral_residual
from tests.images import synthetic


def test_a_lone_patch_is_the_salient_place():
    x = torch.full((1, 3, 96, 128), 60, dtype=torch.uint8)
    x[0, :, 20:30, 90:100] = 230
    out = spectral_residual(x)[0]
    row, col = divmod(int(out.argmax()), 128)
    assert 20 - 8 <= row < 30 + 8 and 90 - 8 <= col < 100 + 8
    assert float(out[20:30, 90:100].mean()) > 10 * float(out.mean())


def test_maps_at_the_working_size_are_normalised_to_a_peak_of_one():
    rng = np.random.default_rng(0)
    x = torch.from_numpy(np.stack([synthetic(rng, WORK_SIZE, WORK_SIZE) for _ in range(3)])).permute(0, 3, 1, 2)
    out = spectral_residual(x.contiguous())
    assert out.shape == (3, WORK_SIZE, WORK_SIZE) and out.dtype == torch.float32
    assert torch.equal(out.amax(dim=(1, 2)), torch.ones(3)) and out.min() >= 0


def test_channel_order_and_gray_input():
    rng = np.random.default_rng(1)
    rgb = torch.from_numpy(np.stack([synthetic(rng, 40, 56) for _ in range(2)])).permute(0, 3, 1, 2).contiguous()
    assert torch.equal(spectral_residual(rgb.flip(1).contiguous(), "bgr"), spectral_residual(rgb))
    gray = rgb[:, :1].contiguous()  # three equal channels have that gray value: the same map
    assert torch.equal(spectral_residual(gray), spectral_residual(gray.expand(-1, 3, -1, -1).contiguous()))


def test_flat_and_one_pixel_images_stay_finite():
    for shape in [(2, 3, 30, 20), (1, 3, 1, 1), (1, 1, 1, 7)]:
        out = spectral_residual(torch.full(shape, 128, dtype=torch.uint8))
        assert out.shape == (shape[0], shape[2], shape[3])
        assert torch.isfinite(out).all() and 0 <= out.min() and out.max() <= 1
