"""targets.py gives the bits of timm's mixup_target for per-sample weights, on random batches."""
import numpy as np
import pytest
import torch
from timm.data.mixup import mixup_target

from smix_timm.targets import mixed_soft_targets


def _case(rng):
    batch, classes = int(rng.integers(1, 40)), int(rng.integers(1, 1100))
    target = torch.from_numpy(rng.integers(0, classes, batch))
    if rng.random() < 0.3:
        target[:] = target[0]  # partners with the same label
    lam = torch.from_numpy(rng.random((batch, 1)).astype(np.float32))
    lam[torch.from_numpy(rng.random((batch, 1)) < 0.2)] = 1.0
    smoothing = float(rng.choice([0.0, 0.1, rng.random()]))
    return target, classes, lam, smoothing


def test_bit_identical_to_timms_mixup_target():
    rng = np.random.default_rng(0)
    for _ in range(1500):
        target, classes, lam, smoothing = _case(rng)
        ours = mixed_soft_targets(target, classes, lam, smoothing)
        theirs = mixup_target(target, classes, lam, smoothing)
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        assert torch.equal(ours.view(torch.int32), theirs.view(torch.int32)), (len(target), classes, smoothing)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_bit_identical_to_timms_mixup_target():
    rng = np.random.default_rng(1)
    for _ in range(200):
        target, classes, lam, smoothing = _case(rng)
        ours = mixed_soft_targets(target.cuda(), classes, lam.cuda(), smoothing)
        theirs = mixup_target(target, classes, lam, smoothing)
        assert torch.equal(ours.cpu().view(torch.int32), theirs.view(torch.int32))
