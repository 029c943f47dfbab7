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
   a ``-c`` YAML has set its defaults, without options of its own named like ours;
2. a module-level ``_parse_args()`` returning ``(args, args_text)``; it reads ``sys.argv``, and
   ``main()`` calls it (through the module's name) before it builds anything;
3. a module-level ``main()`` that trains, and that runs only under ``if __name__ == '__main__'``;
4. timm's ``Mixup`` / ``FastCollateMixup`` (of ``timm.data`` or ``timm.data.mixup``, by any name or
   route), built by ``main()`` with timm's arguments when ``args.mixup > 0 or args.cutmix > 0 or
   args.cutmix_minmax``;
5. ``resolve_data_config``, whose result is the run's data config, and ``create_loader`` (through
   the script's globals or ``timm.data``), called with ``is_training=True`` for the training loader.

A script that lacks 1-3 is refused before it runs, naming what is missing. Item 5 gives the
normalisation constants; without it the batch path is refused (it cannot read the pixels back).

Checks, all before the script builds a model or reads data (they run when ``main()`` calls
``_parse_args()``), each a :class:`LauncherError` of one line that says what to change:

- the namespace ``_parse_args()`` returns must carry our options (``saliencymix``, ...). If the
  module-level ``parser`` is not the parser that reads the command line (a renamed main parser with
  timm's ``config_parser = parser = ...`` line left in place), ``--saliencymix`` would be swallowed
  or ignored and the run would train without SaliencyMix;
- ``_parse_args()`` must return ``(args, args_text)``; the script's parser must not define our flags
  already (the two would fight over the same option);
- the values: wrong types and choices from a ``-c`` YAML (argparse does not check defaults),
  ``--saliencymix`` negative, NaN or infinite, the combinations of
  :func:`~smix_timm.train.options.check_saliencymix_arguments`, and ``--naflex-loader`` (timm's
  NaFlex path mixes with ``NaFlexMixup`` on patch sequences; there is no SaliencyMix for it).

Where the launcher could guess instead, it stops: a ``_parse_args()`` of another shape, or a second
definition of our flags, means the script has left timm's layout in a way the launcher was never
checked against (what else it parses, records in ``args.yaml`` or builds is unknown), and a guess
that went wrong would be a run without SaliencyMix, or with the wrong options, that exits 0. The
arguments of the mixing class are different: they are timm's own signature, so positional ones are
bound to it and the run goes on.

Keys of the ``-c`` YAML that the script's parser does not have (a misspelled ``saliency_shceme``)
are reported in a warning, as ``tools/train.py`` does; timm's script itself drops them silently.

What the launcher changes, in memory only and for the run alone: it adds the option group to
``parser``, wraps ``_parse_args`` (checks above; for ``--saliencymix`` alone it lets the script's own
``args.mixup > 0`` test turn mixing on), and, with SaliencyMix on, replaces timm's mixing classes and
``create_loader`` / ``resolve_data_config`` wherever the script can reach them: the script's globals
bound to them (under any name) and the attributes of ``timm.data``, ``timm.data.mixup`` and
``timm.data.loader``. The stand-ins pass ``isinstance`` checks as timm's classes do and take timm's
arguments, positional or keyword; what timm's attributes held is put back when ``main()`` returns.

No silent run without SaliencyMix, checked three ways, so that one of them holds whatever route the
script takes to timm:

- building timm's own ``Mixup`` / ``FastCollateMixup`` through a reference the launcher could not
  replace (one taken in another module before the run) stops at that call: its ``__init__`` is
  guarded for the run. This is an error rather than a swap, because an object already constructed
  as timm's class cannot become ours;
- creating the training loader (``create_loader(..., is_training=True)``) before a mixing object
  of ours exists, or with another ``collate_fn`` than the ``FastCollateMixup`` the script built,
  stops there, before any data is read;
- the backstop is the first optimizer step of the process (a global step pre-hook of
  ``torch.optim``, removed once it ran, so the steps after it cost nothing). Every training loop
  steps an optimizer, whatever loader or loop the script uses, so this is where "training starts"
  is decided: a run that got there without our mixing object, or without calling ``_parse_args()``
  at all, stops before its first update. Hooking the training loader's first batch or the
  script's ``train_one_epoch`` instead would miss scripts with their own loader or loop.

As ``python train.py`` would, the launcher puts the script's folder first on ``sys.path`` (for the
script's own imports) and sets ``sys.argv[0]`` to the script. Under torchrun each process runs the
launcher; DDP works wherever the script's own DDP works (timm's sets it up for GPUs only).
"""
from __future__ import annotations

import argparse
import functools
import importlib.util
import inspect
import logging
import os
import sys
import zlib
from typing import Any, Dict, List, Optional, Sequence, Tuple

import timm.data
import timm.data.loader
import timm.data.mixup
import yaml
from timm.data import FastCollateMixup, Mixup, create_loader, resolve_data_config
from torch.optim.optimizer import register_optimizer_step_pre_hook

from smix_timm.train.options import (
    SALIENCYMIX_DESTS,
    add_saliencymix_arguments,
    check_saliencymix_arguments,
    describe_mixing,
    saliencymix_kwargs,
    saliencymix_on,
    saliencymix_option_conflicts,
    timm_mixing_on,
    unknown_config_keys,
    unknown_config_keys_message,
)

_logger = logging.getLogger("smix_timm.train.launcher")

SUPPORTED = "timm's train.py of timm 1.0.3 to 1.0.28 and master (2026-08), with timm >= 1.0.9 installed"

# timm's classes the launcher stands in for (FastCollateMixup is the prefetcher's collate path)
_TIMM_MIXERS = {"Mixup": Mixup, "FastCollateMixup": FastCollateMixup}
# where a script can reach them (besides its own globals): module -> names
_TIMM_HOMES = ((timm.data, ("Mixup", "FastCollateMixup", "create_loader", "resolve_data_config")),
               (timm.data.mixup, ("Mixup", "FastCollateMixup")),
               (timm.data.loader, ("create_loader",)))
_LOADER_SIGNATURE = inspect.signature(create_loader)


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


class _StandInType(type):
    """Metaclass of the launcher's stand-ins for timm's ``Mixup`` / ``FastCollateMixup``.

    Calling a stand-in builds our mixing object (through its plugin) instead of timm's; ``isinstance``
    and ``issubclass`` answer as for timm's class, so code that tests for timm's class (as timm's
    prefetcher does for ``FastCollateMixup``) sees ours as one. A class the script derives from a
    stand-in is an ordinary subclass of timm's class and builds as such.
    """

    def _is_stand_in(cls) -> bool:
        return "_smix_plugin" in cls.__dict__

    def __call__(cls, *args, **kwargs):
        if not cls._is_stand_in():
            return super().__call__(*args, **kwargs)
        return cls._smix_plugin.build_from_call(cls._smix_timm_class, args, kwargs)

    def __instancecheck__(cls, obj):
        return isinstance(obj, cls._smix_timm_class) if cls._is_stand_in() else super().__instancecheck__(obj)

    def __subclasscheck__(cls, sub):
        return issubclass(sub, cls._smix_timm_class) if cls._is_stand_in() else super().__subclasscheck__(sub)


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
    """Check that the script has what the launcher relies on before it runs (items 1-3 of the module docstring).

    Item 4 (timm's mixing classes, by any route) is checked while the script runs, see the module
    docstring; the option checks run when ``main()`` calls ``_parse_args()``.

    Args:
        module: the loaded script (:func:`load_script`).

    Raises:
        LauncherError: naming every missing piece and the supported scripts, or the flags of ours
            that the script's parser defines already.
    """
    missing: List[str] = []
    parser = getattr(module, "parser", None)
    if not isinstance(parser, argparse.ArgumentParser):
        missing.append("a module-level `parser` (argparse.ArgumentParser)")
    for name in ("_parse_args", "main"):
        if not callable(getattr(module, name, None)):
            missing.append(f"a module-level `{name}()`")
    if missing:
        raise LauncherError(f"{module.__file__} does not have the structure the launcher relies on: missing "
                            f"{'; '.join(missing)}. Supported: {SUPPORTED}")
    clashes = saliencymix_option_conflicts(parser)
    if clashes:
        raise LauncherError(f"the script's `parser` ({_parser_name(parser)}) already defines {', '.join(clashes)}, "
                            "which the launcher adds; run the script on its own (it has its own SaliencyMix "
                            "options) or remove those options from it")


def _parser_name(parser: argparse.ArgumentParser) -> str:
    named = f"description={parser.description!r}" if parser.description else f"prog={parser.prog!r}"
    return f"ArgumentParser({named})"


class SaliencyMixPlugin:
    """What the launcher does to one loaded script; see the module docstring for the contract.

    Args:
        module: the loaded script (:func:`load_script`), checked by :func:`check_contract`.

    Attributes:
        mixers: the SaliencyMix objects built for the script, in order (for logs and tests).
        args: the parsed namespace with SaliencyMix on, else None.
        parsed: whether the script called its ``_parse_args()`` (through the launcher's wrapper).
    """

    def __init__(self, module):
        self.module = module
        self.mixers: list = []
        self.args: Optional[argparse.Namespace] = None
        self.parsed = False
        self.data_config: Optional[dict] = None
        self._parse_args = module._parse_args
        self._undo: List[Tuple[Any, str, Any]] = []
        self._installed = False
        self._step_hook = None
        add_saliencymix_arguments(module.parser)
        module._parse_args = self.parse_args

    # ------------------------------------------------------------------ parsing
    def parse_args(self):
        """The script's ``_parse_args()``, then our checks; installs the stand-ins when SaliencyMix is on.

        Returns:
            What the script's ``_parse_args()`` returned: ``(args, args_text)``.

        Raises:
            LauncherError: a result of another shape, a namespace without our options (the options
                went to a parser the script does not parse with), or an option value or combination
                the launcher refuses (module docstring, "Checks").
        """
        result = self._parse_args()
        if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], argparse.Namespace)):
            shown = type(result).__name__ if not isinstance(result, tuple) else f"a tuple of {len(result)}"
            raise LauncherError(f"the script's _parse_args() returned {shown}, not (args, args_text) as timm's "
                                "train.py does; the launcher checks the namespace it returns, so restore timm's "
                                "`return args, args_text`")
        args, args_text = result
        self._check_namespace(args)
        self._warn_unknown_config_keys(args)
        try:
            check_saliencymix_arguments(args)
        except ValueError as err:
            raise LauncherError(str(err)) from None
        self.parsed = True
        if not saliencymix_on(args):
            return args, args_text
        if getattr(args, "naflex_loader", False):
            raise LauncherError("--naflex-loader mixes with timm's NaFlexMixup on patch sequences, which has no "
                                "SaliencyMix; drop --naflex-loader or --saliencymix")
        if not timm_mixing_on(args):
            args.mixup = _MixingOnFlag()  # the script's own `args.mixup > 0` now turns mixing on
        self.args = args
        self._install()
        return args, args_text

    def _check_namespace(self, args: argparse.Namespace) -> None:
        missing = [dest for dest in SALIENCYMIX_DESTS if not hasattr(args, dest)]
        if not missing:
            return
        parser = self.module.parser
        same = " (the same object as `config_parser`, which reads only -c)" if parser is getattr(
            self.module, "config_parser", None) else ""
        shown = missing[0] if len(missing) == 1 else f"{missing[0]} (nor {len(missing) - 1} more of ours)"
        raise LauncherError(f"the namespace the script's _parse_args() returned has no {shown}: the "
                            f"launcher added its options to the module-level `parser`, {_parser_name(parser)}{same}, "
                            "but the script parses its command line with another parser, so --saliencymix would be "
                            "ignored; make the module-level name `parser` refer to the parser that _parse_args() "
                            "parses the command line with, as in timm's train.py")

    def _warn_unknown_config_keys(self, args: argparse.Namespace) -> None:
        path = getattr(args, "config", None)  # timm's main parser has no -c; its config_parser has
        if not isinstance(path, str) or not path:
            config_only = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
            config_only.add_argument("-c", "--config", default="")
            path = config_only.parse_known_args(sys.argv[1:])[0].config
        if not path or not os.path.isfile(path):
            return
        try:
            with open(path) as f:
                config = yaml.safe_load(f)
        except (OSError, yaml.YAMLError):
            return  # the script read it already; whatever it made of it is its own
        if isinstance(config, dict):
            unknown = unknown_config_keys(config, self.module.parser)
            if unknown:
                _logger.warning(unknown_config_keys_message(path, unknown, self.module.parser, "the script"))

    # ------------------------------------------------------------------ the stand-ins
    def _patch(self, target, name: str, value) -> None:
        self._undo.append((target, name, getattr(target, name)))
        setattr(target, name, value)

    def _install(self) -> None:
        """Replace timm's mixing classes, create_loader and resolve_data_config wherever the script reaches them."""
        if self._installed:
            return
        self._installed = True

        def resolve_and_record(*args, **kwargs):
            self.data_config = resolve_data_config(*args, **kwargs)
            return self.data_config

        def create_loader_checked(*args, **kwargs):
            try:
                arguments = _LOADER_SIGNATURE.bind(*args, **kwargs).arguments
            except TypeError:
                arguments = kwargs  # timm's own call below raises the error that says what is wrong
            if arguments.get("is_training"):
                self._check_train_loader(arguments)
            return create_loader(*args, **kwargs)

        stand_ins = [(cls, _StandInType(name, (cls,), {
            "_smix_plugin": self, "_smix_timm_class": cls, "__module__": __name__,
            "__doc__": f"Stand-in for timm's {name} during a launcher run: builds SaliencyMix's counterpart."}))
            for name, cls in _TIMM_MIXERS.items()]
        stand_ins += [(resolve_data_config, functools.wraps(resolve_data_config)(resolve_and_record)),
                      (create_loader, functools.wraps(create_loader)(create_loader_checked))]

        def stand_in_for(value):
            return next((new for old, new in stand_ins if value is old), None)

        for name, value in list(vars(self.module).items()):  # the script's globals, under any name
            if stand_in_for(value) is not None:
                self._patch(self.module, name, stand_in_for(value))
        for home, names in _TIMM_HOMES:  # timm.data.X, timm.data.mixup.X, timm.data.loader.X
            for name in names:
                if stand_in_for(getattr(home, name, None)) is not None:
                    self._patch(home, name, stand_in_for(getattr(home, name)))
        self._guard_timm_init()

    def _guard_timm_init(self) -> None:
        timm_init = Mixup.__init__

        @functools.wraps(timm_init)
        def guarded_init(mixer, *args, **kwargs):
            if type(mixer) in (Mixup, FastCollateMixup):
                name = type(mixer).__name__
                raise LauncherError(
                    f"the script built timm's own {name} through a reference the launcher could not replace (one "
                    f"taken before the run, e.g. in another module), so --saliencymix would be ignored; build it as "
                    f"timm.data.{name}(...) or {name}(...) imported from timm.data in the script, as timm's "
                    "train.py does")
            timm_init(mixer, *args, **kwargs)
        self._patch(Mixup, "__init__", guarded_init)

    def close(self) -> None:
        """Put back what the launcher replaced in timm's modules and classes; drop the step hook."""
        while self._undo:
            target, name, value = self._undo.pop()
            setattr(target, name, value)
        if self._step_hook is not None:
            self._step_hook.remove()
            self._step_hook = None

    # ------------------------------------------------------------------ building
    def build_from_call(self, timm_cls: type, args: tuple, kwargs: dict):
        """Our mixing object for a call of a stand-in with the arguments of timm's class.

        Args:
            timm_cls: timm's ``Mixup`` or ``FastCollateMixup``, whose signature the arguments follow.
            args, kwargs: the script's arguments, positional ones included.

        Returns:
            The object of :meth:`build`.

        Raises:
            LauncherError: arguments that timm's class does not take either.
        """
        signature = inspect.signature(timm_cls)
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as err:
            raise LauncherError(f"the script calls {timm_cls.__name__}(...) with arguments that timm's "
                                f"{timm_cls.__name__}{signature} does not take either ({err}); fix that call") from None
        timm_kwargs: Dict[str, Any] = {}
        for name, value in bound.arguments.items():
            if signature.parameters[name].kind is inspect.Parameter.VAR_KEYWORD:
                timm_kwargs.update(value)
            else:
                timm_kwargs[name] = value
        return self.build(timm_cls is FastCollateMixup, timm_kwargs)

    def build(self, collate: bool, timm_kwargs: dict):
        """Our mixing object for the script's ``Mixup(**kw)`` / ``FastCollateMixup(**kw)`` call.

        Args:
            collate: True for ``FastCollateMixup`` (the prefetcher's collate), False for ``Mixup``.
            timm_kwargs: timm's keywords as the script passed them.

        Returns:
            ``FastCollateSaliencyMix`` / ``SaliencyMix`` with those keywords and the SaliencyMix options.

        Raises:
            LauncherError: the batch path without the run's normalisation constants.
        """
        from smix_timm.mix import FastCollateSaliencyMix, SaliencyMix
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

    # ------------------------------------------------------------------ "training starts"
    def watch_first_step(self) -> None:
        """Check :meth:`check_training_starts` at the process's first optimizer step (then stop watching)."""
        def first_step(optimizer, args, kwargs):
            self._step_hook.remove()
            self._step_hook = None
            self.check_training_starts("took its first optimizer step")
        self._step_hook = register_optimizer_step_pre_hook(first_step)

    def check_training_starts(self, moment: str) -> None:
        """Stop a run that reaches training without having read our options or built our mixing object.

        Args:
            moment: what the script just did, for the message ("created its training loader", ...).

        Raises:
            LauncherError: the script's ``_parse_args()`` was never called, or SaliencyMix is on and
                no mixing object of ours was built.
        """
        if not self.parsed:
            raise LauncherError(f"the script {moment} without calling its module-level _parse_args(), so the "
                                "launcher never saw its options; parse the command line through _parse_args() in "
                                f"main(), as timm's train.py does. Supported: {SUPPORTED}")
        if self.args is not None and not self.mixers:
            raise LauncherError(f"the script {moment} without building timm's Mixup or FastCollateMixup, so "
                                "--saliencymix would do nothing; build the mixing object before training (timm's "
                                f"train.py does when mixing is on). Supported: {SUPPORTED}")

    def _check_train_loader(self, loader_arguments: dict) -> None:
        self.check_training_starts("created its training loader")
        collates = [mixer for mixer in self.mixers if isinstance(mixer, FastCollateMixup)]
        collate_fn = loader_arguments.get("collate_fn")
        if collates and not any(collate_fn is mixer for mixer in collates):
            raise LauncherError(f"the script built {type(collates[0]).__name__} but created its training loader with "
                                f"collate_fn={collate_fn!r}, so the batches would not be mixed; pass the object "
                                "FastCollateMixup(...) returned as the training loader's collate_fn, as timm's "
                                "train.py does")
        mean, std = loader_arguments.get("mean"), loader_arguments.get("std")
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
        The plugin (its ``mixers`` are the objects built), after ``main()`` returned. What the
        plugin replaced in timm's modules is back in place by then.

    Raises:
        LauncherError: the script lacks the structure in the module docstring, an option is refused,
            or the script would train without SaliencyMix when it was asked for.
    """
    module = load_script(script, argv)
    check_contract(module)
    plugin = SaliencyMixPlugin(module)
    plugin.watch_first_step()
    try:
        module.main()
    finally:
        plugin.close()
    return plugin


def _usage() -> str:
    return ("usage: python -m smix_timm.timm_train PATH/TO/train.py [timm's flags] --saliencymix ALPHA "
            "[--saliency-* ...]\n"
            "       (PATH/TO/train.py --help lists timm's flags with the SaliencyMix options)")


def cli(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point: ``python -m smix_timm.timm_train SCRIPT [ARGS...]``.

    Args:
        argv: the launcher's arguments (default: ``sys.argv[1:]``): the script, then its flags.

    Returns:
        The exit status: 0, or 2 after a :class:`LauncherError` (printed as one line on rank 0).
    """
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
