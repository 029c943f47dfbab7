"""The collate's batch assembly: the same bytes as torch.stack, fast path only where it applies."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from images import photographs, synthetic
from PIL import Image
from timm.data import create_transform

from smix_timm import FastCollateSaliencyMix
from smix_timm.batch_assembly import batch_is_interleaved, interleaved_rgb_views, stack_uint8_images


def interleaved_samples(count: int, height: int = 40, width: int = 52, seed: int = 0):
    """(3, H, W) views of (H, W, 3) arrays, as timm's MaybePILToTensor returns them."""
    rng = np.random.default_rng(seed)
    return [torch.from_numpy(synthetic(rng, height, width)).permute(2, 0, 1) for _ in range(count)]


def test_interleaved_views_stack_to_the_same_bytes():
    samples = interleaved_samples(7)
    before = [s.clone() for s in samples]
    assert batch_is_interleaved(samples)
    batch = stack_uint8_images(samples)
    assert batch.is_contiguous() and batch.dtype == torch.uint8 and batch.shape == (7, 3, 40, 52)
    assert torch.equal(batch, torch.stack(samples))
    assert all(torch.equal(s, b) for s, b in zip(samples, before))  # the samples are read only
    assert all(batch.untyped_storage().data_ptr() != s.untyped_storage().data_ptr() for s in samples)


def test_timm_prefetcher_transform_gives_the_fast_layout():
    # If timm ever changes what its prefetcher transform returns, the fast path is silently skipped:
    # this test is where that shows.
    transform = create_transform((3, 64, 64), is_training=True, use_prefetcher=True, color_jitter=0.0)
    photo = next(iter(photographs().values()))
    samples = [torch.as_tensor(np.asarray(transform(Image.fromarray(photo)))) for _ in range(4)]
    assert interleaved_rgb_views(samples) is not None
    assert torch.equal(stack_uint8_images(samples), torch.stack(samples))


@pytest.mark.parametrize("layout", ["contiguous", "gray", "cropped view", "mixed sizes"])
def test_other_layouts_fall_back_to_torch_stack(layout):
    samples = interleaved_samples(3)
    if layout == "contiguous":
        samples = [s.contiguous() for s in samples]
    elif layout == "gray":
        samples = [s[:1] for s in samples]
    elif layout == "cropped view":  # rows of the (H, W, 3) memory have gaps: not one interleaved block
        samples = [s[:, :, 2:30] for s in samples]
    else:
        samples[1] = samples[1][:, :20]
    assert interleaved_rgb_views(samples) is None
    if layout == "mixed sizes":  # the collate says so before it assembles; torch.stack refuses too
        with pytest.raises(RuntimeError):
            stack_uint8_images(samples)
        return
    assert torch.equal(stack_uint8_images(samples), torch.stack(samples))


def test_collate_result_does_not_depend_on_the_sample_layout():
    samples = interleaved_samples(8, 64, 64, seed=3)
    kw = dict(mixup_alpha=0.0, saliencymix_alpha=1.0, num_classes=8, label_smoothing=0.1, mode="elem")
    fast, y_fast = FastCollateSaliencyMix(seed=4, **kw)([(s, i) for i, s in enumerate(samples)])
    plain, y_plain = FastCollateSaliencyMix(seed=4, **kw)([(s.contiguous(), i) for i, s in enumerate(samples)])
    assert torch.equal(fast, plain) and torch.equal(y_fast, y_plain)
    assert not torch.equal(fast, torch.stack(samples))  # something was mixed
