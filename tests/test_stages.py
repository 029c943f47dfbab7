"""The four stages on their own: random params -> saliency peaks -> boxes for a batch -> apply.

Each stage is a pure function (given its inputs, including the generator state); these tests call them
directly, with inputs written by hand, and check results worked out by hand.
"""
import doctest

import numpy as np
import pytest
import torch

from smix_timm import placement
from smix_timm.apply import apply_mix, patch_box_pairs
from smix_timm.params import CUTMIX, MIXUP, NONE, SALIENCYMIX, MixConfig, MixParams, sample_mix_params
from smix_timm.saliency import saliency_map, saliency_peaks


def test_placement_doctests():
    assert doctest.testmod(placement).failed == 0


# ------------------------------------------------------------------------------ stage 1: params
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


# ------------------------------------------------------------------------------ stage 2: peaks
def test_saliency_peaks_are_the_first_extremes_of_opencvs_maps():
    images = torch.zeros(2, 3, 48, 48, dtype=torch.uint8)
    images[0, :, 30:36, 10:16] = 255
    images[1, :, 5:11, 20:26] = 200
    maxima, minima = saliency_peaks(images)
    reference = saliency_map(images, backend="opencv").flatten(1)  # OpenCV itself, image by image
    for k in range(2):
        assert int(maxima[k, 0]) * 48 + int(maxima[k, 1]) == int(reference[k].argmax())
        assert int(minima[k, 0]) * 48 + int(minima[k, 1]) == int(reference[k].argmin())
    assert 30 - 12 <= maxima[0, 0] < 36 + 12 and 10 - 12 <= maxima[0, 1] < 16 + 12  # near the square


# ------------------------------------------------------------------------------ stage 3: boxes for a batch
def test_images_needed_by_scheme_and_per():
    assert placement.images_needed(6, [0, 2], "salient_to_corresponding", "sample") == [3, 5]
    assert placement.images_needed(6, [0, 2], "salient_to_salient", "sample") == [0, 2, 3, 5]
    assert placement.images_needed(6, [0, 2], "salient_to_salient", "batch") == [0, 5]
    with pytest.raises(ValueError, match="per must be"):
        placement.images_needed(6, [0], "salient_to_corresponding", "pixel")


def test_batch_boxes_follow_each_sources_peak():
    # 4 samples, 16x16, lam 0.75 -> 8x8 patches. Sample i takes its patch from image 3 - i.
    maxima = [[2, 2], [15, 0], [8, 8], [0, 15]]  # peaks of images 0, 1, 2, 3
    minima = [[0, 0]] * 4
    pairs = placement.saliency_box_pairs(4, [0, 1, 2, 3], [0.75] * 4, (16, 16), maxima, minima)
    assert pairs[0] == ((0, 8, 8, 16), (0, 8, 8, 16))   # image 3's peak (0, 15): shifted inside
    assert pairs[1] == ((4, 12, 4, 12), (4, 12, 4, 12))  # image 2's peak (8, 8): centred
    assert pairs[2] == ((8, 16, 0, 8), (8, 16, 0, 8))   # image 1's peak (15, 0)
    assert pairs[3] == ((0, 8, 0, 8), (0, 8, 0, 8))     # image 0's peak (2, 2)
    only_two = placement.saliency_box_pairs(4, [1], [0.75, 0.75, 0.75, 0.75], (16, 16), [[8, 8]], [[0, 0]])
    assert only_two[0] is None and only_two[1] == ((4, 12, 4, 12), (4, 12, 4, 12))


def test_batch_boxes_to_the_targets_minimum():
    # salient_to_nonsalient: the source box around image 1's max, pasted around sample 0's min.
    pairs = placement.saliency_box_pairs(2, [0], [0.75, 1.0], (16, 16), maxima=[[1, 1], [12, 12]],
                                         minima=[[15, 15], [0, 0]], scheme="salient_to_nonsalient")
    assert pairs[0] == ((8, 16, 8, 16), (8, 16, 8, 16))  # max of image 1 at (12, 12), min of image 0 at (15, 15)
    with pytest.raises(ValueError, match="need the peaks of 2 maps"):
        placement.saliency_box_pairs(2, [0], [0.75, 1.0], (16, 16), [[1, 1]], [[0, 0]],
                                     scheme="salient_to_nonsalient")


# ------------------------------------------------------------------------------ stage 4: apply
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
