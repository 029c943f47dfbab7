"""The ``--saliencymix`` options of a timm training command line, and the mixing object they ask for.

One definition serves both ways of training with SaliencyMix: our trainer (``tools/train.py``) and
the launcher that plugs the options into the user's own timm ``train.py`` (``smix_timm.train.launcher``).

Meaning of the options (paper sec. 3; the timm flags keep timm's meaning):

- ``--saliencymix ALPHA``: SaliencyMix with the combination ratio drawn from Beta(ALPHA, ALPHA);
  ``> 0`` turns mixing on by itself. With ``--cutmix`` too, each patch step is SaliencyMix or CutMix
  with equal odds; with ``--mixup``, ``--mixup-switch-prob`` picks the patch step over MixUp, as timm
  does for CutMix. ``--mixup-prob``, ``--mixup-mode``, ``--mixup-off-epoch`` and ``--smoothing`` apply
  to SaliencyMix as to timm's mixing.
- ``--saliency-method``, ``--saliency-scheme`` (sec. 3.4), ``--saliency-per``, ``--saliency-border``,
  ``--saliency-official``: see :class:`smix_timm.SaliencyMix`. Left unset they take its defaults (the
  paper's method) and are recorded as ``null`` in ``args.yaml``.

A ``-c`` YAML sets these options as parser defaults, and argparse checks neither the type nor the
choices of a default that is not a string: :func:`check_saliencymix_arguments` does, for both
trainers, before anything is built; :func:`unknown_config_keys` finds the keys a parser would ignore.
"""
from __future__ import annotations

import argparse
import difflib
import math
import numbers
from typing import Any, Dict, Iterable, List, Optional, Sequence

from timm.data import FastCollateMixup, Mixup

from smix_timm.mix import FastCollateSaliencyMix, SaliencyMix
from smix_timm.placement import BORDERS, PER_CHOICES, SCHEMES
from smix_timm.saliency import available_methods

# option dest -> keyword of SaliencyMix / FastCollateSaliencyMix; None means "keep the class default"
DETAIL_OPTIONS = {
    "saliency_method": "method",
    "saliency_scheme": "scheme",
    "saliency_per": "per",
    "saliency_border": "border",
}

# every dest of the option group, in the order of the flags
SALIENCYMIX_DESTS = ("saliencymix", *DETAIL_OPTIONS, "saliency_official")

# timm's mixing flags whose value the mixing object receives as a number
TIMM_MIXING_NUMBERS = ("mixup", "cutmix", "mixup_prob", "mixup_switch_prob", "smoothing")


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def detail_choices() -> Dict[str, Sequence[str]]:
    """The allowed values of each ``--saliency-*`` choice option, keyed by its dest."""
    return {"saliency_method": tuple(available_methods()), "saliency_scheme": tuple(sorted(SCHEMES)),
            "saliency_per": tuple(PER_CHOICES), "saliency_border": tuple(BORDERS)}


def saliencymix_option_conflicts(parser: argparse.ArgumentParser) -> List[str]:
    """Flags or dests of the SaliencyMix group that ``parser`` already has.

    Args:
        parser: a script's parser, before :func:`add_saliencymix_arguments`.

    Returns:
        The clashing names (flags as typed, dests as ``dest=name``), empty when the group fits.
    """
    taken_flags = set(parser._option_string_actions)
    taken_dests = {action.dest for action in parser._actions}
    clashes = [_flag(dest) for dest in SALIENCYMIX_DESTS if _flag(dest) in taken_flags]
    clashes += [f"dest={dest}" for dest in SALIENCYMIX_DESTS
                if dest in taken_dests and _flag(dest) not in taken_flags]
    return clashes


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


def unknown_config_keys(config: dict, parser: argparse.ArgumentParser) -> List[str]:
    """The keys of a ``-c`` YAML mapping that ``parser`` has no option for (argparse keeps them silently).

    Args:
        config: the YAML's mapping of option dest -> value.
        parser: the parser whose defaults the YAML sets.

    Returns:
        The unknown keys, sorted.
    """
    known = {action.dest for action in parser._actions}
    return sorted(str(key) for key in config if key not in known)


def unknown_config_keys_message(path: str, unknown: Iterable[str], parser: argparse.ArgumentParser,
                                what: str = "this trainer") -> str:
    """One warning line for :func:`unknown_config_keys`, with the likely meant option for a misspelling.

    Args:
        path: the YAML file.
        unknown: its keys the parser does not have.
        parser: the parser (its dests are the candidates for "did you mean").
        what: how the line names the parser's owner ("this trainer", "the script").

    Returns:
        E.g. ``cfg.yaml: ignoring options this trainer does not have: saliency_shceme (did you mean
        saliency_scheme?)``.
    """
    known = sorted({action.dest for action in parser._actions if action.dest != argparse.SUPPRESS})
    described = []
    for key in unknown:
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
        described.append(f"{key} (did you mean {close[0]}?)" if close else key)
    return f"{path}: ignoring options {what} does not have: {', '.join(described)}"


def saliencymix_on(args: argparse.Namespace) -> bool:
    """Whether the parsed options ask for SaliencyMix (``--saliencymix`` > 0)."""
    return float(getattr(args, "saliencymix", 0.0) or 0.0) > 0


def timm_mixing_on(args: argparse.Namespace) -> bool:
    """timm's own test for mixing: ``--mixup`` or ``--cutmix`` > 0, or ``--cutmix-minmax`` given."""
    return args.mixup > 0 or args.cutmix > 0 or args.cutmix_minmax is not None


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _got(value: Any) -> str:
    return f"{value!r}" if isinstance(value, (str, numbers.Real)) else f"the {type(value).__name__} {value!r}"


def check_value_types(args: argparse.Namespace) -> None:
    """Check the type and choices of every value that may have come from a ``-c`` YAML.

    argparse converts and checks what is typed on the command line, but a YAML value becomes a
    parser default, and a default that is not a string reaches the namespace unchecked: a list
    where a number is expected, or a choice option outside its choices, would otherwise fail deep
    inside the first training step, after the model and the data are built.

    Args:
        args: parsed options; the SaliencyMix group and timm's mixing numbers
            (:data:`TIMM_MIXING_NUMBERS`, ``cutmix_minmax``) are checked where present.

    Raises:
        ValueError: one line naming the flag, its YAML key, what it takes and what came.
    """
    def where(dest: str) -> str:
        return f"{_flag(dest)} (YAML key {dest})"

    alpha = getattr(args, "saliencymix", None)
    if alpha is not None and not (_is_number(alpha) and math.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"{where('saliencymix')} takes one finite number >= 0, the Beta alpha (e.g. 1.0); "
                         f"got {_got(alpha)}")
    for dest, choices in detail_choices().items():
        value = getattr(args, dest, None)
        if value is not None and (not isinstance(value, str) or value not in choices):
            raise ValueError(f"{where(dest)} takes one of {', '.join(choices)}; got {_got(value)}")
    official = getattr(args, "saliency_official", False)
    if not isinstance(official, bool):
        raise ValueError(f"{where('saliency_official')} takes true or false; got {_got(official)}")
    for dest in TIMM_MIXING_NUMBERS:
        value = getattr(args, dest, None)
        if value is not None and not (_is_number(value) and math.isfinite(value)):
            raise ValueError(f"{where(dest)} takes one finite number; got {_got(value)}")
    minmax = getattr(args, "cutmix_minmax", None)
    if minmax is not None and not (isinstance(minmax, (list, tuple)) and all(_is_number(v) for v in minmax)):
        raise ValueError(f"{where('cutmix_minmax')} takes two numbers (min max), e.g. [0.2, 0.8]; got {_got(minmax)}")


def check_saliencymix_arguments(args: argparse.Namespace) -> None:
    """Refuse values of the wrong type and option combinations that would be ignored silently.

    Args:
        args: parsed options with the group of :func:`add_saliencymix_arguments` (and timm's flags).

    Raises:
        ValueError: a value of the wrong type or outside its choices (see :func:`check_value_types`),
            a ``--saliency-*`` option without ``--saliencymix`` > 0, a negative or infinite alpha, or
            random erasing before mixing (``--reprob`` with ``--no-prefetcher``).
    """
    check_value_types(args)
    alpha = float(getattr(args, "saliencymix", 0.0) or 0.0)
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
