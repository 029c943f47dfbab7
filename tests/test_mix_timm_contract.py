"""mix.py against timm's contract: every keyword of the installed timm's Mixup/FastCollateMixup,
dense multi-label targets, timm's --mixup-off-epoch switch reaching persistent workers, a stream per
distributed rank, user transforms' negative strides, and gradients through the mix."""
from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch
from timm.data import FastCollateMixup, Mixup
from timm.data.mixup import mixup_target

from smix_timm import FastCollateSaliencyMix, SaliencyMix
from smix_timm.apply import label_weights, patch_box_pairs

TIMM_PAIRS = [(SaliencyMix, Mixup), (FastCollateSaliencyMix, FastCollateMixup)]


@pytest.mark.parametrize("ours, theirs", TIMM_PAIRS)
def test_every_keyword_of_the_installed_timm_class_is_taken_in_timms_order(ours, theirs):
    """A keyword a new timm adds shows up here as a failure, before a user's script passes it."""
    timm_params = list(inspect.signature(theirs.__init__).parameters.values())[1:]
    our_params = inspect.signature(ours.__init__).parameters
    positional = [p.name for p in list(our_params.values())[1:] if p.kind == p.POSITIONAL_OR_KEYWORD]
    assert positional[:len(timm_params)] == [p.name for p in timm_params]
    for p in timm_params:
        assert our_params[p.name].default == p.default, p.name
    args = [p.default for p in timm_params]  # timm's defaults, positionally, as a script may pass them
    args[1], args[8] = 0.0, 10  # cutmix_alpha, num_classes
    ours(*args, saliencymix_alpha=1.0, max_value=255.0)


def test_multi_label_mixes_dense_targets_with_timms_formula():
    mix = SaliencyMix(mixup_alpha=0.0, saliencymix_alpha=1.0, num_classes=5, multi_label=True, max_value=255.0,
                      label_smoothing=0.1, mode="elem", seed=2)
    x = torch.randint(0, 256, (6, 3, 24, 24)).float()
    dense = (torch.rand(6, 5) < 0.4).float()
    params = mix.sample_params(6, (24, 24))
    pairs = patch_box_pairs(params, mix.saliency_box_pairs(x, params))
    weights = torch.as_tensor(label_weights(params, pairs, (24, 24), True), dtype=torch.float32).unsqueeze(1)
    _, y = mix.mix_with_params(x.clone(), dense, params)
    assert y.shape == (6, 5) and torch.equal(y, mixup_target(dense, 5, weights, 0.1, multi_label=True))
    with pytest.raises(ValueError, match=r"dense targets of shape \(B, num_classes\) = \(6, 5\)"):
        mix(x.clone(), torch.arange(6))
    collate = FastCollateSaliencyMix(mixup_alpha=0.0, saliencymix_alpha=1.0, num_classes=5, multi_label=True, seed=0)
    images, targets = collate([(img.to(torch.uint8).numpy(), label.numpy()) for img, label in zip(x, dense)])
    assert images.dtype == torch.uint8 and targets.shape == (6, 5)


class _Samples(torch.utils.data.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        rng = np.random.default_rng(i)
        return rng.integers(0, 256, (3, 16, 16), dtype=np.uint8), i % 4


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_switching_mixing_off_reaches_persistent_workers(start_method):
    collate = FastCollateSaliencyMix(mixup_alpha=0.0, saliencymix_alpha=1.0, num_classes=4, label_smoothing=0.0,
                                     seed=1)
    loader = torch.utils.data.DataLoader(_Samples(), batch_size=4, num_workers=1, persistent_workers=True,
                                         collate_fn=collate, multiprocessing_context=start_method)
    plain = [torch.stack([torch.from_numpy(_Samples()[i][0]) for i in range(k, k + 4)]) for k in (0, 4)]
    first = [images for images, _ in loader]
    assert any(not torch.equal(a, b) for a, b in zip(first, plain))  # mixing on
    collate.mixup_enabled = False  # what timm's PrefetchLoader does at --mixup-off-epoch, in the main process
    second = list(loader)
    assert all(torch.equal(images, b) for (images, _), b in zip(second, plain))
    assert all(torch.equal(target.argmax(1), torch.arange(k, k + 4) % 4) for (_, target), k in zip(second, (0, 4)))


def test_each_distributed_rank_draws_its_own_stream(monkeypatch):
    def params_on(rank):
        monkeypatch.setenv("RANK", str(rank))
        mix = SaliencyMix(mixup_alpha=1.0, cutmix_alpha=1.0, mode="elem", num_classes=4, seed=7)
        return mix.sample_params(16, (32, 32))

    rank0, rank1, again1 = params_on(0), params_on(1), params_on(1)
    monkeypatch.delenv("RANK")
    single = SaliencyMix(mixup_alpha=1.0, cutmix_alpha=1.0, mode="elem", num_classes=4, seed=7)
    single = single.sample_params(16, (32, 32))
    assert np.array_equal(rank0.lam, single.lam)  # rank 0 keeps the seed's own stream
    assert not np.array_equal(rank0.lam, rank1.lam) and np.array_equal(rank1.lam, again1.lam)


def test_collate_takes_negative_stride_samples_as_timms_does():
    rng = np.random.default_rng(3)
    samples = [(rng.integers(0, 256, (3, 20, 24), dtype=np.uint8)[:, :, ::-1], k) for k in range(6)]
    kw = dict(mixup_alpha=0.0, saliencymix_alpha=1.0, num_classes=6, mode="elem")
    ours, y = FastCollateSaliencyMix(seed=5, **kw)(samples)
    copies, y_copies = FastCollateSaliencyMix(seed=5, **kw)([(np.ascontiguousarray(s), k) for s, k in samples])
    assert torch.equal(ours, copies) and torch.equal(y, y_copies)
    FastCollateMixup(mixup_alpha=0.0, cutmix_alpha=1.0, num_classes=6)(samples)  # timm takes them too


def test_gradients_reach_the_pixels_that_end_up_in_the_mixed_batch():
    mix = SaliencyMix(mixup_alpha=1.0, cutmix_alpha=1.0, saliencymix_alpha=1.0, mode="elem", num_classes=4,
                      max_value=255.0, seed=4)
    leaf = (torch.randint(0, 256, (6, 3, 20, 20)).float()).requires_grad_(True)
    mixed, _ = mix(leaf.clone(), torch.arange(6) % 4)
    mixed.sum().backward()
    assert torch.allclose(leaf.grad.sum(), torch.tensor(float(mixed.numel())))  # every output pixel has weight 1
    with pytest.raises(ValueError, match="leaf tensor that requires grad"):
        mix(leaf, torch.arange(6) % 4)
