"""The GPU check's parts run without a GPU: the script parses, its speed rows run on the CPU, the
throughput benchmark interleaves its runs and computes per-round ratios (no timing asserted)."""
import json
import os
import subprocess
import sys

from smix_lab.bench import throughput

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_gpu_check_script_is_valid_bash():
    done = subprocess.run(["bash", "-n", os.path.join(ROOT, "tools", "benchmarks", "gpu_check.sh")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_gpu_rows_say_there_is_no_cuda_and_run_on_the_cpu(tmp_path):
    out = tmp_path / "rows.json"
    done = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "benchmarks", "gpu_rows.py"), "--sizes", "16",
                           "--cpu-batch", "2", "--repeat", "1", "--json", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads(out.read_text())
    import torch
    if not torch.cuda.is_available():
        assert "no CUDA device" in done.stdout and rows["device"] == "cpu"
    row = rows["rows"]["16"]
    assert row["fine_grained == CPU kernel"] is True and row["saliencymix torch ops"] > 0
    assert {"cutmix ms", "cutmix per-sample ms", "saliencymix ms", "train step ms"} <= set(row)


def test_throughput_runs_are_interleaved_and_ratios_taken_per_round(monkeypatch, tmp_path):
    calls = []

    def fake_train_once(name, flags, seed, args, out_dir, log):
        calls.append((seed, name))
        rate = 100.0 + seed if name.startswith("CutMix") else 90.0 + 2 * seed
        return {"img_s": rate}

    monkeypatch.setattr(throughput, "train_once", fake_train_once)
    results = throughput.train_throughput("cfg.yaml", "data", str(tmp_path), rounds=2, epochs=1, extra=[],
                                          log=lambda line: None)
    assert [seed for seed, _ in calls] == [0, 0, 0, 0, 1, 1, 1, 1]  # each round runs everything before the next
    assert calls[1] == (0, "SaliencyMix (per-sample, fine_grained) prefetcher")
    smix = results["no-prefetcher"]["SaliencyMix (per-sample, fine_grained)"]
    assert smix["ratio_to_cutmix"] == [0.9, 92.0 / 101.0] and smix["median"] == 91.0
    table = throughput.to_markdown(results)
    assert "| no-prefetcher | CutMix | 100.5 | 1.000x |" in table
