"""placement.py: the batch form of the boxes equals the single-sample form, case by case.

``batch_box_pairs`` (array code, what the mixing classes run) against ``saliency_box_pairs`` (one
``saliency_boxes`` call per sample, the documented definition) on 12,000 random cases: image sizes
1..300 (square or not), lambdas over [0, 1] with the ends, every scheme, border and ``per``, odd and
even batches, any subset of chosen samples. Then small batches worked out by hand: which images a
scheme needs, and the boxes around each source's peak or the target's minimum.
"""
import doctest

import numpy as np
import pytest

from smix_timm import placement
from smix_timm.placement import (
    BORDERS,
    PER_CHOICES,
    SCHEMES,
    BoxPairs,
    batch_box_pairs,
    box_area,
    box_areas,
    box_around,
    boxes_around,
    images_needed,
    patch_size,
    patch_sizes,
    saliency_box_pairs,
)


def test_doctests():
    assert doctest.testmod(placement).failed == 0


def _random_case(rng):
    height, width = (int(v) for v in rng.integers(1, 301, size=2))
    if rng.random() < 0.3:
        width = height
    batch = int(rng.integers(1, 12))
    chosen = np.flatnonzero(rng.random(batch) < rng.random())
    lam = rng.random(batch)
    ends = rng.random(batch)
    lam[ends < 0.1] = 0.0
    lam[ends > 0.9] = 1.0
    return height, width, batch, chosen, lam


def _peaks(rng, count, height, width):
    return np.stack([rng.integers(0, height, count), rng.integers(0, width, count)], axis=1)


def test_batch_boxes_equal_the_single_sample_boxes_on_12000_cases():
    rng = np.random.default_rng(2026)
    combos = [(s, b, p) for s in sorted(SCHEMES) for b in BORDERS for p in PER_CHOICES]
    checked = 0
    for case in range(12000):
        scheme, border, per = combos[case % len(combos)]
        height, width, batch, chosen, lam = _random_case(rng)
        needed = images_needed(batch, chosen, scheme, per)
        maxima, minima = _peaks(rng, len(needed), height, width), _peaks(rng, len(needed), height, width)
        single = saliency_box_pairs(batch, chosen, lam, (height, width), maxima, minima, scheme, border, per)
        whole = batch_box_pairs(batch, chosen, lam, (height, width), maxima, minima, scheme, border, per)
        assert list(whole) == single, (case, scheme, border, per, height, width, batch, chosen.tolist())
        assert np.array_equal(whole.has_patch, np.isin(np.arange(batch), chosen))
        assert (whole.source[~whole.has_patch] == 0).all() and (whole.target[~whole.has_patch] == 0).all()
        checked += len(chosen)
    assert checked > 20000  # boxes compared, not just batches


def test_vector_helpers_equal_their_scalar_forms():
    rng = np.random.default_rng(5)
    for _ in range(2000):
        height, width = (int(v) for v in rng.integers(1, 301, size=2))
        lam = np.concatenate([rng.random(6), [0.0, 1.0, 0.5, 0.75]])
        sizes = patch_sizes(lam, height, width)
        assert sizes.tolist() == [list(patch_size(float(v), height, width)) for v in lam]
        points = _peaks(rng, len(lam), height, width)
        for border in BORDERS:
            boxes = boxes_around(points, sizes, (height, width), border)
            expected = [box_around(tuple(p), tuple(s), (height, width), border) for p, s in zip(points, sizes)]
            assert [tuple(b) for b in boxes.tolist()] == expected
            assert box_areas(boxes).tolist() == [box_area(b) for b in expected]


def test_errors_name_what_was_wrong():
    with pytest.raises(ValueError, match="need the peaks of 2 maps"):
        batch_box_pairs(2, [0], [0.75, 1.0], (16, 16), [[1, 1]], [[0, 0]], scheme="salient_to_nonsalient")
    with pytest.raises(ValueError, match=r"lam must be in \[0, 1\]"):
        batch_box_pairs(2, [0, 1], [1.5, 0.5], (16, 16), [[1, 1], [2, 2]], [[0, 0], [0, 0]])
    with pytest.raises(ValueError, match="unknown placement scheme"):
        batch_box_pairs(2, [0], [0.5, 0.5], (16, 16), [[1, 1]], [[0, 0]], scheme="salient")
    with pytest.raises(ValueError, match="border must be"):
        batch_box_pairs(2, [0], [0.5, 0.5], (16, 16), [[1, 1]], [[0, 0]], border="wrap")
    with pytest.raises(ValueError, match="one source box, target box and flag per sample"):
        BoxPairs(np.zeros((2, 4)), np.zeros((3, 4)), np.zeros(2, bool))


def test_box_pairs_index_like_the_single_sample_list():
    pairs = BoxPairs.from_list([((0, 2, 0, 2), (1, 3, 1, 3)), None, ((0, 0, 0, 0), (0, 0, 0, 0))])
    assert pairs[0] == ((0, 2, 0, 2), (1, 3, 1, 3)) and pairs[1] is None
    assert pairs[2] == ((0, 0, 0, 0), (0, 0, 0, 0))  # an empty patch is still a patch (lambda 1)
    assert len(pairs) == 3 and list(pairs)[1] is None
    assert pairs == BoxPairs.from_list(list(pairs)) and pairs != BoxPairs.empty(3)


# ------------------------------------------------------------------------------ boxes for a batch, by hand
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
