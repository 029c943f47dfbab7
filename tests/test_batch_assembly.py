"""The collate's batch assembly: the bytes of torch.stack for every layout a transform gives, one error per
contract breach naming the sample."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from timm.data import create_transform

from smix_timm import FastCollateSaliencyMix
from smix_timm.batch_assembly import stack_uint8_images
from tests.images import photographs, synthetic


def interleaved_samples(count: int, height: int = 40, width: int = 52, seed: int = 0):
    """(3, H, W) views of (H, W, 3) arrays, as timm's MaybePILToTensor returns them."""
    rng = np.random.default_rng(seed)
    return [torch.from_numpy(synthetic(rng, height, width)).permute(2, 0, 1) for _ in range(count)]


LAYOUTS = ["interleaved tensor", "interleaved numpy", "contiguous", "gray", "cropped view", "flipped numpy",
           "mixed tensor and numpy"]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_stacks_to_the_bytes_of_torch_stack(layout):
    samples = interleaved_samples(7)
    if layout == "interleaved numpy":
        samples = [s.numpy() for s in samples]
    elif layout == "contiguous":
        samples = [s.contiguous() for s in samples]
    elif layout == "gray":
        samples = [s[:1] for s in samples]
    elif layout == "cropped view":  # rows of the (H, W, 3) memory have gaps
        samples = [s[:, :, 2:30] for s in samples]
    elif layout == "flipped numpy":  # negative strides, e.g. a flip in a user's numpy transform
        samples = [s.numpy()[:, :, ::-1] for s in samples]
    elif layout == "mixed tensor and numpy":
        samples = [s.numpy() if k % 2 else s for k, s in enumerate(samples)]
    before = [np.array(s) for s in samples]
    batch = stack_uint8_images(samples)
    expected = torch.stack([torch.from_numpy(np.ascontiguousarray(s)) for s in before])
    assert batch.is_contiguous() and batch.dtype == torch.uint8 and torch.equal(batch, expected)
    assert all(np.array_equal(np.asarray(s), b) for s, b in zip(samples, before))  # the samples are read only


def test_timm_prefetcher_transform_samples_stack_exactly():
    transform = create_transform((3, 64, 64), is_training=True, use_prefetcher=True, color_jitter=0.0)
    photo = next(iter(photographs().values()))
    samples = [transform(Image.fromarray(photo)) for _ in range(4)]
    expected = torch.stack([torch.as_tensor(np.ascontiguousarray(np.asarray(s))) for s in samples])
    assert torch.equal(stack_uint8_images(samples), expected)


@pytest.mark.parametrize("bad, match", [
    (lambda s: s.float(), r"sample 2: expected a uint8 \(C, H, W\) image.*got torch.float32 \(3, 40, 52\)"),
    (lambda s: s.numpy().astype(bool), r"sample 2: expected a uint8 \(C, H, W\) image.*got bool"),
    (lambda s: s[0], r"sample 2: expected a uint8 \(C, H, W\) image.*\(40, 52\)"),
    (lambda s: s[:, :20], r"sample 2 has shape \(3, 20, 52\), sample 0 \(3, 40, 52\); all images"),
    (lambda s: [1, 2, 3], r"sample 2: expected a uint8 \(C, H, W\) image.*got list"),
])
def test_each_contract_breach_names_the_first_bad_sample(bad, match):
    samples = interleaved_samples(4)
    samples[2] = bad(samples[2])
    with pytest.raises(ValueError, match=match):
        stack_uint8_images(samples)


def test_collate_result_does_not_depend_on_the_sample_layout():
    samples = interleaved_samples(8, 64, 64, seed=3)
    kw = dict(mixup_alpha=0.0, saliencymix_alpha=1.0, num_classes=8, label_smoothing=0.1, mode="elem")
    fast, y_fast = FastCollateSaliencyMix(seed=4, **kw)([(s, i) for i, s in enumerate(samples)])
    plain, y_plain = FastCollateSaliencyMix(seed=4, **kw)([(s.contiguous().numpy(), i) for i, s in enumerate(samples)])
    assert torch.equal(fast, plain) and torch.equal(y_fast, y_plain)
    assert not torch.equal(fast, torch.stack(samples))  # something was mixed


def test_collate_labels_are_checked_once_for_the_batch():
    samples = interleaved_samples(4)
    collate = FastCollateSaliencyMix(mixup_alpha=0.0, saliencymix_alpha=1.0, num_classes=8, seed=0)
    _, target = collate([(s, np.int64(k)) for k, s in enumerate(samples)])
    assert target.shape == (4, 8)
    with pytest.raises(ValueError, match="sample labels must be integer class indices"):
        collate([(s, k + 0.5) for k, s in enumerate(samples)])
