"""smix_mmdet.mim_tools and the programs on it (mmdet_train, mmdet_test): end to end through mmdet's own
tools: generated VOC data, a timm checkpoint, a few iterations of the tiny config, resume, test -> VOC mAP;
finding mmdet's tools and launching them distributed."""
import re

import pytest
import torch

from smix_mmdet.mim_tools import mim_tool, pop_nproc, tool_main
from smix_mmdet.safe_load import allowed_global_names
from tests._mmdet_testlib import REPO, TINY, run_tool, write_timm_checkpoint

ITERS = ["train_cfg.max_iters=2", "train_cfg.val_interval=2",
         "default_hooks.checkpoint.interval=1",
         "train_dataloader.batch_size=2", "default_hooks.logger.interval=1"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    out = run_tool([str(REPO / "tools" / "data" / "make_voc_data.py"), "--out",
                    str(root / "VOCdevkit"), "--num-train", "6",
                    "--num-test", "4", "--size", "128", "--quiet"], cwd=root)
    assert out.returncode == 0, out.stderr
    ckpt, _ = write_timm_checkpoint(root / "pretrain", "resnet18", ema=True)
    work = root / "work"
    out = run_tool(
        [str(REPO / "tools" / "mmdet" / "mmdet_train.py"), TINY, "--work-dir",
         str(work), "--cfg-options",
         f"model.backbone.init_cfg.checkpoint={ckpt}", *ITERS],
        cwd=root, env_extra={"SMIX_VOC_ROOT": str(root / "VOCdevkit") + "/"})
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    return root, ckpt, work, out.stdout + out.stderr


def test_train_loads_backbone_and_validates(trained):
    root, ckpt, work, log = trained
    assert (work / "iter_2.pth").is_file()
    assert "TimmPretrained: ResNet loaded from" in log
    assert re.search(r"Iter\(train\) \[2/2\].*loss: [0-9.]+", log), \
        log[-3000:]  # a finite loss, not nan
    assert "state_dict_ema" in log and "120/120 backbone tensors load" in log
    assert re.search(r"pascal_voc/mAP: [0-9.]+", log)


def test_resume_with_mmdet_train_py_itself(trained):
    root, ckpt, work, _ = trained
    iters = [o.replace("max_iters=2", "max_iters=3") for o in ITERS]
    out = run_tool(
        [str(mim_tool("train.py")), TINY, "--work-dir", str(work), "--resume",
         "--cfg-options", f"model.backbone.init_cfg.checkpoint={ckpt}",
         *iters],
        cwd=root, env_extra={"SMIX_VOC_ROOT": str(root / "VOCdevkit") + "/",
                             "PYTHONPATH": str(REPO)})
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    assert "resumed epoch: 0, iter: 2" in log and "Weights only" not in log
    assert "Iter(train) [3/3]" in log and "Iter(train) [1/3]" not in log
    assert (work / "iter_3.pth").is_file()
    # without the timm checkpoint (moved away): init_cfg=None, as documented
    iters = [o.replace("max_iters=2", "max_iters=4") for o in ITERS]
    out = run_tool(
        [str(mim_tool("train.py")), TINY, "--work-dir", str(work), "--resume",
         "--cfg-options", "model.backbone.init_cfg=None", *iters],
        cwd=root, env_extra={"SMIX_VOC_ROOT": str(root / "VOCdevkit") + "/",
                             "PYTHONPATH": str(REPO)})
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    assert "resumed epoch: 0, iter: 3" in log and "TimmPretrained" not in log
    assert (work / "iter_4.pth").is_file()


def test_test_tool_prints_map(trained, empty_allowlist):
    root, _, work, _ = trained
    voc = str(root / "VOCdevkit") + "/"
    saved = (work / "last_checkpoint").read_text().strip()
    out = run_tool(
        [str(REPO / "tools" / "mmdet" / "mmdet_test.py"), TINY,
         saved, "--work-dir", str(root / "test"),
         "--cfg-options", f"test_dataloader.dataset.data_root={voc}"],
        cwd=root)  # no SMIX_VOC_ROOT: the data root comes from --cfg-options
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    match = re.search(r"pascal_voc/mAP: ([0-9.]+)", log)
    assert match and 0.0 <= float(match.group(1)) <= 1.0
    assert "Load checkpoint from" in log
    # what mmdet's checkpoint pickles besides tensors is exactly allow-listed
    unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(saved)
    assert unsafe and set(unsafe) <= set(allowed_global_names())


def test_mim_tools_are_found():
    for name in ("train.py", "test.py", "dist_train.sh", "dist_test.sh"):
        path = mim_tool(name)
        assert path.is_file() and ".mim" in str(path)
    assert pop_nproc(["a.py", "--nproc", "2", "--x"]) == (2, ["a.py", "--x"])
    assert pop_nproc(["--nproc=4", "c"]) == (4, ["c"])
    with pytest.raises(SystemExit):
        pop_nproc(["--nproc", "x"])


def test_dist_launch_needs_positional_arguments_first(capsys):
    with pytest.raises(SystemExit, match="put CONFIG CHECKPOINT first"):
        tool_main("test.py", "dist_test.sh", ("CONFIG", "CHECKPOINT"), "doc",
                  ["--nproc", "2", "cfg.py", "--work-dir", "w", "ckpt.pth"])
    assert tool_main("train.py", "dist_train.sh", ("CONFIG", ), "the doc",
                     []) == 2
    assert "the doc" in capsys.readouterr().out
