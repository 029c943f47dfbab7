"""smix_timm.train.cli: tools/train.py's command line: every shipped config parses and checks, the shared
SaliencyMix option checks run on it, and a misspelled YAML key is named."""
import glob
import os

import pytest
import yaml

import smix_timm.models  # noqa: F401  (registers the CIFAR networks some configs name, as the trainer does)
from smix_timm.train.cli import build_parser, check_args, mixing_on, parse_command_line

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "configs", "timm", "*.yaml"))),
                         ids=os.path.basename)
def test_configs_parse(path):
    import timm
    with open(path) as f:
        cfg = yaml.safe_load(f)
    known = {a.dest for a in build_parser()._actions}
    assert set(cfg) <= known, set(cfg) - known
    args, _ = parse_command_line(["-c", path, "--data-dir", "x"])
    check_args(args)
    assert timm.is_model(args.model)
    mixing = [k for k in ("saliencymix", "cutmix") if cfg.get(k)]
    name = os.path.basename(path)
    if "baseline" in name:
        assert not mixing_on(args)
    else:
        assert len(mixing) == 1 and mixing[0] in name.replace("official", "saliencymix")


@pytest.mark.parametrize("yaml_text, message", [
    ("saliencymix: [1.0]\n", "--saliencymix (YAML key saliencymix) takes one finite number >= 0"),
    ("saliencymix: 1.0\nsaliency_scheme: nowhere\n", "--saliency-scheme (YAML key saliency_scheme) takes one of"),
])
def test_our_trainer_gets_the_same_checks(tmp_path, yaml_text, message):
    """tools/train.py (smix_timm.train.cli) runs check_saliencymix_arguments: a UsageError of one line."""
    from smix_timm.train.cli import check_args, parse_command_line
    from smix_timm.train.errors import UsageError
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml_text)
    args, _ = parse_command_line(["-c", str(cfg), "--data-dir", str(tmp_path), "--model", "resnet18"])
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_args(args)


def test_the_trainer_names_the_option_a_misspelled_yaml_key_meant(tmp_path, caplog):
    from smix_timm.train.cli import build_parser, read_config
    path = tmp_path / "c.yaml"
    path.write_text("saliency_shceme: salient_to_salient\nlr: 0.1\n")
    with caplog.at_level("WARNING"):
        assert read_config(str(path), build_parser()) == {"lr": 0.1}
    assert "saliency_shceme (did you mean saliency_scheme?)" in caplog.text
