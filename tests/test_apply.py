"""apply.py: the batch apply step gives the bytes and weights of the per-sample reference, in a fixed
number of tensor ops whatever the batch size, on both paths (native CPU loop, tensor ops); and on a
batch written by hand, the pasted boxes, the blends and their uint8 rounding."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

from smix_lab.bench.speed import count_torch_ops
from smix_timm import SaliencyMix, apply
from smix_timm.apply import apply_mix, patch_box_pairs
from smix_timm.params import MIXUP, NONE, SALIENCYMIX, MixConfig, MixParams, sample_mix_params
from smix_timm.placement import BoxPairs, batch_box_pairs, images_needed
from tests._reference_apply import reference_apply

DTYPES = [torch.uint8, torch.float32, torch.float16, torch.bfloat16, torch.float64]


@pytest.fixture(params=["native", "tensor_ops"])
def path(request, monkeypatch):
    """Run a test on each path of apply_mix (the CPU one needs the compiled extension)."""
    if request.param == "native":
        if apply.native.load() is None:
            pytest.skip("the compiled extension is not built")
    else:
        monkeypatch.setattr(apply, "_native_applies", lambda x: False)
    return request.param


def random_step(rng, batch, height, width, mode, scheme):
    """Params with every kind (MixUp, CutMix, SaliencyMix) and SaliencyMix boxes from random peaks."""
    cfg = MixConfig(mixup_alpha=1.0, cutmix_alpha=1.0, saliencymix_alpha=1.0, prob=0.9, switch_prob=0.6,
                    mode=mode).validate()
    params = sample_mix_params(rng, cfg, batch, (height, width))
    chosen = np.flatnonzero(params.kind == SALIENCYMIX)
    count = len(images_needed(batch, chosen, scheme, "sample"))
    peaks = [np.stack([rng.integers(0, height, count), rng.integers(0, width, count)], 1) for _ in range(2)]
    saliency = batch_box_pairs(batch, chosen, params.lam, (height, width), *peaks, scheme=scheme,
                               border=str(rng.choice(["shift", "clip"])))
    return params, patch_box_pairs(params, saliency)


def random_batch(rng, batch, height, width, dtype, layout):
    pixels = torch.from_numpy(rng.integers(0, 256, (batch, 3, height, width), dtype=np.uint8))
    x = pixels if dtype == torch.uint8 else (pixels.to(torch.float64) / 255 * 4 - 2).to(dtype)
    if layout == "channels_last":
        return x.contiguous(memory_format=torch.channels_last)
    if layout == "strided":  # a slice of a bigger batch: samples apart, channels not adjacent
        wider = torch.zeros((batch, 5, height, width + 3), dtype=dtype)
        wider[:, 1:4, :, 2:2 + width] = x
        return wider[:, 1:4, :, 2:2 + width]
    return x


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "strided"])
def test_same_bytes_and_weights_as_the_per_sample_reference(path, dtype, layout):
    rng = np.random.default_rng(DTYPES.index(dtype) * 7 + len(layout))
    for step in range(12):
        batch = int(rng.integers(1, 14))
        height, width = (int(v) for v in rng.integers(1, 40, size=2))
        mode = ["batch", "pair", "elem", "half"][step % 4]
        scheme = ["salient_to_corresponding", "salient_to_salient", "nonsalient_to_salient"][step % 3]
        params, pairs = random_step(rng, batch, height, width, mode, scheme)
        x = random_batch(rng, batch, height, width, dtype, layout)
        expected = x.clone()
        correct_lam = bool(step % 2)
        lam_expected = reference_apply(expected, params.kind, params.lam, list(pairs), correct_lam)
        strides = x.stride()
        lam = apply_mix(x, params, pairs, correct_lam=correct_lam)
        assert x.stride() == strides  # mixed in place
        assert torch.equal(x, expected), (step, mode, scheme)
        assert lam.dtype == np.float64 and np.array_equal(lam, lam_expected)


def test_blends_keep_negative_zeros_and_other_bits(path):
    """Samples that are not mixed keep their exact bits (no arithmetic touches them)."""
    x = torch.tensor([-0.0, float("inf"), 1e-45, -3.5]).view(4, 1, 1, 1).repeat(1, 3, 2, 2)
    params, _ = random_step(np.random.default_rng(0), 4, 2, 2, "elem", "salient_to_corresponding")
    params.kind[:] = 0
    before = x.clone()
    apply_mix(x, params, BoxPairs.empty(4))
    assert torch.equal(x.view(torch.int32), before.view(torch.int32))


def test_refuses_boxes_outside_or_of_unequal_size(path):
    x = torch.zeros(2, 3, 8, 8)
    params, _ = random_step(np.random.default_rng(1), 2, 8, 8, "elem", "salient_to_corresponding")
    params.kind[:] = SALIENCYMIX
    with pytest.raises(ValueError, match=r"sample 0: source box \[0, 9, 0, 2\].*inside the 8x8 images"):
        apply_mix(x, params, BoxPairs.from_list([((0, 9, 0, 2), (0, 9, 0, 2)), None]))
    with pytest.raises(ValueError, match="must have one size"):
        apply_mix(x, params, BoxPairs.from_list([None, ((0, 2, 0, 2), (0, 3, 0, 2))]))
    with pytest.raises(ValueError, match="box pairs are for 3 samples but the batch has 2"):
        apply_mix(x, params, BoxPairs.empty(3))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("mode", ["batch", "elem"])
def test_one_call_issues_as_many_torch_ops_for_8_as_for_256_images(path, dtype, mode):
    counts = []
    for batch in (8, 256):
        mix = SaliencyMix(mixup_alpha=1.0, cutmix_alpha=1.0, saliencymix_alpha=1.0, switch_prob=0.5, mode=mode,
                          num_classes=10, mean=IMAGENET_DEFAULT_MEAN, std=IMAGENET_DEFAULT_STD, seed=3,
                          scheme="salient_to_salient")
        rng = np.random.default_rng(batch)
        pixels = random_batch(rng, batch, 32, 32, torch.uint8, "contiguous").float() / 255
        mean, std = torch.tensor(IMAGENET_DEFAULT_MEAN).view(3, 1, 1), torch.tensor(IMAGENET_DEFAULT_STD).view(3, 1, 1)
        x = ((pixels - mean) / std).to(dtype)
        target = torch.from_numpy(rng.integers(0, 10, batch))
        mix(x.clone(), target)  # a step after the first: the scale constants of the first are remembered
        counts.append(count_torch_ops(lambda: mix(x, target)))
        if mode == "elem":  # every kind occurs at both sizes, so no branch hides ops
            kinds = mix.sample_params(batch, (32, 32)).kind
            assert {MIXUP, SALIENCYMIX} <= set(kinds.tolist())
    assert counts[0] == counts[1], counts


def test_gradients_follow_the_mixing():
    rng = np.random.default_rng(4)
    params, pairs = random_step(rng, 6, 10, 12, "elem", "salient_to_salient")
    leaf = torch.randn(6, 3, 10, 12, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(6, 3, 10, 12, dtype=torch.float64)
    mixed = leaf.clone()
    apply_mix(mixed, params, pairs)
    (mixed * weights).sum().backward()
    reference_leaf = leaf.detach().clone().requires_grad_(True)
    reference = reference_leaf.clone()
    reference_apply(reference, params.kind, params.lam, list(pairs))
    (reference * weights).sum().backward()
    assert torch.equal(mixed.detach(), reference.detach())
    assert torch.allclose(leaf.grad, reference_leaf.grad, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="leaf tensor that requires grad.*x.clone()"):
        apply_mix(leaf, params, pairs)


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@needs_cuda
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
def test_cuda_apply_equals_the_per_sample_reference(dtype, layout):
    rng = np.random.default_rng(11 + DTYPES.index(dtype))
    for step in range(8):
        batch = int(rng.integers(1, 40))
        height, width = (int(v) for v in rng.integers(1, 70, size=2))
        mode = ["batch", "pair", "elem", "half"][step % 4]
        params, pairs = random_step(rng, batch, height, width, mode, "salient_to_salient")
        x = random_batch(rng, batch, height, width, dtype, layout)
        expected = x.clone()
        lam_expected = reference_apply(expected, params.kind, params.lam, list(pairs))
        on_gpu = x.cuda()
        lam = apply_mix(on_gpu, params, pairs)
        assert torch.equal(on_gpu.cpu(), expected) and np.array_equal(lam, lam_expected)


@needs_cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_cuda_call_equals_cpu_with_as_many_ops_for_8_as_for_256(dtype):
    counts = []
    for batch in (8, 256):
        kw = dict(mixup_alpha=1.0, cutmix_alpha=1.0, saliencymix_alpha=1.0, mode="elem", num_classes=10,
                  mean=IMAGENET_DEFAULT_MEAN, std=IMAGENET_DEFAULT_STD, scheme="salient_to_salient")
        rng = np.random.default_rng(batch)
        pixels = random_batch(rng, batch, 48, 40, torch.uint8, "contiguous").float() / 255
        mean, std = torch.tensor(IMAGENET_DEFAULT_MEAN).view(3, 1, 1), torch.tensor(IMAGENET_DEFAULT_STD).view(3, 1, 1)
        x = ((pixels - mean) / std).to(dtype)
        target = torch.from_numpy(rng.integers(0, 10, batch))
        cpu, y_cpu = SaliencyMix(seed=5, **kw)(x.clone(), target)
        gpu_mix = SaliencyMix(seed=5, **kw)
        gpu, y_gpu = gpu_mix(x.cuda(), target.cuda())
        assert torch.equal(gpu.cpu(), cpu) and torch.allclose(y_gpu.cpu(), y_cpu)
        x_gpu, target_gpu = x.cuda(), target.cuda()
        gpu_mix(x_gpu.clone(), target_gpu)
        counts.append(count_torch_ops(lambda: gpu_mix(x_gpu, target_gpu)))
    assert counts[0] == counts[1], counts


# ------------------------------------------------------------------------------ by hand
def test_apply_mix_pastes_boxes_and_blends_by_hand():
    x = torch.stack([torch.full((1, 4, 4), float(v)) for v in (10, 20, 30, 40)])
    params = MixParams(kind=np.array([SALIENCYMIX, MIXUP, MIXUP, NONE], np.int8),
                       lam=np.array([0.75, 0.25, 0.25, 1.0]), cutmix_box=[None] * 4, image_size=(4, 4))
    pairs = patch_box_pairs(params, [((0, 2, 0, 2), (2, 4, 2, 4)), None, None, None])
    lam = apply_mix(x, params, pairs)
    assert torch.equal(x[0, 0, 2:, 2:], torch.full((2, 2), 40.0))  # from sample 3, pasted at the target box
    assert torch.equal(x[0, 0, :2, :], torch.full((2, 4), 10.0))   # the rest of sample 0 untouched
    assert torch.allclose(x[1], torch.full((1, 4, 4), 0.25 * 20 + 0.75 * 30))  # Mixup with sample 2
    assert torch.allclose(x[2], torch.full((1, 4, 4), 0.25 * 30 + 0.75 * 20))  # read before any write
    assert torch.equal(x[3], torch.full((1, 4, 4), 40.0))
    assert lam.tolist() == [1 - 4 / 16, 0.25, 0.25, 1.0]  # correct_lam: the pasted share is 4 of 16


def test_apply_mix_rounds_uint8_blends_as_timm():
    x = torch.tensor([[[[1]]], [[[2]]]], dtype=torch.uint8).expand(2, 3, 1, 1).contiguous()
    params = MixParams(kind=np.array([MIXUP, MIXUP], np.int8), lam=np.array([0.5, 0.5]), cutmix_box=[None, None])
    apply_mix(x, params, [None, None])
    assert x.flatten().tolist() == [2] * 6  # 1.5 rounds half to even: 2
