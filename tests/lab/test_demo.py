"""smix_lab.demo (make demo, tools/demo.py): the pipeline at its smallest setting, end to end on CPU, its reuse
of finished stages and of its own folders, and the checks of its options before any stage."""
import os
import re
import subprocess
import sys

import pytest
import torch
from PIL import Image

needs_det = pytest.mark.skipif(bool(os.environ.get("SMIX_NO_DET")),
                               reason="the demo needs the detection side (SMIX_NO_DET set)")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_demo(out, data):
    cmd = [sys.executable, os.path.join(ROOT, "tools", "demo.py"), "--smallest", "--out", str(out),
           "--data", str(data)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc.stdout


def table_rows(report: str, heading: str):
    section = report.split(heading, 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| variant")
            and not line.startswith("| backbone") and not line.startswith("|---")]


@needs_det
def test_demo_smallest_end_to_end_and_reuse(tmp_path):
    out, data = tmp_path / "results", tmp_path / "data"
    first = run_demo(out, data)
    assert "plan (estimates" in first
    report = (out / "report.md").read_text()
    top1 = {row.split("|")[1].strip(): float(row.split("|")[2]) for row in table_rows(report, "## Pretraining")}
    assert set(top1) == {"saliencymix", "baseline"} and all(0 <= v <= 100 for v in top1.values())
    maps = {row.split("|")[1].strip(): float(row.split("|")[2]) for row in table_rows(report, "## Detection")}
    assert set(maps) == {"saliencymix", "baseline"} and all(0 <= v <= 100 for v in maps.values())
    assert not re.search(r"\bnan\b|TODO|XXX", report, re.IGNORECASE)
    assert "-m smix_timm.train" in report and "smix_mmdet.mmdet_train" in report and "smix_mmdet.mmdet_test" in report
    pngs = sorted(p for p in os.listdir(out / "pictures") if p.endswith(".png"))
    assert {"training_curves.png", "detections.png"} <= set(pngs) and len(pngs) >= 3
    for name in pngs:
        with Image.open(out / "pictures" / name) as im:
            im.verify()
        assert f"pictures/{name}" in report
    user_file = tmp_path / "results" / ".." / "keep.txt"
    user_file.write_text("mine")
    second = run_demo(out, data)
    assert second.count("reusing the finished result") == 6  # data, 2 pretrain, 2 detect, pictures
    assert user_file.read_text() == "mine"


def _demo_module():
    from smix_lab.demo import runner
    return runner


@needs_det
def test_demo_clears_only_stage_folders_it_made(tmp_path):
    """A stage folder is deleted only when it carries the demo's own mark."""
    demo = _demo_module()
    stage = tmp_path / "train" / "baseline"
    stage.mkdir(parents=True)
    (stage / "notes.txt").write_text("the user's")
    owner = demo.Demo.__new__(demo.Demo)  # own_folder needs no other state
    with pytest.raises(RuntimeError, match="was not made by the demo"):
        owner.own_folder(str(stage))
    assert (stage / "notes.txt").read_text() == "the user's"
    (stage / "notes.txt").unlink()
    owner.own_folder(str(stage))  # empty: taken and marked
    (stage / "last.pth.tar").write_text("old run")
    owner.own_folder(str(stage))  # marked as the demo's: cleared for the rerun
    assert os.listdir(stage) == [demo.OWN_MARK]


@needs_det
def test_demo_reuses_its_voc_data_without_force(tmp_path):
    """The demo's data stage reruns make_voc_data into its own VOCdevkit without --force
    (it used to look for a marker name make_voc_data never wrote); a foreign folder stays refused."""
    demo = _demo_module()
    args = demo.parse_args(["--smallest", "--out", str(tmp_path / "out"), "--data", str(tmp_path / "data")])
    runner = demo.Demo(args)
    runner.make_data()
    runner.make_data()  # second time: the folder is make_voc_data's own
    assert not any("--force" in command for command in runner.commands)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "VOC2007").mkdir()
    args = demo.parse_args(["--smallest", "--out", str(tmp_path / "out2"), "--data", str(tmp_path / "d2"),
                            "--voc-root", str(foreign)])
    assert demo.Demo(args).make_data()["voc_root"] == str(foreign)  # a given VOCdevkit is read, never written


# ------------------------------------------------------------------------------------------ checks before any stage
def test_demo_refuses_gpus_the_machine_does_not_have(monkeypatch, capsys):
    from smix_lab.demo import runner
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    with pytest.raises(SystemExit):
        runner.parse_args(["--gpus", "2"])
    assert "--gpus 2 asks for 2 GPUs but this machine has 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        runner.parse_args(["--gpus", "0"])
    assert runner.parse_args(["--gpus", "1"]).gpus == 1


def test_demo_out_that_is_a_file_is_one_line(tmp_path):
    out = tmp_path / "results"
    out.write_text("a file")
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "demo.py"), "--out", str(out), "--data",
                           str(tmp_path / "data")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1].startswith("demo: error: --out") and out.read_text() == "a file"
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("args", [["--epochs", "0"], ["--det-iters", "-1"], ["--seed", "-1"], ["-b", "7"]])
def test_demo_checks_its_numbers_before_any_stage(args, capsys):
    from smix_lab.demo import runner
    with pytest.raises(SystemExit):
        runner.parse_args(args)
    assert "must be" in capsys.readouterr().err
