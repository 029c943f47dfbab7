"""params.py: the random draws of a batch (kind, lambda, CutMix boxes) replay from the generator state,
follow the mode and switches, and a CutMix size range too small for the images is refused."""
import numpy as np
import pytest
import torch

from smix_timm import SaliencyMix
from smix_timm.params import CUTMIX, NONE, SALIENCYMIX, MixConfig, sample_mix_params
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
