"""The launcher (smix_timm.train.launcher) on a stand-in for timm's train.py: options, objects built, errors."""
import os
import pickle
import re
import subprocess
import sys
import textwrap

import pytest
import yaml
from timm.data import FastCollateMixup, Mixup

from smix_timm import FastCollateSaliencyMix, SaliencyMix
from smix_timm.checkpoint import read_checkpoint
from smix_timm.train import launcher as timm_train

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STANDIN = os.path.join(TESTS, "standin_timm_train.py")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from smix_lab.data.classification import make_cls_data
    root = str(tmp_path_factory.mktemp("launcher") / "cls")
    make_cls_data(root, seed=0, num_classes=4, train_per_class=8, val_per_class=4, size=32, log=None)
    return root


@pytest.fixture
def launch(monkeypatch, tmp_path, data):
    """Run the launcher in this process on a script; sys.argv, sys.path and sys.modules are restored."""
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "modules", dict(sys.modules))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")

    def go(*extra, script=STANDIN):
        argv = ["--data-dir", data, "--output", str(tmp_path)] + [str(a) for a in extra]
        return timm_train.run(script, argv)
    return go


def run_cli(args, cwd, module="smix_timm.train.launcher", timeout=300):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", module] + [str(a) for a in args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def read_outputs(tmp_path):
    run_dir = tmp_path / "run"
    with open(run_dir / "args.yaml") as f:
        args_yaml = yaml.safe_load(f)
    ckpt = read_checkpoint(run_dir / "last.pth.tar")  # weights_only: only plain types besides the Namespace
    return args_yaml, ckpt


def test_prefetcher_path_builds_our_collate_with_the_options(launch, tmp_path, caplog):
    caplog.set_level("INFO")
    plugin = launch("--saliencymix", "1.0", "--saliency-method", "frequency_tuned")
    (mixer,) = plugin.mixers
    assert type(mixer) is FastCollateSaliencyMix
    assert mixer.saliencymix_alpha == 1.0 and mixer.method == "frequency_tuned"
    assert mixer.mixup_alpha == 0.0 and mixer.cutmix_alpha == 0.0 and mixer.mixup_enabled
    assert "mixing object: smix_timm.mix.FastCollateSaliencyMix" in caplog.text
    assert "smix: Mixing with FastCollateSaliencyMix in the loader's collate" in caplog.text
    args_yaml, ckpt = read_outputs(tmp_path)
    assert args_yaml["saliencymix"] == 1.0 and args_yaml["saliency_method"] == "frequency_tuned"
    assert args_yaml["mixup"] == 0.0 and args_yaml["saliency_official"] is False
    # --saliencymix alone turned the script's own mixing test on; args go back to a plain 0.0
    assert type(ckpt["args"].mixup) is float and ckpt["args"].mixup == 0.0
    assert ckpt["args"].saliencymix == 1.0 and ckpt["epoch"] == 0


def test_batch_path_gets_the_run_normalisation(launch, tmp_path):
    plugin = launch("--saliencymix", "0.5", "--no-prefetcher", "--mean", "0.3", "0.4", "0.5",
                    "--std", "0.2", "0.25", "0.3", "--saliency-per", "batch")
    (mixer,) = plugin.mixers
    assert type(mixer) is SaliencyMix and mixer.per == "batch" and mixer.saliencymix_alpha == 0.5
    assert mixer.mean == (0.3, 0.4, 0.5) and mixer.std == (0.2, 0.25, 0.3)
    assert read_outputs(tmp_path)[0]["saliency_per"] == "batch"


def test_timm_mixing_flags_keep_their_meaning(launch):
    plugin = launch("--saliencymix", "1.0", "--mixup", "0.8", "--mixup-prob", "0.5", "--mixup-switch-prob", "0.3",
                    "--mixup-mode", "pair", "--smoothing", "0.2")
    (mixer,) = plugin.mixers
    assert (mixer.mixup_alpha, mixer.mix_prob, mixer.switch_prob, mixer.mode, mixer.label_smoothing) == (
        0.8, 0.5, 0.3, "pair", 0.2)
    assert mixer.num_classes == 4


def test_config_file_sets_saliencymix_options(launch, tmp_path):
    cfg = tmp_path / "smix.yaml"
    cfg.write_text("saliencymix: 1.0\nsaliency_scheme: salient_to_salient\n")
    plugin = launch("-c", cfg)
    assert plugin.mixers[0].scheme == "salient_to_salient"
    assert read_outputs(tmp_path)[0]["saliency_scheme"] == "salient_to_salient"


@pytest.mark.parametrize("extra, timm_type", [(["--cutmix", "1.0"], FastCollateMixup),
                                             (["--cutmix", "1.0", "--no-prefetcher"], Mixup), ([], None)])
def test_without_saliencymix_the_script_runs_as_alone(launch, caplog, extra, timm_type):
    caplog.set_level("INFO")
    plugin = launch(*extra)
    assert plugin.mixers == [] and "smix:" not in caplog.text
    assert plugin.module.Mixup is Mixup and plugin.module.FastCollateMixup is FastCollateMixup
    if timm_type is None:
        assert "mixing object" not in caplog.text
    else:
        assert f"mixing object: timm.data.mixup.{timm_type.__name__}" in caplog.text


@pytest.mark.parametrize("extra, message", [
    (["--saliency-method", "spectral_residual"], "--saliency-method only take effect with SaliencyMix on"),
    (["--saliency-official"], "--saliency-official only take effect"),
    (["--saliencymix", "1", "--naflex-loader"], "--naflex-loader mixes with timm's NaFlexMixup"),
    (["--saliencymix", "nan"], "--saliencymix (YAML key saliencymix) takes one finite number >= 0"),
    (["--saliencymix", "inf"], "--saliencymix (YAML key saliencymix) takes one finite number >= 0"),
    (["--saliencymix", "-1"], "got -1.0"),
])
def test_bad_options_stop_before_training(launch, tmp_path, extra, message):
    with pytest.raises(timm_train.LauncherError) as err:
        launch(*extra)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "run").exists()


def test_a_bad_choice_on_the_command_line_is_argparse_s_error(launch, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        launch("--saliencymix", "1", "--saliency-scheme", "nowhere")
    assert exit_info.value.code == 2 and "invalid choice: 'nowhere'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def _script(tmp_path, body, name="train.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return str(path)


@pytest.mark.parametrize("body, missing", [
    ("import argparse\nparser = argparse.ArgumentParser()\ndef _parse_args(): pass\n"
     "from timm.data import Mixup, FastCollateMixup\n", "a module-level `main()`"),
    ("def main(): pass\ndef _parse_args(): pass\nfrom timm.data import Mixup, FastCollateMixup\n",
     "a module-level `parser` (argparse.ArgumentParser)"),
    ("import argparse\nparser = argparse.ArgumentParser()\ndef main(): pass\n"
     "from timm.data import Mixup, FastCollateMixup\n", "a module-level `_parse_args()`"),
])
def test_a_script_without_the_structure_is_refused(launch, tmp_path, body, missing):
    with pytest.raises(timm_train.LauncherError, match="does not have the structure") as err:
        launch(script=_script(tmp_path, body))
    assert missing in str(err.value) and "timm 1.0.3 to" in str(err.value)


def test_a_script_that_never_builds_mixup_is_stopped(launch, tmp_path):
    """SaliencyMix on, but the script reaches its training loader without a mixing object: no silent run."""
    with open(STANDIN) as f:
        source = f.read().replace("mixing = args.mixup > 0", "mixing = False and args.mixup > 0")
    script = tmp_path / "edited_train.py"
    script.write_text(source)
    with pytest.raises(timm_train.LauncherError, match="without building timm's Mixup"):
        launch("--saliencymix", "1.0", script=str(script))


def test_cli_help_lists_the_saliencymix_options(tmp_path):
    r = run_cli([STANDIN, "--help"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "SaliencyMix parameters" in r.stdout and "--saliency-method" in r.stdout and "--data-dir" in r.stdout
    r = run_cli(["--help"], cwd=tmp_path)
    assert r.returncode == 0 and "PATH/TO/train.py" in r.stdout


def test_cli_errors_are_one_line(tmp_path):
    r = run_cli([tmp_path / "nope.py", "--saliencymix", "1"], cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("smix_timm.timm_train: error: no training script at")
    r = run_cli([], cwd=tmp_path)
    assert r.returncode == 2 and "usage:" in r.stdout


def test_torchrun_runs_the_launcher_in_each_process(data, tmp_path):
    r = run_cli(["--standalone", "--nproc_per_node", "2", "-m", "smix_timm.train.launcher", STANDIN, "--data-dir", data,
                 "--output", tmp_path, "--saliencymix", "1.0", "--batch-size", "4"], cwd=tmp_path,
                module="torch.distributed.run")
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stderr.count("smix: Mixing with FastCollateSaliencyMix") == 2
    args_yaml, ckpt = read_outputs(tmp_path)
    assert ckpt["args"].world_size == 2 and args_yaml["saliencymix"] == 1.0


def test_mixing_on_flag_reads_as_on_and_saves_as_zero():
    flag = timm_train._MixingOnFlag()
    assert flag > 0 and flag > 0.0 and bool(flag) and float(flag) == 0.0 and not flag > 1
    restored = pickle.loads(pickle.dumps(flag))
    assert type(restored) is float and restored == 0.0


# ---------------------------------------------------------------- edited scripts, contract errors
def _edited(tmp_path, *replacements, name="edited_train.py"):
    """The stand-in with its text edited as a user might edit timm's script; each edit must apply."""
    with open(STANDIN) as f:
        source = f.read()
    for old, new in replacements:
        assert old in source, f"the stand-in no longer contains {old!r}"
        source = source.replace(old, new)
    path = tmp_path / name
    path.write_text(source)
    return str(path)


def _renamed_main_parser(tmp_path):
    """A user's edit: the main parser renamed, timm's ``config_parser = parser = ...`` line kept."""
    source_path = _edited(tmp_path, ("config_parser = argparse", "config_parser = parser = argparse"))
    with open(source_path) as f:
        head, tail = f.read().split("parser = argparse.ArgumentParser(description=", 1)
    tail = re.sub(r"\bparser\b", "main_parser", tail)
    path = tmp_path / "renamed_train.py"
    path.write_text(head + "main_parser = argparse.ArgumentParser(description=" + tail)
    return str(path)


@pytest.mark.parametrize("extra", [["--saliencymix", "1.0"], ["--saliencymix", "1.0", "--cutmix", "1.0"], []])
def test_options_on_a_parser_the_script_does_not_parse_are_refused(launch, tmp_path, extra):
    """The config parser swallowed --saliencymix, so the run would train without SaliencyMix and exit 0."""
    with pytest.raises(timm_train.LauncherError) as err:
        launch(*extra, script=_renamed_main_parser(tmp_path))
    message = str(err.value)
    assert "returned has no saliencymix" in message and "the same object as `config_parser`" in message
    assert "ArgumentParser(prog=" in message
    assert not (tmp_path / "run").exists()


_IMPORT_TIMM = ("import torch\n", "import torch\nimport timm.data\nimport timm.data.mixup\n")


@pytest.mark.parametrize("route, extra, ours", [
    ("timm.data.FastCollateMixup", ["--cutmix", "1.0"], FastCollateSaliencyMix),
    ("timm.data.mixup.FastCollateMixup", [], FastCollateSaliencyMix),
    ("timm.data.Mixup", ["--no-prefetcher"], SaliencyMix),
    ("timm.data.mixup.Mixup", ["--no-prefetcher", "--cutmix", "1.0"], SaliencyMix),
])
def test_module_attribute_routes_build_our_mixer(launch, tmp_path, caplog, route, extra, ours):
    """`timm.data.X(...)` / `timm.data.mixup.X(...)` / `timm.data.create_loader(...)` get ours, not plain CutMix."""
    caplog.set_level("INFO")
    name = route.rsplit(".", 1)[1]
    call = "collate_fn = FastCollateMixup(" if name == "FastCollateMixup" else "mixup_fn = Mixup("
    script = _edited(tmp_path, _IMPORT_TIMM,
                     (call, call.replace(name, route)),
                     ("built = collate_fn if prefetch else mixup_fn",
                      f"built = collate_fn if prefetch else mixup_fn\n        assert isinstance(built, {route})"),
                     ("train_loader = create_loader(", "train_loader = timm.data.create_loader("),
                     ("from timm.data import FastCollateMixup, Mixup, create_dataset",
                      "from timm.data import create_dataset"))
    plugin = launch("--saliencymix", "1.0", "--epochs", "0", *extra, script=script)
    (mixer,) = plugin.mixers
    assert type(mixer) is ours and mixer.saliencymix_alpha == 1.0
    assert mixer.cutmix_alpha == (1.0 if "--cutmix" in extra else 0.0)
    assert f"mixing object: smix_timm.mix.{ours.__name__}" in caplog.text
    # what the launcher replaced in timm is back
    import timm.data.mixup
    assert timm.data.FastCollateMixup is FastCollateMixup and timm.data.mixup.Mixup is Mixup
    assert Mixup.__init__.__module__ == "timm.data.mixup"


def test_saliencymix_alone_through_timm_data_trains(launch, tmp_path):
    """With --saliencymix alone this route died deep in numpy; now it trains with our collate."""
    script = _edited(tmp_path, _IMPORT_TIMM,
                     ("collate_fn = FastCollateMixup(", "collate_fn = timm.data.FastCollateMixup("),
                     ("train_loader = create_loader(", "train_loader = timm.data.create_loader("))
    plugin = launch("--saliencymix", "1.0", script=script)
    assert type(plugin.mixers[0]) is FastCollateSaliencyMix
    assert read_outputs(tmp_path)[1]["epoch"] == 0


def test_a_reference_the_launcher_cannot_replace_stops_where_timm_s_class_is_built(launch, tmp_path):
    (tmp_path / "smix_r2_helper.py").write_text(
        "from timm.data import FastCollateMixup as Collate\n\ndef make_collate(**kwargs):\n"
        "    return Collate(**kwargs)\n")
    script = _edited(tmp_path, ("import torch\n", "import torch\nfrom smix_r2_helper import make_collate\n"),
                     ("collate_fn = FastCollateMixup(", "collate_fn = make_collate("))
    with pytest.raises(timm_train.LauncherError, match="through a reference the launcher could not replace"):
        launch("--saliencymix", "1.0", "--cutmix", "1.0", script=script)
    assert Mixup.__init__.__module__ == "timm.data.mixup"  # the guard is gone after the run
    assert not (tmp_path / "run" / "last.pth.tar").exists()


def test_training_without_our_mixer_stops_at_the_first_optimizer_step(launch, tmp_path):
    """A script with its own loader (no create_loader(is_training=True)) and no mixing object: stopped."""
    script = _edited(tmp_path, ("mixing = args.mixup > 0", "mixing = False and args.mixup > 0"),
                     ("train_loader = create_loader(train_set, is_training=True",
                      "train_loader = create_loader(train_set, is_training=False"))
    with pytest.raises(timm_train.LauncherError, match="took its first optimizer step without building timm's Mixup"):
        launch("--saliencymix", "1.0", script=script)
    assert not (tmp_path / "run" / "last.pth.tar").exists()


def test_a_main_that_never_calls_parse_args_is_stopped(launch, tmp_path):
    script = _edited(tmp_path, ("    args, args_text = _parse_args()\n",
                                "    args, args_text = parser.parse_args(), ''\n"))
    with pytest.raises(timm_train.LauncherError, match="without calling its module-level _parse_args()"):
        launch("--saliencymix", "1.0", script=script)
    assert not (tmp_path / "run" / "last.pth.tar").exists()


def test_yaml_value_outside_its_choices_stops_before_anything_is_built(launch, tmp_path):
    cfg = tmp_path / "smix.yaml"
    cfg.write_text("saliencymix: 1.0\nsaliency_scheme: nowhere\n")
    with pytest.raises(timm_train.LauncherError, match=r"--saliency-scheme \(YAML key saliency_scheme\) takes one "
                                                       r"of .*salient_to_salient; got 'nowhere'"):
        launch("-c", cfg)
    assert not (tmp_path / "run").exists()


def test_parse_args_returning_a_bare_namespace_is_refused(launch, tmp_path):
    script = _edited(tmp_path, ("    return args, yaml.safe_dump(vars(args))\n", "    return args\n"),
                     ("    args, args_text = _parse_args()\n", "    args = _parse_args()\n    args_text = ''\n"))
    with pytest.raises(timm_train.LauncherError, match=r"_parse_args\(\) returned Namespace, not \(args, args_text\)"):
        launch("--saliencymix", "1.0", script=script)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("option, clash", [
    ("parser.add_argument('--saliencymix', type=float, default=0.0)", "--saliencymix"),
    ("parser.add_argument('--smix-method', dest='saliency_method')", "dest=saliency_method"),
])
def test_a_script_that_defines_our_options_is_refused(launch, tmp_path, option, clash):
    script = _edited(tmp_path, ("\n\ndef _parse_args():", f"\n{option}\n\n\ndef _parse_args():"))
    with pytest.raises(timm_train.LauncherError, match=f"already defines {clash}, which the launcher adds") as err:
        launch("--saliencymix", "1.0", script=script)
    assert "stand-in for timm's train.py" in str(err.value)


def test_positional_arguments_follow_timm_s_signature(launch, tmp_path):
    script = _edited(tmp_path, ("collate_fn = FastCollateMixup(**timm_kwargs)",
                                "collate_fn = FastCollateMixup(args.mixup, args.cutmix, args.cutmix_minmax, "
                                "args.mixup_prob, args.mixup_switch_prob, args.mixup_mode, True, args.smoothing, "
                                "args.num_classes)"))
    plugin = launch("--saliencymix", "1.0", "--mixup", "0.4", "--mixup-switch-prob", "0.25", "--smoothing", "0.2",
                    "--epochs", "0", script=script)
    (mixer,) = plugin.mixers
    assert type(mixer) is FastCollateSaliencyMix
    assert (mixer.mixup_alpha, mixer.switch_prob, mixer.label_smoothing, mixer.num_classes) == (0.4, 0.25, 0.2, 4)


def test_arguments_timm_s_class_does_not_take_either_are_refused(launch, tmp_path):
    script = _edited(tmp_path, ("collate_fn = FastCollateMixup(**timm_kwargs)",
                                "collate_fn = FastCollateMixup(**timm_kwargs, no_such_keyword=1)"))
    with pytest.raises(timm_train.LauncherError, match=r"calls FastCollateMixup\(\.\.\.\) with arguments that timm"):
        launch("--saliencymix", "1.0", "--epochs", "0", script=script)


def test_a_misspelled_yaml_key_is_reported(launch, tmp_path, caplog):
    cfg = tmp_path / "smix.yaml"
    cfg.write_text("saliencymix: 1.0\nsaliency_shceme: salient_to_salient\n")
    plugin = launch("-c", cfg, "--epochs", "0")
    assert f"{cfg}: ignoring options the script does not have: saliency_shceme (did you mean saliency_scheme?)" \
        in caplog.text
    assert plugin.mixers[0].scheme == "salient_to_corresponding"  # the typo changed nothing, as the warning says


@pytest.mark.parametrize("yaml_text, message", [
    ("saliencymix: [1.0]\n", "--saliencymix (YAML key saliencymix) takes one finite number >= 0, the Beta alpha "
                             "(e.g. 1.0); got the list [1.0]"),
    ("saliencymix: 1.0\nsaliency_official: 'no'\n", "--saliency-official (YAML key saliency_official) takes true or "
                                                    "false; got 'no'"),
    ("saliencymix: 1.0\nmixup_prob: [0.5]\n",
     "--mixup-prob (YAML key mixup_prob) takes one finite number; got the list [0.5]"),
])
def test_a_yaml_value_of_the_wrong_type_is_one_line(tmp_path, data, yaml_text, message):
    cfg = tmp_path / "smix.yaml"
    cfg.write_text(yaml_text)
    r = run_cli([STANDIN, "-c", cfg, "--data-dir", data, "--output", tmp_path], cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert r.stderr.strip().splitlines()[-1] == f"smix_timm.timm_train: error: {message}"
    assert not (tmp_path / "run").exists()


def test_our_collate_left_out_of_the_training_loader_is_stopped(launch, tmp_path):
    script = _edited(tmp_path, ("train_loader = create_loader(train_set, is_training=True, collate_fn=collate_fn",
                                "train_loader = create_loader(train_set, is_training=True, collate_fn=None"))
    with pytest.raises(timm_train.LauncherError, match="built FastCollateSaliencyMix but created its training loader "
                                                       "with collate_fn=None"):
        launch("--saliencymix", "1.0", script=script)
    assert not (tmp_path / "run" / "last.pth.tar").exists()
