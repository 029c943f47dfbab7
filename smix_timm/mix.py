"""SaliencyMix as timm batch augmentations (paper sec. 3; timm.data.Mixup contract).

``SaliencyMix`` is a drop-in for ``timm.data.Mixup`` (``x, y = mix(x, target)``,
in place, soft targets); ``FastCollateSaliencyMix`` for ``FastCollateMixup``
(the uint8 collate of timm's prefetching loader). Both accept timm's arguments
with timm's defaults plus the SaliencyMix ones. With ``saliencymix_alpha=0``
they mix like Mixup/CutMix: timm's method and lambda distribution and the
installed timm's CutMix boxes (``rand_bbox`` / ``rand_bbox_minmax``, bit for bit
given the RNG state; params.py). With ``seed=None`` in 'batch' mode the draws
are timm's own, so ``np.random.seed(s)`` gives timm's method, lambda and box
(params.py lists the two exceptions); 'pair'/'elem'/'half' draw the same
distribution in another order. Given the same draws, mixed values may still
differ from timm's by float32 rounding of lambda (about 1e-7 in float images
and targets; now and then one level in a uint8 pixel). A step is: random params
(``sample_params``, params.py) -> saliency boxes (deterministic, placement.py)
-> apply (apply.py) -> soft targets (timm's ``mixup_target`` values, targets.py).
"""
from __future__ import annotations

import inspect
import os
from typing import Optional, Sequence, Tuple

import numpy as np
import timm
import torch
from timm.data import FastCollateMixup, Mixup
from timm.data.mixup import mixup_target

from . import placement
from ._inputs import Constants, check_batch, check_channels, check_mean_std, has_shared_rows
from .apply import apply_checked, apply_mix, patch_box_pairs
from .batch_assembly import stack_uint8_images
from .official import official_box_pairs, official_input, official_peak
from .params import SALIENCYMIX, MixConfig, MixParams, RandomSource, make_rng, sample_mix_params
from .placement import BoxPairs, check_border, check_scheme
from .saliency import check_backend, resolve_method, saliency_peaks, warn_once_if_no_cv2_saliency
from .targets import mixed_soft_targets

_TIMM_MIXUP_TARGET_ARGS = frozenset(inspect.signature(mixup_target).parameters)


class _SaliencyMixing(Mixup):
    """What SaliencyMix and FastCollateSaliencyMix share: configuration, params, boxes, apply.

    A timm ``Mixup`` (``super().__init__`` sets timm's attributes, which timm's loader and scripts read);
    the subclasses add timm's two calling contracts (batch, collate)."""

    def __init__(self, mixup_alpha: float = 1.0, cutmix_alpha: float = 0.0,
                 cutmix_minmax: Optional[Sequence[float]] = None, prob: float = 1.0, switch_prob: float = 0.5,
                 mode: str = "batch", correct_lam: bool = True, label_smoothing: float = 0.1,
                 num_classes: int = 1000, multi_label: bool = False, *, saliencymix_alpha: float = 0.0,
                 method="fine_grained",
                 scheme: str = "salient_to_corresponding", per: str = "sample", border: str = "shift",
                 mean: Constants = None, std: Constants = None, max_value: Optional[float] = None,
                 channels: str = "rgb", backend: str = "torch", official: bool = False,
                 seed: RandomSource = None):
        if cutmix_minmax is not None:
            cutmix_minmax = tuple(float(v) for v in cutmix_minmax)
            if len(cutmix_minmax) != 2:
                raise ValueError(f"cutmix_minmax must be (min, max), got {cutmix_minmax}")
        timm_kwargs = dict(mixup_alpha=mixup_alpha, cutmix_alpha=cutmix_alpha, cutmix_minmax=cutmix_minmax,
                           prob=prob, switch_prob=switch_prob, mode=mode, correct_lam=correct_lam,
                           label_smoothing=label_smoothing, num_classes=num_classes)
        if multi_label:  # dense (B, num_classes) targets, mixed by timm's own mixup_target
            if "multi_label" not in _TIMM_MIXUP_TARGET_ARGS:
                raise ValueError(f"multi_label=True needs a timm whose mixup_target mixes dense targets "
                                 f"(1.0.31 or newer); this is timm {timm.__version__}: upgrade timm")
            timm_kwargs["multi_label"] = True
        super().__init__(**timm_kwargs)
        self.multi_label = bool(multi_label)
        self.saliencymix_alpha = float(saliencymix_alpha)
        self._mix_config().validate()
        if not 0.0 <= float(label_smoothing) <= 1.0:  # NaN fails too
            raise ValueError(f"label_smoothing must be in [0, 1] (timm's --smoothing), got {label_smoothing}")
        if int(num_classes) < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        self.method = method
        resolve_method(method)
        self.scheme = scheme
        check_scheme(scheme)
        self.per = placement.check_per(per)
        self.border = check_border(border)
        check_mean_std(mean, std)
        self.mean, self.std, self.max_value = mean, std, max_value
        self.channels = check_channels(channels)
        self.backend = check_backend(backend, method)
        self.official = bool(official)
        if self.official and (method != "fine_grained" or scheme != "salient_to_corresponding"):
            raise ValueError("official=True reproduces the official code (fine_grained, salient_to_corresponding, "
                             "one map per batch, clipped box); do not combine it with another method or scheme")
        if self.official or self.backend == "opencv":  # both run OpenCV's detector: say now if it is missing
            warn_once_if_no_cv2_saliency("official=True" if self.official else "backend='opencv'")
        make_rng(seed)  # refuses a bad seed now, not at the first batch
        self._seed = seed
        self._rng = None
        self._rng_owner = None

    # ---------------------------------------------------------------- the on/off switch
    @property
    def mixup_enabled(self) -> bool:
        """timm's switch (``--mixup-off-epoch`` sets it to False), kept in shared memory.

        timm's loop flips it on the collate in the main process only; persistent DataLoader workers
        hold their own copy of the collate and would go on mixing. Here the flag lives in a one-byte
        shared-memory tensor that forked and spawned workers map too, so the flip reaches them at
        their next batch.
        """
        view = self.__dict__.get("_enabled_view")
        if view is None or view[1] != os.getpid():  # a numpy view of the shared byte, made once per process
            flag = self.__dict__.get("_enabled")
            if flag is None:
                return True
            view = (flag.numpy(), os.getpid())
            self.__dict__["_enabled_view"] = view
        return bool(view[0][0])

    @mixup_enabled.setter
    def mixup_enabled(self, value: bool) -> None:
        flag = self.__dict__.get("_enabled")
        if flag is None:
            flag = torch.ones(1, dtype=torch.bool).share_memory_()
            self.__dict__["_enabled"] = flag
        flag[0] = bool(value)

    # ---------------------------------------------------------------- randomness
    def _mix_config(self) -> MixConfig:
        minmax = tuple(self.cutmix_minmax) if self.cutmix_minmax is not None else None
        return MixConfig(mixup_alpha=self.mixup_alpha, cutmix_alpha=self.cutmix_alpha,
                         saliencymix_alpha=self.saliencymix_alpha, cutmix_minmax=minmax,
                         prob=self.mix_prob, switch_prob=self.switch_prob, mode=self.mode)

    def _generator(self):
        """The RNG for this process.

        seed=None uses numpy's global RNG, which timm seeds per worker. Any other seed (an int, a
        numpy Generator or RandomState) gives the main process its stream and each DataLoader
        worker a stream of its own, derived from the seed and the worker's torch seed (new every
        epoch unless workers persist): forked copies of one generator would otherwise draw the
        same lambdas and boxes in every worker, and again in every epoch.
        """
        info = None if self._seed is None else torch.utils.data.get_worker_info()
        rank = _distributed_rank() if self._seed is not None else 0
        if info is None:
            if self._rng is None or self._rng_owner != ("main", rank):
                # Rank 0 (and a single process) keeps the seed's own stream; other ranks fold their rank in,
                # as timm seeds its global RNG with seed + rank: otherwise every rank draws the same boxes.
                self._rng = make_rng(self._seed) if rank == 0 else \
                    np.random.default_rng([_seed_entropy(self._seed), rank])
                self._rng_owner = ("main", rank)
            return self._rng
        owner = (os.getpid(), info.seed)
        if self._rng_owner != owner:  # first batch in this worker: the forked copy is every worker's
            entropy = [_seed_entropy(self._seed), int(info.seed) % (2 ** 63)] + ([rank] if rank else [])
            self._rng = np.random.default_rng(entropy)
            self._rng_owner = owner
        return self._rng

    def sample_params(self, batch_size: int, image_size: Tuple[int, int]) -> MixParams:
        """Draw this step's random parameters (method and lambda per sample, CutMix boxes)."""
        return sample_mix_params(self._generator(), self._mix_config(), batch_size, tuple(image_size),
                                 enabled=self.mixup_enabled)

    # ---------------------------------------------------------------- saliency boxes
    def saliency_box_pairs(self, x: torch.Tensor, params: MixParams,
                           peaks: Optional[Tuple[torch.Tensor, torch.Tensor]] = None) -> BoxPairs:
        """Source/target boxes of the SaliencyMix samples (deterministic given x and params).

        Args:
            x, params: the (unmixed) batch and this step's params.
            peaks: optional (maxima, minima) of every image of ``x``, each (B, 2) [y, x] in batch order
                (``placement.peak_positions`` of maps the caller already has, computed with this
                mixer's method): the detector is then not run. Not with ``official=True``.
        Returns:
            ``placement.BoxPairs`` of B rows (``pairs[i]`` is sample i's (source, target) or None).
        """
        batch, height, width = len(x), x.shape[-2], x.shape[-1]
        if peaks is not None and self.official:
            raise ValueError("peaks do not apply with official=True: its one map is made from the normalised "
                             "float image (smix_timm.official)")
        chosen = np.flatnonzero(params.kind == SALIENCYMIX)
        if not len(chosen):
            return BoxPairs.empty(batch)
        if self.official:
            # One map per batch, from the source of sample 0 (timm pairs i with B-1-i).
            peak = official_peak(official_input(x[batch - 1], self.mean, self.std))
            return official_box_pairs(peak, batch, chosen, params.lam, height, width)
        needed = placement.images_needed(batch, chosen, self.scheme, self.per)
        if peaks is not None:
            maxima, minima = (_batch_peaks(p, batch)[needed] for p in peaks)
        else:
            # every image needed (the usual per-sample case): no gather copy of the batch
            images = x if len(needed) == batch else x[torch.as_tensor(needed, device=x.device)]
            scale = {} if images.dtype == torch.uint8 else dict(mean=self.mean, std=self.std,
                                                                 max_value=self.max_value)
            maxima, minima = saliency_peaks(images, self.method, channels=self.channels, backend=self.backend,
                                            **scale)
        return placement.batch_box_pairs(batch, chosen, params.lam, (height, width), maxima, minima,
                                         self.scheme, self.border, self.per)

    # ---------------------------------------------------------------- apply
    def mix_with_params(self, x: torch.Tensor, target: torch.Tensor, params: MixParams,
                        saliency_pairs: Optional[BoxPairs] = None):
        """Deterministic part of a step: mix ``x`` in place with ``params``; return (x, soft targets).

        A fixed number of operations for the whole batch (placement.batch_box_pairs, apply.apply_mix).
        ``saliency_pairs``: the boxes ``saliency_box_pairs(x, params)`` gave for this batch before it was
        mixed, when the caller has them already (the saliency maps are then not computed again).

        Raises:
            ValueError: params drawn for another batch length or image size, CutMix boxes outside
                the images, lambdas outside [0, 1], or a batch whose samples share memory.
        """
        _check_params(params, x)
        return self._mix_drawn(x, target, params, checked_boxes=False, saliency_pairs=saliency_pairs)

    def _mix_drawn(self, x: torch.Tensor, target: torch.Tensor, params: MixParams, checked_boxes: bool = True,
                   saliency_pairs: Optional[BoxPairs] = None):
        """``mix_with_params`` for params drawn by ``sample_params`` for this very batch (their CutMix boxes
        and the saliency boxes lie inside the images by construction, so they are not checked again)."""
        if has_shared_rows(x):
            raise ValueError("the samples of x share memory (e.g. a batch made with expand()), so mixing in place "
                             "would change several at once; pass x.clone() or x.contiguous()")
        if saliency_pairs is None:
            saliency_pairs = self.saliency_box_pairs(x, params)
        pairs = patch_box_pairs(params, saliency_pairs)
        if checked_boxes:
            lam = apply_checked(x, params, pairs, correct_lam=self.correct_lam)
        else:
            lam = apply_mix(x, params, pairs, correct_lam=self.correct_lam)
        weights = torch.from_numpy(lam.astype(np.float32)).to(target.device).unsqueeze(1)
        if self.multi_label:
            return x, mixup_target(target, self.num_classes, weights, self.label_smoothing, multi_label=True)
        return x, mixed_soft_targets(target, self.num_classes, weights, self.label_smoothing)

    def _check_target(self, target: torch.Tensor, batch: int) -> torch.Tensor:
        if not isinstance(target, torch.Tensor):
            target = torch.as_tensor(target)
        if self.multi_label:
            if tuple(target.shape) != (batch, self.num_classes):
                raise ValueError(f"multi_label=True takes dense targets of shape (B, num_classes) = "
                                 f"{(batch, self.num_classes)}, got {tuple(target.shape)}")
            return target
        if target.dim() != 1 or len(target) != batch:
            raise ValueError(f"target must be a 1-D tensor of {batch} class indices (one per image), "
                             f"got shape {tuple(target.shape)}")
        if target.is_floating_point() or target.dtype == torch.bool:
            raise ValueError(f"target must hold integer class indices, got dtype {target.dtype}")
        low, high = (int(v) for v in torch.aminmax(target)) if batch else (0, 0)
        if low < 0 or high >= self.num_classes:
            raise ValueError(f"target holds class indices outside [0, {self.num_classes}); "
                             f"check num_classes={self.num_classes}")
        return target


def _distributed_rank() -> int:
    """This process's rank in a torch.distributed job (torchrun's RANK before the group exists), else 0."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return int(torch.distributed.get_rank())
    try:
        return max(int(os.environ.get("RANK", "0")), 0)
    except ValueError:
        return 0


def _seed_entropy(seed) -> int:
    """An int standing for ``seed``: itself, or a draw from a Generator/RandomState (advancing it)."""
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(2 ** 63))
    if isinstance(seed, np.random.RandomState):
        return int(seed.randint(2 ** 31))
    return int(seed)


def _check_params(params: MixParams, x: torch.Tensor) -> None:
    """Params replayed by hand must fit the batch: same length and image size, boxes inside, lam in [0, 1]."""
    height, width = x.shape[-2], x.shape[-1]
    if len(params) != len(x):
        raise ValueError(f"params are for {len(params)} samples but the batch has {len(x)}")
    if params.image_size is not None and tuple(params.image_size) != (height, width):
        raise ValueError(f"params were drawn for {params.image_size[0]}x{params.image_size[1]} images but the "
                         f"batch has {height}x{width}; draw them with sample_params(len(x), x.shape[-2:])")
    lam = np.asarray(params.lam, dtype=np.float64)
    if not ((lam >= 0) & (lam <= 1)).all():
        raise ValueError(f"params.lam must lie in [0, 1], got values {lam.min()}..{lam.max()}")
    boxes = params.cutmix_boxes()
    inside = placement.boxes_inside(boxes, height, width)
    if not inside.all():
        i = int(np.flatnonzero(~inside)[0])
        raise ValueError(f"params.cutmix_box[{i}]={tuple(boxes[i].tolist())} is not inside the {height}x{width} images")


def _batch_peaks(points, batch: int) -> np.ndarray:
    """Peaks given by the caller as (B, 2) int64 [y, x], one row per image of the batch."""
    rows = np.asarray(points.cpu() if isinstance(points, torch.Tensor) else points, dtype=np.int64)
    if rows.shape != (batch, 2):
        raise ValueError(f"peaks must give (B, 2) = {(batch, 2)} [y, x] rows per kind, got shape {rows.shape}")
    return rows


class SaliencyMix(_SaliencyMixing):
    """Drop-in for ``timm.data.Mixup`` with SaliencyMix (``saliencymix_alpha > 0``; paper sec. 3).

    ``x, y = mix(x, target)`` mixes (B, C, H, W) float (or uint8) images in place
    and returns (B, num_classes) soft targets. Sample i takes its patch from
    sample B-1-i. Unlike timm's Mixup an odd batch is accepted: its middle
    sample is its own partner and is left unmixed with its own label.

    Args:
        mixup_alpha, cutmix_alpha, cutmix_minmax, prob, switch_prob, mode, correct_lam,
        label_smoothing, num_classes, multi_label: timm's ``Mixup`` arguments, same meaning, order and
            defaults (tests/test_mix.py checks them against the installed timm);
            ``multi_label=True`` takes dense (B, num_classes) targets and needs timm >= 1.0.31.
        saliencymix_alpha: > 0 turns SaliencyMix on, lambda ~ Beta(alpha, alpha) (paper: 1.0).
        method: saliency detector: 'fine_grained' (the paper's, bit-exact with OpenCV),
            'spectral_residual', 'frequency_tuned', or a callable (B, C, H, W) uint8 -> (B, H, W).
        scheme: where the patch comes from and goes (paper sec. 3.4); 'salient_to_corresponding'.
        per: 'sample' (each source image its own map) or 'batch' (one map per batch).
        border: 'shift' keeps the patch size at the image border, 'clip' cuts it (official code).
        mean, std: timm's normalisation constants of float input (0-1 scale); or
        max_value: 1.0 or 255.0 for unnormalised float input.
        channels: 'rgb' (timm) or 'bgr'.
        backend: 'torch' (batched) or 'opencv' (per image, the reference).
        official: reproduce the official code's box (ablations only; docs/saliency.md).
        seed: None (numpy's global RNG, as timm), an int, or a numpy Generator/RandomState (an int
            gives a private Generator: timm's box rules on a stream of its own).
    Returns:
        Calling it returns ``(x, soft_targets)``: ``x`` mixed in place, targets (B, num_classes).
        For ``x`` that requires grad the mix is recorded by autograd: gradients reach the pixels that
        end up in the mixed batch (a leaf that requires grad is refused: in-place, as timm's Mixup).
    Raises:
        ValueError: a setting timm or the paper does not allow, float input without its scale,
            a target that is not (B,) class indices; each message says what to pass instead.

    >>> import torch
    >>> from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
    >>> mix = SaliencyMix(mixup_alpha=0.0, saliencymix_alpha=1.0, num_classes=10,
    ...                   mean=IMAGENET_DEFAULT_MEAN, std=IMAGENET_DEFAULT_STD, seed=0)
    >>> pixels = torch.randint(0, 256, (4, 3, 32, 32)).float() / 255
    >>> mean, std = torch.tensor(IMAGENET_DEFAULT_MEAN), torch.tensor(IMAGENET_DEFAULT_STD)
    >>> x = (pixels - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)  # as timm normalises
    >>> x, y = mix(x, torch.tensor([0, 1, 2, 3]))
    >>> tuple(y.shape), bool(torch.allclose(y.sum(1), torch.ones(4)))
    ((4, 10), True)
    """

    def __call__(self, x: torch.Tensor, target: torch.Tensor):
        check_batch(x, "x", any_channels=True)  # MixUp/CutMix take any channel count; the detectors check theirs
        if self.mode == "half":
            raise ValueError("mode='half' exists only for the collate (FastCollateSaliencyMix), as in timm")
        target = self._check_target(target, len(x))
        params = self.sample_params(len(x), x.shape[-2:])
        return self._mix_drawn(x, target, params)


class FastCollateSaliencyMix(_SaliencyMixing, FastCollateMixup):
    """Drop-in for ``timm.data.FastCollateMixup``: list of (uint8 CHW array, label) -> uint8 batch, soft targets.

    Pass it as ``collate_fn`` of timm's ``create_loader`` (prefetcher path). Being a
    FastCollateMixup, timm's PrefetchLoader forwards ``mixup_enabled`` to it
    (``--mixup-off-epoch``). ``mode='half'`` returns the first half, as timm.

    Args:
        The same as ``SaliencyMix``; the images are uint8, so ``mean``/``std`` are only needed
        with ``official=True``.
    Returns:
        Calling it on a list of samples returns ``(images, soft_targets)``: (B, C, H, W) uint8 and
        (B, num_classes) float32.
    Raises:
        ValueError: an empty batch, samples that are not uint8 (C, H, W) arrays, or mixed sizes.

    >>> import numpy as np
    >>> collate = FastCollateSaliencyMix(mixup_alpha=0.0, saliencymix_alpha=1.0, num_classes=10, seed=0)
    >>> rng = np.random.default_rng(0)
    >>> samples = [(rng.integers(0, 256, (3, 32, 32), dtype=np.uint8), k) for k in range(4)]
    >>> images, targets = collate(samples)
    >>> images.dtype, tuple(images.shape), tuple(targets.shape)
    (torch.uint8, (4, 3, 32, 32), (4, 10))
    """

    def __call__(self, batch, _=None):
        if not isinstance(batch, (list, tuple)) or len(batch) == 0:
            raise ValueError("the collate needs a non-empty list of (image, label) samples")
        x = stack_uint8_images([sample[0] for sample in batch])
        labels = [sample[1] for sample in batch]
        target = torch.as_tensor(np.stack(labels)) if self.multi_label else _labels(labels)
        target = self._check_target(target, len(x))
        params = self.sample_params(len(x), x.shape[-2:])
        x, target = self._mix_drawn(x, target, params)
        if self.mode == "half":
            x, target = x[:len(x) // 2].contiguous(), target[:len(x) // 2]
        return x, target


def _labels(labels: list) -> torch.Tensor:
    """The samples' labels as one int64 tensor (one conversion for the batch).

    Raises:
        ValueError: labels that are not integer class indices (a float label is refused rather than
            truncated, which would train on the wrong class without a word).
    """
    try:
        values = np.asarray(labels)
    except (ValueError, TypeError):
        values = np.asarray(labels, dtype=object)
    if values.ndim != 1 or not (np.issubdtype(values.dtype, np.integer) or values.dtype == np.bool_):
        raise ValueError(f"sample labels must be integer class indices, one per sample; got {labels[:4]}... "
                         f"({values.dtype}, shape {values.shape})")
    return torch.from_numpy(values.astype(np.int64, copy=False))
