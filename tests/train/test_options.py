"""The shared option checks (smix_timm.train.options) that the launcher and tools/train.py both run, and the
mixing object each set of options builds."""
import argparse

import pytest
import torch

from smix_timm.train import options as train_options
from smix_timm.train.cli import build_parser, check_args
from smix_timm.train.options import (
    SALIENCYMIX_DESTS,
    add_saliencymix_arguments,
    check_saliencymix_arguments,
    saliencymix_option_conflicts,
    unknown_config_keys,
    unknown_config_keys_message,
)


def _parser():
    parser = argparse.ArgumentParser()
    for flag in ("--mixup", "--cutmix", "--mixup-prob", "--mixup-switch-prob", "--smoothing"):
        parser.add_argument(flag, type=float, default=0.0)
    parser.add_argument("--cutmix-minmax", type=float, nargs="+", default=None)
    add_saliencymix_arguments(parser)
    return parser


def _args(**yaml_values):
    """What parsing gives when a -c YAML set these values as defaults (argparse leaves them unchecked)."""
    parser = _parser()
    parser.set_defaults(**yaml_values)
    return parser.parse_args([])


@pytest.mark.parametrize("values, message", [
    (dict(saliencymix=[1.0]), "--saliencymix (YAML key saliencymix) takes one finite number >= 0, the Beta alpha "
                              "(e.g. 1.0); got the list [1.0]"),
    (dict(saliencymix={"alpha": 1}), "got the dict {'alpha': 1}"),
    (dict(saliencymix=True), "got True"),
    (dict(saliencymix=float("inf")), "got inf"),
    (dict(saliencymix=-0.5), "got -0.5"),
    (dict(saliencymix=1.0, saliency_scheme="nowhere"), "--saliency-scheme (YAML key saliency_scheme) takes one of "),
    (dict(saliencymix=1.0, saliency_method=["fine_grained"]), "got the list ['fine_grained']"),
    (dict(saliencymix=1.0, saliency_per=1), "--saliency-per (YAML key saliency_per) takes one of sample, batch; got 1"),
    (dict(saliencymix=1.0, saliency_official="no"), "--saliency-official (YAML key saliency_official) takes true or "
                                                    "false; got 'no'"),
    (dict(saliencymix=1.0, mixup=[0.8]), "--mixup (YAML key mixup) takes one finite number; got the list [0.8]"),
    (dict(smoothing="0.1x"), None),  # a string default goes through argparse's own type conversion
    (dict(saliencymix=1.0, cutmix_minmax=0.5), "--cutmix-minmax (YAML key cutmix_minmax) takes two numbers"),
])
def test_yaml_values_of_the_wrong_type_are_one_line_errors(values, message, capsys):
    if message is None:
        with pytest.raises(SystemExit):
            _args(**values)
        assert "invalid float value" in capsys.readouterr().err
        return
    with pytest.raises(ValueError) as err:
        check_saliencymix_arguments(_args(**values))
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("values", [dict(), dict(saliencymix=None), dict(saliencymix=1), dict(saliencymix=0.5),
                                    dict(saliencymix=1.0, saliency_scheme="salient_to_salient", saliency_per="batch",
                                         saliency_official=True, cutmix_minmax=[0.2, 0.8], mixup=1)])
def test_good_values_pass(values):
    check_saliencymix_arguments(_args(**values))


def test_conflicts_name_flags_and_dests():
    parser = argparse.ArgumentParser()
    assert saliencymix_option_conflicts(parser) == []
    parser.add_argument("--saliencymix", type=float)
    parser.add_argument("--smix-per", dest="saliency_per")
    assert saliencymix_option_conflicts(parser) == ["--saliencymix", "dest=saliency_per"]
    assert saliencymix_option_conflicts(_parser()) == ["--" + d.replace("_", "-") for d in SALIENCYMIX_DESTS]


def test_unknown_config_keys_suggest_the_meant_option():
    parser = _parser()
    config = {"saliencymix": 1.0, "saliency_shceme": "salient_to_salient", "totally_new": 3}
    unknown = unknown_config_keys(config, parser)
    assert unknown == ["saliency_shceme", "totally_new"]
    assert unknown_config_keys_message("c.yaml", unknown, parser) == (
        "c.yaml: ignoring options this trainer does not have: saliency_shceme (did you mean saliency_scheme?), "
        "totally_new")


def test_detail_choices_are_the_parser_s_choices():
    parser = _parser()
    choices = {a.dest: tuple(a.choices) for a in parser._actions if a.choices}
    assert {k: tuple(sorted(v)) for k, v in train_options.detail_choices().items()} == {
        k: tuple(sorted(v)) for k, v in choices.items()}


# ------------------------------------------------------------------ the mixer each option set builds
def _trainer_args(**kw):
    """tools/train.py's parsed and checked arguments with these values."""
    a = build_parser().parse_args(["--data-dir", "x"])
    a.num_classes = 4
    for k, v in kw.items():
        setattr(a, k, v)
    check_args(a)
    return a


def test_build_mixing_paths():
    from timm.data import FastCollateMixup, Mixup
    from timm.data.loader import PrefetchLoader

    from smix_timm import FastCollateSaliencyMix, SaliencyMix
    from smix_timm.train.options import build_mixing
    cfg = dict(mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    assert build_mixing(_trainer_args(), collate=True, **cfg) is None
    assert type(build_mixing(_trainer_args(cutmix=1.0), collate=True, **cfg)) is FastCollateMixup
    assert type(build_mixing(_trainer_args(cutmix=1.0), collate=False, **cfg)) is Mixup
    collate = build_mixing(_trainer_args(saliencymix=1.0, mixup_prob=0.5), collate=True, **cfg)
    assert isinstance(collate, FastCollateSaliencyMix) and collate.mix_prob == 0.5 and collate.mean == cfg["mean"]
    # timm's PrefetchLoader forwards --mixup-off-epoch only to FastCollateMixup instances
    loader = PrefetchLoader(torch.utils.data.DataLoader([], collate_fn=collate), device=torch.device("cpu"))
    loader.mixup_enabled = False
    assert collate.mixup_enabled is False
    fn = build_mixing(_trainer_args(saliencymix=1.0, saliency_official=True), collate=False, **cfg)
    assert type(fn) is SaliencyMix and fn.official and fn.std == cfg["std"]
