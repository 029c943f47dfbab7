"""_inputs.py: float batches are mapped back to 0-255 pixels only with the scale they were made with; a wrong
scale raises naming the likely cause; batches whose samples share memory are recognised."""
import pytest
import torch
from timm.data import IMAGENET_DEFAULT_MEAN as MEAN
from timm.data import IMAGENET_DEFAULT_STD as STD

from smix_timm import SaliencyMix, saliency_map
from smix_timm._inputs import float_scale, has_shared_rows, to_uint8
from tests.images import imagenet_normalise, photo_tensor


# ------------------------------------------------------------------------------ the scale of float batches
def test_float_scale_mistakes_raise_with_the_likely_cause():
    u8 = photo_tensor()
    with pytest.raises(ValueError, match="0-255 floats: pass max_value=255.0"):
        saliency_map(u8.float(), max_value=1.0)
    with pytest.raises(ValueError, match="look timm-normalised: pass mean=/std="):
        saliency_map(imagenet_normalise(u8), max_value=1.0)
    with pytest.raises(ValueError, match="outside 0-255"):
        saliency_map(u8.float() - 20, max_value=255.0)
    with pytest.raises(ValueError, match="do not match how the batch was normalised"):
        saliency_map(u8.float(), mean=MEAN, std=STD)
    mix = SaliencyMix(mixup_alpha=0.0, saliencymix_alpha=1.0, num_classes=4, max_value=1.0)
    with pytest.raises(ValueError, match="0-255 floats"):
        mix(u8.float(), torch.arange(4))


def test_float_scale_within_rounding_is_accepted():
    u8 = photo_tensor()
    reference = saliency_map(u8)
    assert torch.equal(saliency_map(u8.float() + 0.3, max_value=255.0), reference)  # rounds back
    assert torch.equal(saliency_map(imagenet_normalise(u8), mean=MEAN, std=STD), reference)
    bf16 = saliency_map(imagenet_normalise(u8).bfloat16(), mean=MEAN, std=STD)  # coarse rounding is not an error
    assert bf16.shape == reference.shape


def test_nan_still_refused():
    x = imagenet_normalise(photo_tensor())
    x[1, 0, 3, 3] = float("nan")
    with pytest.raises(ValueError, match="NaN or infinite"):
        saliency_map(x, mean=MEAN, std=STD)


def test_to_uint8_maps_each_scale_back_to_the_pixels():
    u8 = photo_tensor(2, 16)
    assert to_uint8(u8) is u8  # already pixels
    assert torch.equal(to_uint8(u8.float() / 255, max_value=1.0), u8)
    assert torch.equal(to_uint8(u8.float(), max_value=255.0), u8)
    assert torch.equal(to_uint8(imagenet_normalise(u8), mean=MEAN, std=STD), u8)
    halves = torch.tensor([0.5, 1.5, 2.5, 254.5]).view(1, 1, 1, 4)
    assert to_uint8(halves, max_value=255.0).flatten().tolist() == [0, 2, 2, 254]  # half to even


def test_float_scale_takes_exactly_one_way():
    x = torch.zeros(1, 3, 2, 2)
    scale, offset, described = float_scale(x, mean=MEAN, std=STD)
    assert torch.allclose(scale, torch.tensor(STD) * 255) and torch.allclose(offset, torch.tensor(MEAN) * 255)
    assert described == "mean/std"
    with pytest.raises(ValueError, match="either mean/std or max_value, not both"):
        float_scale(x, mean=MEAN, std=STD, max_value=1.0)
    with pytest.raises(ValueError, match="pass both mean and std"):
        float_scale(x, mean=MEAN)
    with pytest.raises(ValueError, match="std must be positive"):
        float_scale(x, mean=MEAN, std=(0.2, 0.0, 0.2))


# ------------------------------------------------------------------------------ samples sharing memory
def test_shared_rows_detection():
    base = torch.zeros(4, 3, 8, 8)
    assert not has_shared_rows(base) and not has_shared_rows(base[:, :, ::2])
    assert not has_shared_rows(base.contiguous(memory_format=torch.channels_last))
    assert has_shared_rows(base[:1].expand(4, -1, -1, -1))
    assert has_shared_rows(torch.zeros(3, 8, 8).unsqueeze(0).expand(2, -1, -1, -1))
