"""params.py: the random draws of a batch (kind, lambda, CutMix boxes) replay from the generator state,
follow the mode and switches, and a CutMix size range too small for the images is refused."""
import numpy as np
import pytest
import torch

from smix_timm import SaliencyMix
from smix_timm.params import (
    CUTMIX,
    NONE,
    SALIENCYMIX,
    MixConfig,
    TimmBoxRules,
    random_cutmix_box,
    random_cutmix_boxes,
    sample_mix_params,
    timm_box_rules,
)
from tests.images import photo_tensor


def test_sample_mix_params_replays_from_the_same_generator_state():
    cfg = MixConfig(mixup_alpha=0.0, cutmix_alpha=1.0, saliencymix_alpha=1.0, mode="elem").validate()
    a = sample_mix_params(np.random.default_rng(7), cfg, 9, (32, 40))
    b = sample_mix_params(np.random.default_rng(7), cfg, 9, (32, 40))
    assert np.array_equal(a.kind, b.kind) and np.array_equal(a.lam, b.lam)
    assert np.array_equal(a.cutmix_box, b.cutmix_box)
    assert a.kind[4] == NONE and a.lam[4] == 1.0  # the middle sample of an odd batch is its own partner
    assert set(a.kind) <= {CUTMIX, SALIENCYMIX, NONE} and a.image_size == (32, 40)
    assert a.cutmix_box.shape == (9, 4) and (a.cutmix_box[a.kind != CUTMIX] == 0).all()
    for box in a.cutmix_box[a.kind == CUTMIX]:
        assert 0 <= box[0] <= box[1] <= 32 and 0 <= box[2] <= box[3] <= 40


def test_sample_mix_params_modes_and_switches():
    batch = sample_mix_params(np.random.default_rng(1), MixConfig(mixup_alpha=1.0, cutmix_alpha=0.0,
                                                                  saliencymix_alpha=1.0), 6, (16, 16))
    assert len(set(batch.kind)) == 1 and len(set(batch.lam)) == 1  # 'batch': one draw for all
    pair = sample_mix_params(np.random.default_rng(2), MixConfig(mixup_alpha=0.0, saliencymix_alpha=1.0,
                                                                 mode="pair"), 6, (16, 16))
    assert np.array_equal(pair.lam, pair.lam[::-1]) and np.array_equal(pair.kind, pair.kind[::-1])
    off = sample_mix_params(np.random.default_rng(3), MixConfig(saliencymix_alpha=1.0), 4, (16, 16), enabled=False)
    assert (off.kind == NONE).all() and (off.lam == 1.0).all()
    never = sample_mix_params(np.random.default_rng(4), MixConfig(saliencymix_alpha=1.0, prob=0.0, mode="elem"),
                              4, (16, 16))
    assert (never.kind == NONE).all()


def test_cutmix_minmax_under_one_pixel_says_how_to_fix():
    mix = SaliencyMix(mixup_alpha=0.0, cutmix_minmax=(0.001, 0.02), num_classes=4)
    with pytest.raises(ValueError, match="under one pixel on 16x16 images; raise its maximum to at least 0.0625"):
        mix(photo_tensor(4, 16).float() / 255, torch.arange(4))


SIZES = [(32, 32), (31, 45), (7, 13), (224, 224), (1, 5)]


def test_the_box_rules_are_read_from_the_installed_timm_without_touching_its_stream():
    import timm
    timm_box_rules.cache_clear()
    np.random.seed(11)
    before = np.random.get_state()[1].copy()
    rules = timm_box_rules()
    assert np.array_equal(np.random.get_state()[1], before)  # the probe restores numpy's global RNG
    if tuple(int(p) for p in timm.__version__.split(".")[:3]) >= (1, 0, 31):
        assert rules == TimmBoxRules(odd_end_up=True, flush_start=True)


@pytest.mark.parametrize("height,width", SIZES)
def test_one_box_is_timms_rand_bbox_with_the_same_seed(height, width):
    from timm.data.mixup import rand_bbox
    lams = np.random.default_rng(height * 100 + width).uniform(0.0, 1.0, 300)
    lams[:3] = [0.0, 1.0, 0.5]  # whole image, empty, and an exact half
    for seed, lam in enumerate(lams):
        np.random.seed(seed)
        want = tuple(int(v) for v in rand_bbox((height, width), float(lam)))
        assert random_cutmix_box(np.random.RandomState(seed), float(lam), height, width) == want, (seed, lam)


@pytest.mark.parametrize("height,width", SIZES)
def test_many_boxes_are_timms_per_sample_calls_in_order(height, width):
    from timm.data.mixup import rand_bbox
    lams = np.random.default_rng(5).uniform(0.0, 1.0, 64).astype(np.float32)  # as timm's 'elem' mode
    np.random.seed(3)
    want = np.array([[int(v) for v in rand_bbox((height, width), lam)] for lam in lams])
    got = random_cutmix_boxes(np.random.RandomState(3), lams, height, width)
    assert np.array_equal(got, want)


@pytest.mark.parametrize("minmax", [(0.2, 0.8), (0.5, 1.0), (0.05, 0.3)])
@pytest.mark.parametrize("height,width", [(32, 32), (31, 45), (224, 224)])
def test_minmax_boxes_are_timms_rand_bbox_minmax(height, width, minmax):
    from timm.data.mixup import rand_bbox_minmax
    for seed in range(200):
        np.random.seed(seed)
        want = tuple(int(v) for v in rand_bbox_minmax((height, width), minmax))
        assert random_cutmix_box(np.random.RandomState(seed), 0.5, height, width, minmax=minmax) == want
    np.random.seed(9)
    want = np.stack([np.asarray(v) for v in rand_bbox_minmax((height, width), minmax, count=40)], axis=1)
    got = random_cutmix_boxes(np.random.RandomState(9), np.full(40, 0.5), height, width, minmax=minmax)
    assert np.array_equal(got, want)  # N > 1: one call with count=N (the docstring says why)
