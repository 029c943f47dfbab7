"""Regression tests for the defects found by trying bad and unusual inputs (issue 12, D4-D12).

Each case gives a clear error (naming the fix) or the right result; none may give a silent wrong one.
"""
import math

import numpy as np
import pytest
import torch
from images import photographs
from timm.data import IMAGENET_DEFAULT_MEAN as MEAN
from timm.data import IMAGENET_DEFAULT_STD as STD

from smix_timm import FastCollateSaliencyMix, SaliencyMix, saliency_map


def _photos(n=4, size=48):
    images = [np.ascontiguousarray(p[:size, :size]) for p in photographs().values()][:n]
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()


def _normalise(u8):
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    return (u8.float() / 255 - mean) / std


# ----------------------------------------------------------------------------------------- D4: wrong scale
def test_float_scale_mistakes_raise_with_the_likely_cause():
    u8 = _photos()
    with pytest.raises(ValueError, match="0-255 floats: pass max_value=255.0"):
        saliency_map(u8.float(), max_value=1.0)
    with pytest.raises(ValueError, match="look timm-normalised: pass mean=/std="):
        saliency_map(_normalise(u8), max_value=1.0)
    with pytest.raises(ValueError, match="outside 0-255"):
        saliency_map(u8.float() - 20, max_value=255.0)
    with pytest.raises(ValueError, match="do not match how the batch was normalised"):
        saliency_map(u8.float(), mean=MEAN, std=STD)
    mix = SaliencyMix(mixup_alpha=0.0, saliencymix_alpha=1.0, num_classes=4, max_value=1.0)
    with pytest.raises(ValueError, match="0-255 floats"):
        mix(u8.float(), torch.arange(4))


def test_float_scale_within_rounding_is_accepted():
    u8 = _photos()
    reference = saliency_map(u8)
    assert torch.equal(saliency_map(u8.float() + 0.3, max_value=255.0), reference)  # rounds back
    assert torch.equal(saliency_map(_normalise(u8), mean=MEAN, std=STD), reference)
    bf16 = saliency_map(_normalise(u8).bfloat16(), mean=MEAN, std=STD)  # coarse rounding is not an error
    assert bf16.shape == reference.shape


def test_nan_still_refused():
    x = _normalise(_photos())
    x[1, 0, 3, 3] = float("nan")
    with pytest.raises(ValueError, match="NaN or infinite"):
        saliency_map(x, mean=MEAN, std=STD)


# ----------------------------------------------------------------------------------------- D5: worker streams
class _SameSample(torch.utils.data.Dataset):
    def __len__(self):
        return 16

    def __getitem__(self, index):
        image = np.full((3, 16, 16), 100, np.uint8)
        image[:, :8] = 200
        return image, index % 2


def _batch_targets(collate, workers, epochs=1, persistent=False):
    loader = torch.utils.data.DataLoader(_SameSample(), batch_size=4, num_workers=workers, collate_fn=collate,
                                         persistent_workers=persistent)
    return [target for _ in range(epochs) for _, target in loader]


@pytest.mark.parametrize("seed", [np.random.default_rng(0), np.random.RandomState(0), 7],
                         ids=["Generator", "RandomState", "int"])
def test_seeded_collate_draws_differ_across_workers_and_epochs(seed):
    collate = FastCollateSaliencyMix(mixup_alpha=1.0, num_classes=2, label_smoothing=0.0, seed=seed)
    targets = _batch_targets(collate, workers=2, epochs=2)
    # batches 0 and 1 come from workers 0 and 1; epoch 2 (fresh workers) must not repeat epoch 1
    assert not torch.equal(targets[0], targets[1])
    assert not torch.equal(targets[0], targets[4]) and not torch.equal(targets[1], targets[5])


def test_int_seed_is_replayable_in_one_process():
    a = SaliencyMix(mixup_alpha=1.0, num_classes=2, seed=3).sample_params(8, (16, 16))
    b = SaliencyMix(mixup_alpha=1.0, num_classes=2, seed=3).sample_params(8, (16, 16))
    assert np.array_equal(a.lam, b.lam)


# ----------------------------------------------------------------------------------------- D6: replayed params
def test_params_for_another_image_size_are_refused():
    mix = SaliencyMix(mixup_alpha=0.0, cutmix_alpha=1.0, num_classes=4, seed=0)
    params = mix.sample_params(4, (64, 64))
    x = _photos(4, 16).float()
    with pytest.raises(ValueError, match="drawn for 64x64 images but the batch has 16x16"):
        mix.mix_with_params(x, torch.arange(4), params)
    params.image_size = None  # hand-made params: the boxes are still checked
    params.cutmix_box = [(0, 40, 0, 40)] * 4
    params.kind[:] = 2  # CUTMIX
    with pytest.raises(ValueError, match="is not inside the 16x16 images"):
        mix.mix_with_params(x, torch.arange(4), params)
    params = mix.sample_params(4, (16, 16))
    params.lam[0] = 1.5
    with pytest.raises(ValueError, match=r"params.lam must lie in \[0, 1\]"):
        mix.mix_with_params(x, torch.arange(4), params)


# ----------------------------------------------------------------------------------------- D7: user detectors
@pytest.mark.parametrize("bad, match", [
    (lambda images: torch.full(images.shape[:1] + images.shape[2:], float("nan")), r"finite maps in \[0, 1\]"),
    (lambda images: images.float().mean(1), r"finite maps in \[0, 1\]"),  # 0-255 floats
    (lambda images: torch.zeros(images.shape[:1] + images.shape[2:], device="meta"), "returned maps on meta"),
])
def test_user_detector_output_is_checked(bad, match):
    x = _photos()
    with pytest.raises(ValueError, match=match):
        saliency_map(x, bad)
    mix = SaliencyMix(mixup_alpha=0.0, saliencymix_alpha=1.0, num_classes=4, method=bad)
    with pytest.raises(ValueError, match=match):
        mix(x.clone(), torch.arange(4))


def test_user_detector_in_range_is_used():
    x = _photos()
    maps = saliency_map(x, lambda images: images.float().mean(1) / 255)
    assert torch.allclose(maps, x.float().mean(1) / 255)


# ----------------------------------------------------------------------------------------- D9, D12: construction
@pytest.mark.parametrize("kwargs, match", [
    (dict(saliencymix_alpha=float("nan")), "saliencymix_alpha must be >= 0 and finite"),
    (dict(saliencymix_alpha=float("inf")), "saliencymix_alpha must be >= 0 and finite"),
    (dict(saliencymix_alpha=1.0, mixup_alpha=float("nan")), "mixup_alpha must be >= 0 and finite"),
    (dict(saliencymix_alpha=1.0, label_smoothing=1.5), r"label_smoothing must be in \[0, 1\]"),
    (dict(saliencymix_alpha=1.0, label_smoothing=float("nan")), r"label_smoothing must be in \[0, 1\]"),
    (dict(saliencymix_alpha=1.0, seed=-1), "seed must be an int >= 0"),
])
def test_bad_settings_fail_at_construction(kwargs, match):
    for cls in (SaliencyMix, FastCollateSaliencyMix):
        with pytest.raises(ValueError, match=match):
            cls(num_classes=4, **dict(dict(mixup_alpha=0.0), **kwargs))


def test_cutmix_minmax_under_one_pixel_says_how_to_fix():
    mix = SaliencyMix(mixup_alpha=0.0, cutmix_minmax=(0.001, 0.02), num_classes=4)
    with pytest.raises(ValueError, match="under one pixel on 16x16 images; raise its maximum to at least 0.0625"):
        mix(_photos(4, 16).float() / 255, torch.arange(4))


# ----------------------------------------------------------------------------------------- D10: tiny images
@pytest.mark.parametrize("height, width", [(1, 1), (1, 2), (2, 2), (2, 5), (5, 1), (3, 3), (2, 7)])
def test_frequency_tuned_matches_opencv_on_tiny_images(height, width):
    pytest.importorskip("cv2").saliency
    x = torch.from_numpy(np.random.default_rng(height * 10 + width).integers(0, 256, (3, 3, height, width),
                                                                              dtype=np.uint8))
    ours = saliency_map(x, "frequency_tuned")
    reference = saliency_map(x, "frequency_tuned", backend="opencv")
    assert (ours - reference).abs().max() < 0.02  # as the photo parity test; tiny sides used to differ by 1.0


def test_reflect101_index_is_opencvs():
    cv2 = pytest.importorskip("cv2")
    from smix_timm.saliency.frequency_tuned_torch import reflect101_index
    for size in (1, 2, 3, 6):
        ours = reflect101_index(size, 4).tolist()
        assert ours == [cv2.borderInterpolate(p, size, cv2.BORDER_REFLECT_101) for p in range(-4, size + 4)]


# ----------------------------------------------------------------------------------------- D11: aliased rows
def test_batch_whose_samples_share_memory_is_refused():
    one = _normalise(_photos(1))
    mix = SaliencyMix(mixup_alpha=0.0, cutmix_alpha=1.0, num_classes=4)
    with pytest.raises(ValueError, match="share memory"):
        mix(one.expand(4, -1, -1, -1), torch.arange(4))
    x, _ = mix(one.expand(4, -1, -1, -1).clone(), torch.arange(4))  # the fix the message names works
    assert x.shape == (4, 3, 48, 48) and not math.isnan(float(x.sum()))


def test_shared_rows_detection():
    from smix_timm._inputs import has_shared_rows
    base = torch.zeros(4, 3, 8, 8)
    assert not has_shared_rows(base) and not has_shared_rows(base[:, :, ::2])
    assert not has_shared_rows(base.contiguous(memory_format=torch.channels_last))
    assert has_shared_rows(base[:1].expand(4, -1, -1, -1))
    assert has_shared_rows(torch.zeros(3, 8, 8).unsqueeze(0).expand(2, -1, -1, -1))


# ----------------------------------------------------------------------------------------- D8: damaged kernel
# The kernel is no longer built at run time (issue 11): there is no cache to damage. What replaces the
# check is tests/test_native.py: a stale or missing build is refused with one warning, never loaded.


# ----------------------------------------------------------------------------------------- D15: refusal messages
class _RunsCode:
    def __reduce__(self):
        import os
        return (os.system, ("echo should-never-run",))


@pytest.mark.parametrize("reader", ["smix_timm", "smix_mmdet"])
def test_refused_checkpoints_say_what_torch_refused(tmp_path, reader):
    import pickle

    from smix_timm.checkpoint import read_checkpoint
    if reader == "smix_mmdet":
        safe_load = pytest.importorskip("smix_mmdet.safe_load")
        read = safe_load.load_checkpoint_file
    else:
        read = read_checkpoint
    evil, raw, empty = tmp_path / "evil.pth", tmp_path / "raw.pkl", tmp_path / "empty.pth"
    torch.save({"state_dict": {}, "x": _RunsCode()}, evil)
    with open(raw, "wb") as f:
        pickle.dump({"state_dict": {}}, f, protocol=4)
    empty.write_bytes(b"")
    with pytest.raises(Exception, match=r"it pickles posix\.system, which loading would call \(it can run code\)"):
        read(evil)
    with pytest.raises(Exception, match=r"another format \(e\.g\. a plain pickle; torch: Unsupported operand"):
        read(raw)
    with pytest.raises(Exception, match=r"is empty \(0 bytes\)"):
        read(empty)
