"""smix_mmdet.check_cli (tools/mmdet/check_backbone.py): the backbone check as a program: its report, exit
codes, --problems-only, and a missing checkpoint."""
import pytest

from tests._mmdet_testlib import REPO, TINY, run_tool, write_timm_checkpoint


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """A folder and the resnet18 timm checkpoint (with EMA) in it, as the tiny config's backbone takes."""
    root = tmp_path_factory.mktemp("e2e")
    ckpt, _ = write_timm_checkpoint(root / "pretrain", "resnet18", ema=True)
    return root, ckpt


def _check_backbone_main():
    from smix_mmdet.check_cli import main
    return main


def test_check_backbone_tool(pretrained, tmp_path, capsys):
    root, ckpt = pretrained
    main = _check_backbone_main()
    assert main([TINY, ckpt]) == 0
    out = capsys.readouterr().out
    assert "ok       layer4.1.bn2.running_var" in out
    assert out.strip().splitlines()[-1].startswith("OK: 120/120")
    bad, _ = write_timm_checkpoint(tmp_path, "resnet34", ema=False)
    assert main([TINY, bad, "--problems-only"]) == 1
    out = capsys.readouterr().out
    assert "UNUSED   layer3.5.conv1.weight" in out
    assert "ok       " not in out
    assert main([TINY, str(tmp_path / "none.pth.tar")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_check_backbone_command_line(pretrained):
    root, ckpt = pretrained
    out = run_tool([str(REPO / "tools" / "mmdet" / "check_backbone.py"), TINY, ckpt,
                    "--problems-only"], cwd=root)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1].startswith("OK: 120/120")
