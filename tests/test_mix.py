"""SaliencyMix / FastCollateSaliencyMix: timm contract, exact label weights, peaks, official preset, seeds and
random streams, replayed params, errors."""
from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch
from timm.data import IMAGENET_DEFAULT_MEAN as MEAN
from timm.data import IMAGENET_DEFAULT_STD as STD
from timm.data import FastCollateMixup, Mixup
from timm.data.mixup import mixup_target

from smix_timm import FastCollateSaliencyMix, SaliencyMix, saliency_map
from smix_timm.apply import label_weights, patch_box_pairs
from smix_timm.params import CUTMIX, MIXUP, NONE, SALIENCYMIX
from smix_timm.placement import SCHEMES
from tests.images import photo_tensor, photographs, synthetic

MODES = ["batch", "pair", "elem"]
MEAN_T, STD_T = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)


def normalise(u8: torch.Tensor) -> torch.Tensor:
    return (u8.float() / 255 - MEAN_T) / STD_T


def structured_batch(batch=8, size=48, seed=0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    images = np.stack([synthetic(rng, size, size) for _ in range(batch)])
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()


def tagged_batch(batch: int, size: int = 32) -> torch.Tensor:
    """Image i holds value i in channel 0 (for counting pixels), structure elsewhere for saliency."""
    x = structured_batch(batch, size).float()
    x[:, 0] = torch.arange(batch, dtype=torch.float32).view(-1, 1, 1)
    return x


def owners(mixed: torch.Tensor) -> torch.Tensor:
    return mixed[:, 0].round().long()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["saliencymix", "cutmix", "both"])
@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_label_weight_equals_pixel_fraction(mode, kind, scheme):
    alphas = {"saliencymix": dict(saliencymix_alpha=1.0), "cutmix": dict(cutmix_alpha=1.0),
              "both": dict(saliencymix_alpha=1.0, cutmix_alpha=1.0)}[kind]
    for border in ("shift", "clip"):
        mix = SaliencyMix(mixup_alpha=0.0, mode=mode, num_classes=10, label_smoothing=0.0, scheme=scheme,
                          border=border, max_value=255.0, seed=7, **alphas)
        for step in range(4):
            batch = 10
            x = tagged_batch(batch)
            target = torch.arange(batch)
            mixed, y = mix(x.clone(), target)
            own = owners(mixed)
            for i in range(batch):
                from_partner = (own[i] == batch - 1 - i).float().mean().item()
                assert set(own[i].unique().tolist()) <= {i, batch - 1 - i}
                assert y[i, i].item() == pytest.approx(1 - from_partner, abs=1e-6)
                assert y[i, batch - 1 - i].item() == pytest.approx(from_partner, abs=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_mixup_switch_and_label_smoothing_match_timm_formula(mode):
    mix = SaliencyMix(mixup_alpha=1.0, saliencymix_alpha=1.0, switch_prob=0.5, mode=mode, num_classes=12,
                      label_smoothing=0.1, max_value=255.0, seed=3)
    x = tagged_batch(12)
    target = torch.randint(0, 12, (12,))
    params = SaliencyMix(mixup_alpha=1.0, saliencymix_alpha=1.0, switch_prob=0.5, mode=mode, num_classes=12,
                         max_value=255.0, seed=3).sample_params(12, (32, 32))
    mixed, y = mix(x.clone(), target)
    lam = torch.tensor(params.lam, dtype=torch.float32)
    patch = torch.tensor(params.kind == SALIENCYMIX)
    frac = (owners(mixed) == torch.arange(11, -1, -1).view(-1, 1, 1)).float().mean((1, 2))
    lam = torch.where(patch, 1 - frac, lam).unsqueeze(1)
    assert torch.allclose(y, mixup_target(target, 12, lam, 0.1), atol=1e-6)
    assert torch.allclose(y.sum(1), torch.ones(12))
    for i in np.flatnonzero(params.kind == MIXUP):
        j = 11 - i
        expect = x[i, 1:] * params.lam[i] + x[j, 1:] * (1 - params.lam[i])
        assert torch.allclose(mixed[i, 1:], expect, atol=1e-4)


def test_switch_prob_prob_and_mixup_enabled():
    def kinds(**kw):
        m = SaliencyMix(num_classes=5, max_value=255.0, seed=0, mode="elem", **kw)
        return np.concatenate([m.sample_params(64, (8, 8)).kind for _ in range(20)])
    k = kinds(mixup_alpha=1.0, saliencymix_alpha=1.0, switch_prob=1.0)
    assert set(k) == {SALIENCYMIX}
    k = kinds(mixup_alpha=1.0, saliencymix_alpha=1.0, switch_prob=0.0)
    assert set(k) == {MIXUP}
    k = kinds(mixup_alpha=1.0, saliencymix_alpha=1.0, switch_prob=0.3)
    assert abs((k == SALIENCYMIX).mean() - 0.3) < 0.05
    k = kinds(mixup_alpha=0.0, saliencymix_alpha=1.0, cutmix_alpha=1.0)
    assert abs((k == SALIENCYMIX).mean() - 0.5) < 0.05 and set(k) == {SALIENCYMIX, CUTMIX}
    k = kinds(mixup_alpha=0.0, saliencymix_alpha=1.0, prob=0.25)
    assert abs((k == SALIENCYMIX).mean() - 0.25) < 0.05 and set(k) == {SALIENCYMIX, NONE}
    mix = SaliencyMix(mixup_alpha=0.0, saliencymix_alpha=1.0, num_classes=8, label_smoothing=0.2, max_value=255.0)
    mix.mixup_enabled = False
    x = tagged_batch(8)
    out, y = mix(x.clone(), torch.arange(8))
    assert torch.equal(out, x)
    assert torch.allclose(y, mixup_target(torch.arange(8), 8, 1.0, 0.2))


def test_pair_and_batch_modes_share_draws():
    m = SaliencyMix(mixup_alpha=1.0, cutmix_alpha=1.0, saliencymix_alpha=1.0, mode="pair", num_classes=5, seed=1)
    for _ in range(10):
        p = m.sample_params(10, (16, 16))
        assert np.array_equal(p.kind, p.kind[::-1]) and np.allclose(p.lam, p.lam[::-1])
    m = SaliencyMix(mixup_alpha=1.0, cutmix_alpha=1.0, mode="batch", num_classes=5, seed=1)
    for _ in range(10):
        p = m.sample_params(10, (16, 16))
        assert len(set(p.kind)) == 1 and len(set(p.lam)) == 1 and len({tuple(b) for b in p.cutmix_box}) == 1


def test_seed_replays_params_and_result():
    x = normalise(structured_batch(8, 40))
    kw = dict(mixup_alpha=0.5, cutmix_alpha=1.0, saliencymix_alpha=1.0, mode="elem", num_classes=8,
              mean=MEAN, std=STD)
    a, ya = SaliencyMix(seed=123, **kw)(x.clone(), torch.arange(8))
    b, yb = SaliencyMix(seed=123, **kw)(x.clone(), torch.arange(8))
    c, _ = SaliencyMix(seed=124, **kw)(x.clone(), torch.arange(8))
    assert torch.equal(a, b) and torch.equal(ya, yb) and not torch.equal(a, c)
    mix = SaliencyMix(seed=9, **kw)
    params = mix.sample_params(8, (40, 40))
    r1, y1 = mix.mix_with_params(x.clone(), torch.arange(8), params)
    r2, y2 = mix.mix_with_params(x.clone(), torch.arange(8), params)
    assert torch.equal(r1, r2) and torch.equal(y1, y2)
    np.random.seed(5)
    g1, _ = SaliencyMix(**kw)(x.clone(), torch.arange(8))
    np.random.seed(5)
    g2, _ = SaliencyMix(**kw)(x.clone(), torch.arange(8))
    assert torch.equal(g1, g2)  # seed=None follows numpy's global RNG, as timm's Mixup


def true_peak(img_chw_u8: torch.Tensor):
    import cv2
    det = cv2.saliency.StaticSaliencyFineGrained.create()
    _, sal = det.computeSaliency(np.ascontiguousarray(img_chw_u8.permute(1, 2, 0).numpy()[:, :, ::-1]))
    return np.unravel_index(np.argmax(sal), sal.shape)


def photo_batch(batch=8, size=96):
    rng = np.random.default_rng(11)
    photos = list(photographs().values())
    crops = []
    for k in range(batch):
        p = photos[k % len(photos)]
        y, x = rng.integers(0, p.shape[0] - size), rng.integers(0, p.shape[1] - size)
        crops.append(p[y:y + size, x:x + size])
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).contiguous()


def check_boxes_hold_true_peaks(mix_cls_output, u8, params, pairs, lam_from_targets):
    batch = len(u8)
    for i in range(batch):
        src, tgt = pairs[i]
        assert src == tgt  # default scheme: salient -> corresponding
        py, px = true_peak(u8[batch - 1 - i])
        y0, y1, x0, x1 = src
        assert y0 <= py < y1 and x0 <= px < x1, f"sample {i}: peak {(py, px)} not in {src}"
        area = (y1 - y0) * (x1 - x0)
        assert lam_from_targets[i] == pytest.approx(1 - area / (u8.shape[-1] * u8.shape[-2]), abs=1e-6)
        expect = u8[i].clone()
        expect[:, y0:y1, x0:x1] = u8[batch - 1 - i, :, y0:y1, x0:x1]
        assert torch.equal(mix_cls_output[i], expect)


@pytest.mark.parametrize("mode", MODES)
def test_batch_path_boxes_contain_true_opencv_peak(mode):
    u8 = photo_batch()
    kw = dict(mixup_alpha=0.0, saliencymix_alpha=1.0, mode=mode, num_classes=8, label_smoothing=0.0,
              mean=MEAN, std=STD)
    x = normalise(u8)
    mixed, y = SaliencyMix(seed=4, **kw)(x.clone(), torch.arange(8))
    replay = SaliencyMix(seed=4, **kw)
    params = replay.sample_params(8, (96, 96))
    pairs = replay.saliency_box_pairs(x, params)
    back = ((mixed * STD_T + MEAN_T) * 255).round().to(torch.uint8)
    check_boxes_hold_true_peaks(back, u8, params, pairs, y[torch.arange(8), torch.arange(8)].tolist())


@pytest.mark.parametrize("mode", MODES)
def test_collate_path_boxes_contain_true_opencv_peak(mode):
    u8 = photo_batch()
    # mean/std as tools/train.py passes them (needed by official=True only): uint8 input ignores them
    kw = dict(mixup_alpha=0.0, saliencymix_alpha=1.0, mode=mode, num_classes=8, label_smoothing=0.0,
              mean=MEAN, std=STD)
    collate = FastCollateSaliencyMix(seed=8, **kw)
    assert isinstance(collate, FastCollateMixup) and isinstance(collate, Mixup)
    out, y = collate([(img.numpy(), i) for i, img in enumerate(u8)])
    assert out.dtype == torch.uint8 and y.shape == (8, 8)
    replay = FastCollateSaliencyMix(seed=8, **kw)
    params = replay.sample_params(8, (96, 96))
    pairs = replay.saliency_box_pairs(u8, params)
    check_boxes_hold_true_peaks(out, u8, params, pairs, y[torch.arange(8), torch.arange(8)].tolist())


def test_collate_half_mode_and_mixup_rounding():
    u8 = photo_batch(8, 32)
    collate = FastCollateSaliencyMix(mixup_alpha=1.0, saliencymix_alpha=1.0, mode="half", num_classes=8,
                                     label_smoothing=0.0, seed=2)
    out, y = collate([(img.numpy(), i) for i, img in enumerate(u8)])
    assert out.shape == (4, 3, 32, 32) and y.shape == (4, 8)
    for i in range(4):  # each output sample holds only itself and its partner 7-i from the second half
        assert y[i, i] + y[i, 7 - i] == pytest.approx(1.0, abs=1e-6)
    mix = FastCollateSaliencyMix(mixup_alpha=1.0, num_classes=8, label_smoothing=0.0, seed=5, mode="elem")
    params = mix.sample_params(8, (32, 32))
    out, _ = mix.mix_with_params(u8.clone(), torch.arange(8), params)
    for i in range(8):
        expect = (u8[i].float() * params.lam[i] + u8[7 - i].float() * (1 - params.lam[i])).round()
        assert (out[i].float() - expect).abs().max() <= 1  # float32 rounding at .5 ties only


def reference_official_step(x: torch.Tensor, lam: float):
    """One official-code SaliencyMix step, restated from what it does (not from its text).

    With timm's flip pairing the batch's first source is its last image. OpenCV's fine-grained
    detector gets that image as the normalised float32 HWC array; the map, scaled by 255 and cut to
    uint8, has its first maximum (row-major) at the peak. Around the peak a box of half-sides
    int(side * sqrt(1 - lam)) // 2, cut off at the image border, is taken from each sample's partner
    for every sample; the label weight is the share of the image left uncovered.
    """
    import cv2
    source_hwc = x[-1].numpy().transpose(1, 2, 0)
    _, saliency = cv2.saliency.StaticSaliencyFineGrained.create().computeSaliency(source_hwc)
    peak_row, peak_col = divmod(int((saliency * 255).astype(np.uint8).argmax()), saliency.shape[1])
    height, width = x.shape[-2:]
    side_share = math.sqrt(1.0 - lam)
    half_rows, half_cols = int(height * side_share) // 2, int(width * side_share) // 2
    top, bottom = max(peak_row - half_rows, 0), min(peak_row + half_rows, height)
    left, right = max(peak_col - half_cols, 0), min(peak_col + half_cols, width)
    mixed = x.clone()
    mixed[:, :, top:bottom, left:right] = x.flip(0)[:, :, top:bottom, left:right]
    return mixed, 1.0 - (bottom - top) * (right - left) / (height * width)


def test_official_preset_reproduces_the_official_step():
    x = normalise(photo_batch(8, 64))
    mix = SaliencyMix(mixup_alpha=0.0, saliencymix_alpha=1.0, official=True, num_classes=8, label_smoothing=0.0,
                      seed=21)
    lam = SaliencyMix(mixup_alpha=0.0, saliencymix_alpha=1.0, official=True, num_classes=8,
                      seed=21).sample_params(8, (64, 64)).lam[0]
    ours, y = mix(x.clone(), torch.arange(8))
    ref, ref_lam = reference_official_step(x, lam)
    assert torch.equal(ours, ref)
    assert torch.allclose(y.diagonal(), torch.full((8,), float(ref_lam)), atol=1e-6)


def test_official_map_is_unrelated_to_true_saliency():
    """DESIGN sec. 3: the official float input gives a map uncorrelated with the true one."""
    import cv2
    u8 = photo_batch(6, 128)
    x = normalise(u8)
    det = cv2.saliency.StaticSaliencyFineGrained.create()
    true = saliency_map(u8)
    corr = []
    for k in range(len(u8)):
        _, official = det.computeSaliency(x[k].numpy().transpose(1, 2, 0))
        corr.append(np.corrcoef(official.ravel(), true[k].numpy().ravel())[0, 1])
    assert abs(np.mean(corr)) < 0.2, corr


def test_timm_loader_with_prefetcher_and_mixup_off(tmp_path):
    from PIL import Image
    from timm.data import create_dataset, create_loader

    rng = np.random.default_rng(0)
    for c in range(3):
        (tmp_path / f"class{c}").mkdir()
        for k in range(4):
            Image.fromarray(synthetic(rng, 40, 40)).save(tmp_path / f"class{c}" / f"{k}.png")
    dataset = create_dataset("", root=str(tmp_path), split="train", is_training=True)
    collate = FastCollateSaliencyMix(mixup_alpha=0.0, saliencymix_alpha=1.0, num_classes=3, label_smoothing=0.1,
                                     seed=0)
    loader = create_loader(dataset, input_size=(3, 32, 32), batch_size=6, is_training=True, use_prefetcher=True,
                           collate_fn=collate, num_workers=0, device=torch.device("cpu"), mean=MEAN, std=STD)
    x, y = next(iter(loader))
    assert x.shape == (6, 3, 32, 32) and x.dtype == torch.float32 and y.shape == (6, 3)
    assert torch.allclose(y.sum(1), torch.ones(6)) and (y.max(1).values < 0.94).any()
    loader.mixup_enabled = False  # what timm's train.py does at --mixup-off-epoch
    assert collate.mixup_enabled is False
    x, y = next(iter(loader))
    assert torch.allclose(y.max(1).values, torch.full((6,), 0.9 + 0.1 / 3))


def test_seeded_collate_differs_between_workers():
    collate = FastCollateSaliencyMix(mixup_alpha=1.0, num_classes=4, seed=0, mode="elem")

    class Data(torch.utils.data.Dataset):
        def __len__(self):
            return 16

        def __getitem__(self, k):
            return np.full((3, 8, 8), k * 10, np.uint8), k % 4

    loader = torch.utils.data.DataLoader(Data(), batch_size=4, num_workers=2, collate_fn=collate)
    targets = [y for _, y in loader]
    lams = [tuple(np.round(y.max(1).values.numpy(), 6)) for y in targets]
    assert len(set(lams)) == len(lams)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_dtypes_and_channels_last(dtype):
    x = normalise(structured_batch(6, 32)).to(dtype).contiguous(memory_format=torch.channels_last)
    mix = SaliencyMix(mixup_alpha=1.0, saliencymix_alpha=1.0, mode="elem", num_classes=6, mean=MEAN, std=STD,
                      seed=0)
    out, y = mix(x, torch.arange(6))
    assert out is x and out.dtype == dtype and out.is_contiguous(memory_format=torch.channels_last)
    assert y.shape == (6, 6) and torch.isfinite(y).all()


def test_odd_and_single_batches_leave_the_middle_unmixed():
    mix = SaliencyMix(mixup_alpha=0.0, saliencymix_alpha=1.0, num_classes=10, label_smoothing=0.0,
                      max_value=255.0, seed=0)
    x = tagged_batch(5)
    out, y = mix(x.clone(), torch.arange(5))
    assert torch.equal(out[2], x[2]) and y[2, 2] == 1
    out, y = mix(x[:1].clone(), torch.tensor([3]))
    assert torch.equal(out, x[:1]) and y[0, 3] == 1


@pytest.mark.parametrize("kwargs,match", [
    (dict(mixup_alpha=0.0), "nothing to mix"),
    (dict(saliencymix_alpha=-1.0), "saliencymix_alpha must be >= 0"),
    (dict(saliencymix_alpha=1.0, method="nope"), "unknown saliency method"),
    (dict(saliencymix_alpha=1.0, scheme="random"), "unknown placement scheme"),
    (dict(saliencymix_alpha=1.0, per="epoch"), "per must be"),
    (dict(saliencymix_alpha=1.0, border="wrap"), "border must be"),
    (dict(saliencymix_alpha=1.0, mode="row"), "mode must be"),
    (dict(saliencymix_alpha=1.0, prob=2.0), r"prob must be in \[0, 1\]"),
    (dict(saliencymix_alpha=1.0, mean=MEAN), "both mean and std"),
    (dict(saliencymix_alpha=1.0, official=True, scheme="salient_to_salient"), "official=True"),
    (dict(saliencymix_alpha=1.0, backend="opencv", method=lambda images: images.float().mean(1)), "backend=.opencv."),
    (dict(saliencymix_alpha=1.0, cutmix_minmax=(0.9, 0.1)), "cutmix_minmax"),
])
def test_constructor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SaliencyMix(num_classes=10, **kwargs)


def test_call_errors():
    mix = SaliencyMix(mixup_alpha=0.0, saliencymix_alpha=1.0, num_classes=4, mean=MEAN, std=STD)
    x = normalise(structured_batch(4, 16))
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        mix(x[0], torch.arange(4))
    with pytest.raises(ValueError, match="empty batch"):
        mix(x[:0], torch.arange(0))
    with pytest.raises(ValueError, match="one per image"):
        mix(x.clone(), torch.arange(3))
    with pytest.raises(ValueError, match="outside"):
        mix(x.clone(), torch.tensor([0, 1, 2, 9]))
    with pytest.raises(ValueError, match="integer class indices"):
        mix(x.clone(), torch.zeros(4))
    bad = x.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        mix(bad, torch.arange(4))
    with pytest.raises(ValueError, match="need their scale"):
        SaliencyMix(mixup_alpha=0.0, saliencymix_alpha=1.0, num_classes=4)(x.clone(), torch.arange(4))
    with pytest.raises(ValueError, match="1 .gray. or 3"):
        mix(torch.zeros(4, 2, 8, 8), torch.arange(4))
    collate = FastCollateSaliencyMix(mixup_alpha=0.0, saliencymix_alpha=1.0, num_classes=4)
    with pytest.raises(ValueError, match="uint8"):
        collate([(np.zeros((3, 8, 8), np.float32), 0)] * 2)
    with pytest.raises(ValueError, match="one size"):
        collate([(np.zeros((3, 8, 8), np.uint8), 0), (np.zeros((3, 9, 8), np.uint8), 1)])
    with pytest.raises(ValueError, match="non-empty"):
        collate([])
    with pytest.raises(ValueError, match="needs mean/std"):
        FastCollateSaliencyMix(mixup_alpha=0.0, saliencymix_alpha=1.0, official=True, num_classes=4)(
            [(np.zeros((3, 8, 8), np.uint8), 0)] * 2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_batch_matches_cpu():
    x = normalise(photo_batch(8, 64))
    kw = dict(mixup_alpha=0.0, saliencymix_alpha=1.0, mode="elem", num_classes=8, mean=MEAN, std=STD)
    cpu, ycpu = SaliencyMix(seed=1, **kw)(x.clone(), torch.arange(8))
    gpu, ygpu = SaliencyMix(seed=1, **kw)(x.clone().cuda(), torch.arange(8).cuda())
    assert gpu.device.type == "cuda" and torch.equal(gpu.cpu(), cpu) and torch.allclose(ygpu.cpu(), ycpu)


# ------------------------------------------------------------------------------ seeds and random streams
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


# ------------------------------------------------------------------------------ replayed params
def test_params_for_another_image_size_are_refused():
    mix = SaliencyMix(mixup_alpha=0.0, cutmix_alpha=1.0, num_classes=4, seed=0)
    params = mix.sample_params(4, (64, 64))
    x = photo_tensor(4, 16).float()
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


# ------------------------------------------------------------------------------ settings and batches refused
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


def test_batch_whose_samples_share_memory_is_refused():
    one = normalise(photo_tensor(1))
    mix = SaliencyMix(mixup_alpha=0.0, cutmix_alpha=1.0, num_classes=4)
    with pytest.raises(ValueError, match="share memory"):
        mix(one.expand(4, -1, -1, -1), torch.arange(4))
    x, _ = mix(one.expand(4, -1, -1, -1).clone(), torch.arange(4))  # the fix the message names works
    assert x.shape == (4, 3, 48, 48) and not math.isnan(float(x.sum()))


# ------------------------------------------------------------------------------ timm's contract
# Every keyword of the installed timm's Mixup/FastCollateMixup, dense multi-label targets, timm's
# --mixup-off-epoch switch reaching persistent workers, a stream per distributed rank, user transforms'
# negative strides, and gradients through the mix.
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
