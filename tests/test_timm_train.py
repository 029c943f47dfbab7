"""The launcher (smix_timm.timm_train) on a stand-in for timm's train.py: options, objects built, errors."""
import os
import pickle
import subprocess
import sys
import textwrap

import pytest
import yaml
from timm.data import FastCollateMixup, Mixup

from smix_timm import FastCollateSaliencyMix, SaliencyMix, timm_train
from smix_timm.checkpoint import read_checkpoint

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
STANDIN = os.path.join(HERE, "standin_timm_train.py")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from smix_timm.synthetic.classification import make_cls_data
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


def run_cli(args, cwd, module="smix_timm.timm_train", timeout=300):
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
    (["--saliencymix", "nan"], "--saliencymix must be a number >= 0"),
    (["--saliencymix", "1", "--saliency-scheme", "nowhere"], "invalid choice: 'nowhere'"),
])
def test_bad_options_stop_before_training(launch, capsys, tmp_path, extra, message):
    with pytest.raises(SystemExit) as exit_info:
        launch(*extra)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
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
    ("import argparse\nparser = argparse.ArgumentParser()\ndef main(): pass\ndef _parse_args(): pass\n"
     "from timm.data import Mixup\n", "`FastCollateMixup` imported from timm.data"),
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
    r = run_cli(["--standalone", "--nproc_per_node", "2", "-m", "smix_timm.timm_train", STANDIN, "--data-dir", data,
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
