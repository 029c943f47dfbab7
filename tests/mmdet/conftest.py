"""Fixtures of the detection-side tests."""
import pytest


@pytest.fixture(scope="module")
def r18_ckpts(tmp_path_factory):
    """resnet18 checkpoints of timm's CheckpointSaver, keyed (with EMA, with args); different weights each."""
    from tests._mmdet_testlib import write_timm_checkpoint
    root = tmp_path_factory.mktemp("r18")
    return {
        (ema, args): write_timm_checkpoint(root / f"ema{ema}_args{args}",
                                           "resnet18", ema=ema, args=args,
                                           seed=int(ema) * 2 + int(args))
        for ema in (True, False) for args in (True, False)
    }
