"""official.py: the official SaliencyMix code's box, reproduced on purpose: OpenCV fed the normalised float
image, the first maximum of its map cut to uint8, and boxes of half-side int(side * sqrt(1 - lam)) // 2
around that one peak, clipped at the border."""
import numpy as np
import pytest
import torch
from timm.data import IMAGENET_DEFAULT_MEAN as MEAN
from timm.data import IMAGENET_DEFAULT_STD as STD

from smix_timm.official import official_box, official_box_pairs, official_boxes, official_input, official_peak
from smix_timm.saliency import require_cv2_saliency
from tests.images import imagenet_normalise, photo_tensor


def test_official_box_matches_formula_at_border():
    assert official_box((0, 0), 0.75, 32, 32) == (0, 8, 0, 8)
    assert official_box((31, 10), 0.75, 32, 32) == (23, 32, 2, 18)


def test_boxes_for_many_lambdas_are_the_one_lambda_boxes():
    lam = np.array([0.0, 0.1, 0.5, 0.75, 0.99, 1.0])
    boxes = official_boxes((20, 5), lam, 40, 30)
    assert boxes.shape == (6, 4) and boxes.dtype == np.int64
    assert [tuple(b) for b in boxes] == [official_box((20, 5), float(v), 40, 30) for v in lam]
    assert tuple(boxes[0]) == (0, 40, 0, 20)  # lam 0: sides 40 and 30, halves 20 and 15, cut at the border
    assert tuple(boxes[-1]) == (20, 20, 5, 5)  # lam 1: an empty box


def test_box_pairs_put_the_same_box_in_source_and_target_for_the_chosen_samples():
    lam = np.array([0.5, 0.75, 0.9, 0.75])
    pairs = official_box_pairs((10, 12), 4, [1, 3], lam, 24, 24)
    assert pairs[0] is None and pairs[2] is None
    assert pairs[1] == (official_box((10, 12), 0.75, 24, 24),) * 2 and pairs[3] == pairs[1]


def test_input_is_the_timm_normalised_image():
    u8 = photo_tensor(1, 24)[0]
    assert torch.allclose(official_input(u8, MEAN, STD), imagenet_normalise(u8[None])[0], atol=1e-6)
    normalised = imagenet_normalise(u8[None])[0]
    assert official_input(normalised) is normalised  # a float image is that already
    with pytest.raises(ValueError, match="needs mean/std"):
        official_input(u8)


def test_peak_is_the_first_maximum_of_the_uint8_cut_map():
    cv2 = require_cv2_saliency()
    x = imagenet_normalise(photo_tensor(1, 40))[0]
    _, saliency = cv2.saliency.StaticSaliencyFineGrained.create().computeSaliency(x.numpy().transpose(1, 2, 0))
    row, col = divmod(int((saliency * 255).astype(np.uint8).argmax()), 40)
    assert official_peak(x) == (row, col)
