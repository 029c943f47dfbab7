"""Run your own timm ``train.py`` with ``--saliencymix``: the plugin for an existing timm checkout.

    python -m smix_timm.timm_train PATH/TO/train.py [timm's flags] --saliencymix 1.0 [--saliency-* ...]
    torchrun --nproc_per_node 8 -m smix_timm.timm_train PATH/TO/train.py [...] --saliencymix 1.0

The script runs in this process, unmodified on disk; ``--help`` lists the SaliencyMix options
beside timm's, ``-c config.yaml`` may set them, and the ``args.yaml`` the script writes records them.
With ``--saliencymix`` > 0, wherever the script builds timm's ``FastCollateMixup`` (prefetcher, the
default) it gets :class:`~smix_timm.FastCollateSaliencyMix`, and wherever it builds ``Mixup``
(``--no-prefetcher``) it gets :class:`~smix_timm.SaliencyMix`, with the script's own keyword arguments
(so ``--mixup``, ``--cutmix``, ``--mixup-prob``, ``--mixup-switch-prob``, ``--mixup-mode``,
``--mixup-off-epoch`` and ``--smoothing`` keep timm's meaning) plus the SaliencyMix options and the
normalisation constants of the script's data config. ``--saliencymix`` alone turns mixing on.
Without ``--saliencymix`` nothing of ours is built: the script runs as it runs alone.

The contract: what the launcher needs from the script
-----------------------------------------------------
timm's ``train.py`` has all of this in every 1.0.x release and on master (checked: the scripts of
timm 1.0.3 to 1.0.28 and master of 2026-08, with timm 1.0.31 installed):

1. a module-level ``parser``: the ``argparse.ArgumentParser`` that parses the command line after
   a ``-c`` YAML has set its defaults;
2. a module-level ``_parse_args()`` returning ``(args, args_text)``; it reads ``sys.argv``;
3. a module-level ``main()`` that trains, and that runs only under ``if __name__ == '__main__'``;
4. ``Mixup`` and ``FastCollateMixup`` imported from ``timm.data`` into the module, called by
   ``main()`` with timm's keywords when ``args.mixup > 0 or args.cutmix > 0 or args.cutmix_minmax``;
5. ``resolve_data_config`` imported into the module, whose result is the run's data config, and
   ``create_loader``, called with ``is_training=True`` for the training loader.

A script that lacks 1-4 is refused with an error that names what is missing. Item 5 gives the
normalisation constants; without it the batch path is refused (it cannot read the pixels back).
What the launcher changes, in memory only: it adds the option group to ``parser``, wraps
``_parse_args`` (to check the options and, for ``--saliencymix`` alone, to let the script's own test
turn mixing on), and, with SaliencyMix on, replaces the module's ``Mixup``, ``FastCollateMixup``,
``resolve_data_config`` and ``create_loader`` by thin wrappers. If the script reaches its training
loader without having built a mixing object, the run stops (no silent run without SaliencyMix).
``--naflex-loader`` (timm's NaFlex path mixes with ``NaFlexMixup`` on patch sequences) is refused
with SaliencyMix on.

As ``python train.py`` would, the launcher puts the script's folder first on ``sys.path`` (for the
script's own imports) and sets ``sys.argv[0]`` to the script. Under torchrun each process runs the
launcher; DDP works wherever the script's own DDP works (timm's sets it up for GPUs only).
"""
from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import sys
import zlib
from typing import List, Optional, Sequence

from timm.data import FastCollateMixup, Mixup

from .train_options import (
    add_saliencymix_arguments,
    check_saliencymix_arguments,
    describe_mixing,
    saliencymix_kwargs,
    saliencymix_on,
    timm_mixing_on,
)

_logger = logging.getLogger("smix_timm.timm_train")

SUPPORTED = "timm's train.py of timm 1.0.3 to 1.0.28 and master (2026-08), with timm >= 1.0.9 installed"


class LauncherError(Exception):
    """The script or the command line does not fit the launcher; the message says what to change."""


class _MixingOnFlag(float):
    """A 0.0 that timm's ``args.mixup > 0`` test reads as "mixing on", for ``--saliencymix`` alone.

    It stands in ``args.mixup`` only between parsing and the construction of the mixing object,
    and pickles (checkpoints) as a plain 0.0 should it be seen anywhere else.
    """

    def __new__(cls):
        return super().__new__(cls, 0.0)

    def __gt__(self, other):
        return True if other == 0 else float.__gt__(self, other)

    def __bool__(self):
        return True

    def __reduce__(self):
        return float, (0.0,)


def load_script(path: str, argv: Sequence[str]):
    """Import the training script at ``path`` as a module (its ``main()`` does not run).

    Args:
        path: the user's timm ``train.py``.
        argv: the script's command line (without the script), placed in ``sys.argv``.

    Returns:
        The module, registered in ``sys.modules`` under the script's file stem.

    Raises:
        LauncherError: no such file, or a file that is not a Python script.
    """
    if not os.path.isfile(path):
        raise LauncherError(f"no training script at {path!r}; pass the path of timm's train.py "
                            "(in a clone of huggingface/pytorch-image-models)")
    if not path.endswith(".py"):
        raise LauncherError(f"{path!r} is not a Python script (.py); pass timm's train.py")
    path = os.path.abspath(path)
    name = os.path.splitext(os.path.basename(path))[0]
    if not name.isidentifier() or (name in sys.modules and getattr(sys.modules[name], "__file__", None) != path):
        name = f"_smix_user_script_{zlib.crc32(path.encode()):08x}"
    sys.argv = [path] + list(argv)
    script_dir = os.path.dirname(path)
    if sys.path[:1] != [script_dir]:
        sys.path.insert(0, script_dir)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def check_contract(module) -> None:
    """Check that the script has what the launcher relies on (items 1-4 of the module docstring).

    Raises:
        LauncherError: naming every missing piece and the supported scripts.
    """
    missing: List[str] = []
    if not isinstance(getattr(module, "parser", None), argparse.ArgumentParser):
        missing.append("a module-level `parser` (argparse.ArgumentParser)")
    for name in ("_parse_args", "main"):
        if not callable(getattr(module, name, None)):
            missing.append(f"a module-level `{name}()`")
    for name, cls in (("Mixup", Mixup), ("FastCollateMixup", FastCollateMixup)):
        if getattr(module, name, None) is not cls:
            missing.append(f"`{name}` imported from timm.data")
    if missing:
        raise LauncherError(f"{module.__file__} does not have the structure the launcher relies on: missing "
                            f"{'; '.join(missing)}. Supported: {SUPPORTED}")


class SaliencyMixPlugin:
    """What the launcher does to one loaded script; see the module docstring for the contract.

    Args:
        module: the loaded script (:func:`load_script`), checked by :func:`check_contract`.

    Attributes:
        mixers: the SaliencyMix objects built for the script, in order (for logs and tests).
    """

    def __init__(self, module):
        self.module = module
        self.mixers: list = []
        self.args: Optional[argparse.Namespace] = None
        self.data_config: Optional[dict] = None
        self._parse_args = module._parse_args
        add_saliencymix_arguments(module.parser)
        module._parse_args = self.parse_args

    # ------------------------------------------------------------------ parsing
    def parse_args(self):
        """The script's ``_parse_args()``, then our checks; installs the builders when SaliencyMix is on."""
        args, args_text = self._parse_args()
        try:
            check_saliencymix_arguments(args)
        except ValueError as err:
            self.module.parser.error(str(err))
        if not saliencymix_on(args):
            return args, args_text
        if getattr(args, "naflex_loader", False):
            self.module.parser.error("--naflex-loader mixes with timm's NaFlexMixup on patch sequences, which has no "
                                     "SaliencyMix; drop --naflex-loader or --saliencymix")
        if not timm_mixing_on(args):
            args.mixup = _MixingOnFlag()  # the script's own `args.mixup > 0` now turns mixing on
        self.args = args
        self._install()
        return args, args_text

    def _install(self) -> None:
        module = self.module
        module.FastCollateMixup = self._builder(collate=True)
        module.Mixup = self._builder(collate=False)
        resolve = getattr(module, "resolve_data_config", None)
        if callable(resolve):
            def resolve_and_record(*args, **kwargs):
                self.data_config = resolve(*args, **kwargs)
                return self.data_config
            module.resolve_data_config = resolve_and_record
        create_loader = getattr(module, "create_loader", None)
        if callable(create_loader):
            def create_loader_checked(*args, **kwargs):
                if kwargs.get("is_training"):
                    self._check_train_loader(kwargs)
                return create_loader(*args, **kwargs)
            module.create_loader = create_loader_checked

    # ------------------------------------------------------------------ building
    def _builder(self, collate: bool):
        def build(**timm_kwargs):
            return self.build(collate, timm_kwargs)
        build.__name__ = "FastCollateSaliencyMix" if collate else "SaliencyMix"
        return build

    def build(self, collate: bool, timm_kwargs: dict):
        """Our mixing object for the script's ``Mixup(**kw)`` / ``FastCollateMixup(**kw)`` call."""
        from .mix import FastCollateSaliencyMix, SaliencyMix
        args = self.args
        if isinstance(args.mixup, _MixingOnFlag):
            args.mixup = 0.0
        kwargs = dict(timm_kwargs)
        for key in ("mixup_alpha", "cutmix_alpha"):
            if key in kwargs:
                kwargs[key] = float(kwargs[key])
        mean = std = None
        if self.data_config is not None:
            mean, std = self.data_config.get("mean"), self.data_config.get("std")
        if mean is None and not collate:
            raise LauncherError("the batch path (--no-prefetcher) needs the run's normalisation constants, but the "
                                "script built Mixup before calling resolve_data_config; use the prefetcher")
        mixer = (FastCollateSaliencyMix if collate else SaliencyMix)(**kwargs, **saliencymix_kwargs(args, mean, std))
        self.mixers.append(mixer)
        _logger.info("smix: %s", describe_mixing(mixer))
        return mixer

    def _check_train_loader(self, loader_kwargs: dict) -> None:
        if not self.mixers:
            raise LauncherError("the script created its training loader without building timm's Mixup or "
                                f"FastCollateMixup, so --saliencymix would do nothing. Supported: {SUPPORTED}")
        mean, std = loader_kwargs.get("mean"), loader_kwargs.get("std")
        for mixer in self.mixers:
            if mean is not None and std is not None and mixer.mean is not None and (
                    tuple(mixer.mean) != tuple(mean) or tuple(mixer.std) != tuple(std)):
                _logger.info("smix: the training loader normalises with mean=%s std=%s; SaliencyMix uses those",
                             tuple(mean), tuple(std))
                mixer.mean, mixer.std = tuple(float(v) for v in mean), tuple(float(v) for v in std)


def run(script: str, argv: Sequence[str]) -> SaliencyMixPlugin:
    """Load ``script``, plug SaliencyMix in, and run its ``main()``.

    Args:
        script: path of the user's timm ``train.py``.
        argv: its command line (timm's flags and ours).

    Returns:
        The plugin (its ``mixers`` are the objects built), after ``main()`` returned.

    Raises:
        LauncherError: the script lacks the structure in the module docstring, or built no mixing
            object with SaliencyMix on.
    """
    module = load_script(script, argv)
    check_contract(module)
    plugin = SaliencyMixPlugin(module)
    module.main()
    return plugin


def _usage() -> str:
    return ("usage: python -m smix_timm.timm_train PATH/TO/train.py [timm's flags] --saliencymix ALPHA "
            "[--saliency-* ...]\n"
            "       (PATH/TO/train.py --help lists timm's flags with the SaliencyMix options)")


def cli(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point: ``python -m smix_timm.timm_train SCRIPT [ARGS...]``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage() + "\n\n" + __doc__.split("The contract")[0].split("\n\n", 2)[2].strip())
        return 0 if argv else 2
    try:
        run(argv[0], argv[1:])
    except LauncherError as err:
        if os.environ.get("RANK", "0") == "0":
            print(f"smix_timm.timm_train: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(cli())
