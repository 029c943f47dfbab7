"""The benchmark tools run, and the fidelity figures are deterministic for a seed (no timing asserts).

The logic is imported from smix_lab.bench; the scripts in tools/ are run as programs.
"""
import json
import os
import subprocess
import sys

import pytest

from smix_lab.bench import fidelity as benchmark_fidelity
from smix_lab.bench import speed

TOOLS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "tools")


def run_tool(name, *args):
    """Run tools/<name>.py as a program; its stdout, or the failure with both streams."""
    done = subprocess.run([sys.executable, os.path.join(TOOLS, name), *args], capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


def test_fidelity_is_deterministic_and_sane(tmp_path):
    a = benchmark_fidelity.run(str(tmp_path / "data"), seed=3, samples=64, batch=16, size=48, log=None)
    b = benchmark_fidelity.run(str(tmp_path / "data"), seed=3, samples=64, batch=16, size=48, log=None)
    assert a == b
    assert set(a) == set(benchmark_fidelity.METHODS)
    for name, r in a.items():
        assert r["n"] > 0, name
        for key in ("hit", "backed", "carried", "occluded"):
            assert 0.0 <= r[key] <= 1.0
        assert r["backed"] <= r["hit"]
    table = benchmark_fidelity.to_markdown(a)
    assert table.count("\n") == len(a) + 1 and "official-code preset" in table


def test_speed_benchmark_runs_and_checks_exactness(tmp_path):
    out = tmp_path / "bench.json"
    printed = run_tool("benchmarks/benchmark_saliency.py", "--batch", "4", "--size", "48", "--repeat", "1",
                       "--json", str(out))
    results = json.loads(out.read_text())
    assert "fine_grained torch == OpenCV on this batch: True" in printed
    assert results["detectors"]["fine_grained torch (fused C kernel)"]["img_s"] > 0
    assert results["mixing"]["SaliencyMix per-sample"]["vs_cutmix"] == pytest.approx(
        results["mixing"]["SaliencyMix per-sample"]["ms"] / results["mixing"]["timm Mixup (CutMix)"]["ms"])


def test_accuracy_benchmark_trains_the_chosen_variants(tmp_path):
    out = tmp_path / "acc.json"
    table = run_tool("benchmarks/benchmark_accuracy.py", "--data-dir", str(tmp_path / "data"),
                     "--output", str(tmp_path / "runs"),
                     "--variants", "cutmix", "saliencymix", "--seeds", "0", "--epochs", "1",
                     "--num-classes", "2", "--train-per-class", "8", "--val-per-class", "4", "--size", "64",
                     "--json", str(out), "--", "-b", "8", "--workers", "0")
    results = json.loads(out.read_text())
    assert list(results) == ["CutMix", "SaliencyMix (per-sample, fine_grained)"]
    for runs in results.values():
        assert len(runs) == 1 and 0 <= runs[0]["final_top1"] <= 100 and runs[0]["img_s"] > 0
    assert "| CutMix | 1 |" in table and "| 1.00x |" in table
    assert sorted(os.listdir(tmp_path / "runs")) == ["cutmix-seed0", "saliencymix-per-sample-fine-grained-seed0"]


def test_loader_benchmark_runs_timms_loader_on_generated_jpegs(tmp_path):
    from PIL import Image

    from smix_lab.bench.photos import write_jpeg_folder
    data = tmp_path / "photos"
    printed = run_tool("benchmarks/benchmark_loader.py", "--data", str(data), "--images", "24", "--batch", "4",
                       "--workers", "0",
                       "--rounds", "1", "--passes", "1", "--json", str(tmp_path / "loader.json"))
    results = json.loads((tmp_path / "loader.json").read_text())
    files = sorted(data.rglob("*.jpg"))
    assert len(files) == 24 and max(Image.open(files[0]).size) == 500
    collates = results["collates"]
    assert set(collates) == {"no mixing (timm fast_collate)", "timm FastCollateMixup (CutMix)",
                             "FastCollateSaliencyMix"}
    assert collates["timm FastCollateMixup (CutMix)"]["median_ratio"] == 1.0
    assert all(c["median"] > 0 for c in collates.values())
    assert "FastCollateSaliencyMix" in printed
    costs = results["worker_costs_ms"]
    assert {"samples (decode, crop, flip)", "timm FastCollateMixup (CutMix)", "FastCollateSaliencyMix",
            "batch assembly, torch.stack", "batch assembly, ours (numpy.stack + C)",
            "fine_grained kernel (peaks only)"} <= set(costs)
    assert all(value > 0 for value in costs.values())
    assert "expected images/s ratio" in printed
    stamp = files[0].stat().st_mtime_ns
    assert write_jpeg_folder(str(data), 24) == 24 and files[0].stat().st_mtime_ns == stamp  # reused, not rewritten
    (data / "mine.txt").write_text("a user's file")
    with pytest.raises(FileExistsError, match="not made by this generator"):
        write_jpeg_folder(str(data), 24)


def test_device_rows_run_on_cpu_too():
    """The CUDA section of benchmark_saliency, exercised on the CPU at a tiny size (no timing asserted)."""
    import torch
    rows = speed.device_rows(torch.device("cpu"), 2, 32, 1, "resnet18")
    assert rows["fine_grained == CPU kernel"] is True
    assert rows["train step ms"] > 0 and rows["saliencymix ms"] > 0


def test_small_image_loader_benchmark_runs_timms_loader_on_in_memory_images(tmp_path):
    out = tmp_path / "small.json"
    printed = run_tool("benchmarks/benchmark_small_loader.py", "--sizes", "16:8", "--batches", "2", "--rounds", "1",
                       "--passes", "1", "--cost-repeats", "1", "--workers", "0", "--json", str(out))
    results = json.loads(out.read_text())["sizes"]["16:8"]
    assert results["images"] == 16 and results["collates"]["timm FastCollateMixup (CutMix)"]["median_ratio"] == 1.0
    costs = results["worker_costs_ms"]
    assert {"samples (pad, crop, flip)", "FastCollateSaliencyMix", "fine_grained kernel (peaks only)",
            "expected_ratio"} <= set(costs)
    assert "== 16 images of 16x16 in memory, batch 8" in printed and "FastCollateSaliencyMix" in printed


def test_compare_with_checkout_times_both_trees(tmp_path):
    printed = run_tool("benchmarks/compare_with_checkout.py", os.path.dirname(TOOLS), "--rounds", "1",
                       "--repeat", "1")
    assert "256x32: ms, best of 1" in printed and "128x64: ms, best of 1" in printed
    assert printed.count("SaliencyMix call") == 2 and printed.count("->") >= 18
