"""The ``--saliencymix`` options of a timm training command line, and the mixing object they ask for.

One definition serves both ways of training with SaliencyMix: our trainer (``tools/train.py``) and
the launcher that plugs the options into the user's own timm ``train.py`` (``smix_timm.timm_train``).

Meaning of the options (paper sec. 3; the timm flags keep timm's meaning):

- ``--saliencymix ALPHA``: SaliencyMix with the combination ratio drawn from Beta(ALPHA, ALPHA);
  ``> 0`` turns mixing on by itself. With ``--cutmix`` too, each patch step is SaliencyMix or CutMix
  with equal odds; with ``--mixup``, ``--mixup-switch-prob`` picks the patch step over MixUp, as timm
  does for CutMix. ``--mixup-prob``, ``--mixup-mode``, ``--mixup-off-epoch`` and ``--smoothing`` apply
  to SaliencyMix as to timm's mixing.
- ``--saliency-method``, ``--saliency-scheme`` (sec. 3.4), ``--saliency-per``, ``--saliency-border``,
  ``--saliency-official``: see :class:`smix_timm.SaliencyMix`. Left unset they take its defaults (the
  paper's method) and are recorded as ``null`` in ``args.yaml``.
"""
from __future__ import annotations

import argparse
from typing import Any, Dict, Optional, Sequence

from timm.data import FastCollateMixup, Mixup

from .mix import FastCollateSaliencyMix, SaliencyMix
from .placement import BORDERS, PER_CHOICES, SCHEMES
from .saliency import available_methods

# option dest -> keyword of SaliencyMix / FastCollateSaliencyMix; None means "keep the class default"
DETAIL_OPTIONS = {
    "saliency_method": "method",
    "saliency_scheme": "scheme",
    "saliency_per": "per",
    "saliency_border": "border",
}


def add_saliencymix_arguments(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """Add the SaliencyMix option group to ``parser`` (an argparse parser of a timm-style script).

    Args:
        parser: the script's main parser. A YAML given with ``-c`` sets these options like any
            other (their dests are ``saliencymix``, ``saliency_method``, ... as in the flags).

    Returns:
        The argument group, titled "SaliencyMix parameters".

    Raises:
        argparse.ArgumentError: the parser already has one of these flags.
    """
    group = parser.add_argument_group("SaliencyMix parameters")
    group.add_argument("--saliencymix", type=float, default=0.0, metavar="ALPHA",
                       help="turn SaliencyMix on, lambda ~ Beta(ALPHA, ALPHA) (paper sec. 3.2); 0 = off (default: 0)")
    group.add_argument("--saliency-method", default=None, choices=available_methods(),
                       help="saliency detector (default: fine_grained, the one the paper uses)")
    group.add_argument("--saliency-scheme", default=None, choices=sorted(SCHEMES),
                       help="where the patch is cut and where it is pasted, paper sec. 3.4 "
                            "(default: salient_to_corresponding)")
    group.add_argument("--saliency-per", default=None, choices=PER_CHOICES,
                       help="a saliency map for every source image, or one for the batch (default: sample)")
    group.add_argument("--saliency-border", default=None, choices=BORDERS,
                       help="a patch that would cross the border is moved inside (shift, keeps the area) or "
                            "cut off (clip) (default: shift)")
    group.add_argument("--saliency-official", action="store_true", default=False,
                       help="ablation: behave as the official code (map of the normalised float bytes, one map "
                            "per batch, clipped box); its saliency is unrelated to the image")
    return group


def saliencymix_on(args: argparse.Namespace) -> bool:
    """Whether the parsed options ask for SaliencyMix (``--saliencymix`` > 0)."""
    return float(getattr(args, "saliencymix", 0.0) or 0.0) > 0


def timm_mixing_on(args: argparse.Namespace) -> bool:
    """timm's own test for mixing: ``--mixup`` or ``--cutmix`` > 0, or ``--cutmix-minmax`` given."""
    return args.mixup > 0 or args.cutmix > 0 or args.cutmix_minmax is not None


def check_saliencymix_arguments(args: argparse.Namespace) -> None:
    """Refuse option combinations that would be ignored silently.

    Raises:
        ValueError: a ``--saliency-*`` option without ``--saliencymix`` > 0, a negative alpha, or
            random erasing before mixing (``--reprob`` with ``--no-prefetcher``).
    """
    alpha = float(getattr(args, "saliencymix", 0.0) or 0.0)
    if not alpha >= 0:  # also NaN
        raise ValueError(f"--saliencymix must be a number >= 0 (the Beta alpha), got {alpha}")
    if alpha > 0:
        if getattr(args, "reprob", 0) > 0 and getattr(args, "no_prefetcher", False):
            raise ValueError("--reprob with --no-prefetcher erases with noise before the batch is mixed, and that "
                             "noise lies outside the image's 0-255 range, which SaliencyMix refuses to read; drop "
                             "--no-prefetcher (the prefetcher erases after mixing) or --reprob")
        return
    given = [f"--{dest.replace('_', '-')}" for dest in DETAIL_OPTIONS if getattr(args, dest, None) is not None]
    if getattr(args, "saliency_official", False):
        given.append("--saliency-official")
    if given:
        raise ValueError(f"{', '.join(given)} only take effect with SaliencyMix on: add --saliencymix 1.0")


def saliencymix_kwargs(args: argparse.Namespace, mean: Optional[Sequence[float]],
                       std: Optional[Sequence[float]]) -> Dict[str, Any]:
    """The SaliencyMix-only keywords (added to timm's Mixup keywords) for the parsed options.

    Args:
        args: parsed options with the group of :func:`add_saliencymix_arguments`.
        mean, std: the normalisation constants the training loader uses (0-1 scale, from timm's
            ``resolve_data_config``). The batch path needs them to see 0-255 pixels again.

    Returns:
        ``saliencymix_alpha``, ``official``, ``mean``, ``std`` and the detail options that were set.
    """
    kwargs: Dict[str, Any] = dict(saliencymix_alpha=float(args.saliencymix), official=bool(args.saliency_official),
                                  mean=None if mean is None else tuple(float(v) for v in mean),
                                  std=None if std is None else tuple(float(v) for v in std))
    for dest, keyword in DETAIL_OPTIONS.items():
        if getattr(args, dest, None) is not None:
            kwargs[keyword] = getattr(args, dest)
    return kwargs


def timm_mixup_kwargs(args: argparse.Namespace) -> Dict[str, Any]:
    """timm's ``Mixup`` keywords from timm's flags, with timm's meaning (as its train.py passes them)."""
    return dict(mixup_alpha=float(args.mixup), cutmix_alpha=float(args.cutmix), cutmix_minmax=args.cutmix_minmax,
                prob=args.mixup_prob, switch_prob=args.mixup_switch_prob, mode=args.mixup_mode,
                label_smoothing=args.smoothing, num_classes=args.num_classes)


def build_mixing(args: argparse.Namespace, *, collate: bool, mean: Optional[Sequence[float]] = None,
                 std: Optional[Sequence[float]] = None):
    """The mixing object a run asks for, or None when it mixes nothing.

    Args:
        args: parsed timm flags plus the SaliencyMix group.
        collate: True for the prefetching loader's uint8 collate (``FastCollateMixup`` contract),
            False for the batch path (``Mixup`` contract, ``x, y = fn(x, target)``).
        mean, std: the training loader's normalisation constants (see :func:`saliencymix_kwargs`).

    Returns:
        ``FastCollateSaliencyMix`` / ``SaliencyMix`` with ``--saliencymix`` > 0; timm's own
        ``FastCollateMixup`` / ``Mixup`` for timm's flags alone; None without mixing.
    """
    kwargs = timm_mixup_kwargs(args)
    if saliencymix_on(args):
        cls = FastCollateSaliencyMix if collate else SaliencyMix
        return cls(**kwargs, **saliencymix_kwargs(args, mean, std))
    if timm_mixing_on(args):
        return (FastCollateMixup if collate else Mixup)(**kwargs)
    return None


def describe_mixing(mixer) -> str:
    """One log line naming the mixing object and where it runs."""
    where = "the loader's collate (prefetcher)" if isinstance(mixer, FastCollateMixup) else "each batch (no prefetcher)"
    if isinstance(mixer, (SaliencyMix, FastCollateSaliencyMix)):
        detail = (f"alpha={mixer.saliencymix_alpha}, method={mixer.method}, scheme={mixer.scheme}, per={mixer.per}, "
                  f"border={mixer.border}, official={mixer.official}, prob={mixer.mix_prob}")
    else:
        detail = f"mixup={mixer.mixup_alpha}, cutmix={mixer.cutmix_alpha}, prob={mixer.mix_prob}"
    return f"Mixing with {type(mixer).__name__} in {where}: {detail}"
