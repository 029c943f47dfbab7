"""smix_lab.study: seed-study statistics (stats), the resumable regime selection (regime: baseline and CutMix on
the built-in data), and the five-method study of a frozen plan (plan)."""
import json
import math
import os

import pytest

from smix_lab.study import plan as study
from smix_lab.study import regime
from smix_lab.study.stats import T_975, mean_std, paired_difference

BASELINE_RECIPE = os.path.join(os.path.dirname(__file__), "..", "..", "configs", "timm", "tiny_cpu_baseline.yaml")


def test_mean_std_uses_the_sample_deviation():
    s = mean_std([1.0, 2.0, 3.0, 4.0])
    assert s["mean"] == 2.5 and s["n"] == 4
    assert s["std"] == pytest.approx(math.sqrt(5.0 / 3.0))
    assert mean_std([7.0])["std"] == 0.0
    with pytest.raises(ValueError, match="at least one"):
        mean_std([])


def test_paired_difference_is_a_t_interval_on_the_per_seed_differences():
    # differences 1, 2, 3: mean 2, std 1, t(0.975, 2 df) = 4.303
    d = paired_difference([11.0, 22.0, 33.0], [10.0, 20.0, 30.0])
    assert d["mean"] == pytest.approx(2.0) and d["std"] == pytest.approx(1.0)
    assert d["high"] - d["mean"] == pytest.approx(4.303 / math.sqrt(3))
    assert d["low"] == pytest.approx(2.0 - 4.303 / math.sqrt(3))
    # a shared seed effect cancels: equal differences give a zero-width interval
    same = paired_difference([50.0, 70.0, 90.0], [49.0, 69.0, 89.0])
    assert same["low"] == pytest.approx(1.0) and same["high"] == pytest.approx(1.0)
    one = paired_difference([3.0], [1.0])
    assert one["mean"] == 2.0 and math.isnan(one["low"]) and math.isnan(one["high"])
    with pytest.raises(ValueError, match="equally long"):
        paired_difference([1.0, 2.0], [1.0])
    assert T_975[1] > T_975[5] > T_975[30] > 1.96


def _fake(final, fit=None):
    r = {"final_top1": final, "best_top1": final, "curve": [final], "img_s": 1.0, "wall_s": 1.0}
    if fit is not None:
        r["train_clean_top1"] = fit
    return r


def test_summarise_applies_the_selection_rule():
    name = "c10-n100-e40"
    fits = {name: {"baseline": [_fake(60.0, 99.0), _fake(62.0, 98.0), _fake(61.0, 100.0)],
                   "cutmix": [_fake(66.0), _fake(69.0), _fake(67.0)]}}
    row = regime.summarise(fits)[0]
    assert row["baseline_train"]["mean"] == pytest.approx(99.0)
    assert row["gain"]["mean"] == pytest.approx(19.0 / 3)
    assert row["qualifies"]  # fits, and the gain (6.3) is over twice the larger spread (1.53)
    underfit = {name: {"baseline": [_fake(60.0, 80.0), _fake(62.0, 85.0)], "cutmix": [_fake(70.0), _fake(71.0)]}}
    assert not regime.summarise(underfit)[0]["qualifies"]
    noisy = {name: {"baseline": [_fake(50.0, 99.0), _fake(70.0, 99.0)], "cutmix": [_fake(62.0), _fake(66.0)]}}
    assert not regime.summarise(noisy)[0]["qualifies"]  # gain 4, spread 14
    table = regime.to_markdown(regime.summarise(fits))
    assert "| c10-n100-e40 | cls10-train100-val50-64px | 40 | 3 | 99.00 ± 1.00 |" in table
    assert table.rstrip().endswith("| yes |")


def test_selection_trains_each_run_once_and_continues_where_it_stopped(tmp_path, monkeypatch):
    monkeypatch.setitem(regime.RECIPES, "tiny", regime.Recipe(classes=2, train_per_class=8, epochs=1, size=32,
                                                              val_per_class=4))
    kwargs = dict(recipes=["tiny"], seeds=[0], data_root=str(tmp_path / "data"), output=str(tmp_path / "runs"),
                  config=BASELINE_RECIPE, extra=["-b", "8", "--workers", "0", "--img-size", "32"],
                  stop_underfit=False)  # one epoch does not fit the data; both methods must run here
    lines = []
    first = regime.run(log=lines.append, **kwargs)
    assert lines[0] == "[regime] 1/2: tiny baseline seed 0"
    for method in regime.METHODS:
        (result,) = first["tiny"][method]
        assert 0.0 <= result["final_top1"] <= 100.0 and len(result["curve"]) == 1
        assert 0.0 <= result["train_clean_top1"] <= 100.0  # --eval-train is always on here
    record = tmp_path / "runs" / "tiny" / "cutmix-seed0" / "result.json"
    stamp = os.path.getmtime(record)
    lines.clear()
    again = regime.run(log=lines.append, **kwargs)
    assert again == first and os.path.getmtime(record) == stamp
    assert sum("done before" in line for line in lines) == 2
    # a record of another command (here: one flag fewer) does not count: that run is trained again
    with open(record) as f:
        saved = json.load(f)
    saved["command"] = saved["command"][:-1]
    with open(record, "w") as f:
        json.dump(saved, f)
    lines.clear()
    regime.run(log=lines.append, **kwargs)
    assert sum("done before" in line for line in lines) == 1


# ------------------------------------------------------------------------------------------ the study
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _tiny_plan(tmp_path, transfer_seeds, **run):
    """Two methods, two seeds, one epoch on 2 classes at 64 px (a 2x2 last feature map for the CAM; method
    configs written here); ``run``:
    the plan's optional execution keys (eval_interval, jobs, threads)."""
    import yaml
    base = yaml.safe_load(open(os.path.join(ROOT, "configs", "timm", "tiny_cpu_baseline.yaml")))
    base.update(img_size=64, batch_size=8, validation_batch_size=8, workers=0, warmup_epochs=0)
    methods = {}
    for key, name, extra in (("cutmix", "CutMix", {"cutmix": 1.0}),
                             ("saliencymix", "SaliencyMix", {"saliencymix": 1.0})):
        path = tmp_path / f"{key}.yaml"
        path.write_text(yaml.safe_dump(dict(base, **extra)))
        methods[key] = {"name": name, "config": str(path)}
    plan = {"data": {"classes": 2, "train_per_class": 8, "val_per_class": 4, "size": 64, "seed": 0},
            "voc": {"train": 8, "test": 4, "seed": 0}, "epochs": 1, "seeds": [0, 1], "methods": methods,
            "reference": "cutmix", "transfer": {"seeds": transfer_seeds, "iters": 2,
                                                "config": "configs/mmdet/faster-rcnn_r18_fpn_tiny_voc0712.py"},
            "fgsm_eps": [1, 4], "cam_images": 2, **run}
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan))
    return str(path)


def test_plan_errors_name_the_problem(tmp_path):
    with pytest.raises(study.PlanError, match="not found"):
        study.load_plan(str(tmp_path / "nothing.yaml"))
    path = _tiny_plan(tmp_path, [])
    text = open(path).read()
    (tmp_path / "bad.yaml").write_text(text.replace("reference: cutmix", "reference: mixup"))
    with pytest.raises(study.PlanError, match="reference 'mixup' is not one of the methods"):
        study.load_plan(str(tmp_path / "bad.yaml"))
    (tmp_path / "bad.yaml").write_text(text.replace("epochs: 1\n", "epoch: 1\n"))
    with pytest.raises(study.PlanError, match=r"missing keys \['epochs'\], unknown keys \['epoch'\]"):
        study.load_plan(str(tmp_path / "bad.yaml"))
    os.remove(tmp_path / "cutmix.yaml")
    with pytest.raises(study.PlanError, match="config of method 'cutmix'"):
        study.load_plan(path)


def test_tables_pair_each_method_with_the_reference_by_seed():
    runs = {"cutmix": [{"seed": 0, "x": 50.0}, {"seed": 1, "x": 60.0}, {"seed": 2, "x": 55.0}],
            "smix": [{"seed": 2, "x": 57.0}, {"seed": 0, "x": 51.0}, {"seed": 1, "x": 63.0}]}
    rows = {r["method"]: r for r in study.paired_rows(runs, "cutmix", "x")}
    assert rows["cutmix"]["diff"] is None
    assert rows["smix"]["diff"]["mean"] == pytest.approx(2.0)  # +1, +3, +2 by seed, whatever the order
    text = study.table(runs, "cutmix", "x", {"cutmix": "CutMix", "smix": "SaliencyMix"})
    assert "| SaliencyMix | 3 | 57.00 ± 6.00 | 57.0, 51.0, 63.0 | +2.00 [-0.48, +4.48] |" in text
    assert "| CutMix | 3 | 55.00 ± 5.00 | 50.0, 60.0, 55.0 | — |" in text


def test_study_runs_every_stage_and_continues_where_it_stopped(tmp_path):
    transfer = [] if os.environ.get("SMIX_NO_DET") else [0]
    # two runs side by side, one thread each; two epochs, validation at the second only
    plan = study.load_plan(_tiny_plan(tmp_path, transfer, jobs=2, threads=1, eval_interval=2, epochs=2))
    lines = []
    results = study.Study(plan, str(tmp_path / "out"), str(tmp_path / "data"), log=lines.append).run()
    total = 2 * (2 + len(transfer)) + 2 + 1
    assert f"[study] 1/{total}: classify cutmix seed 0" in lines[:2]
    assert any("min left" in line for line in lines)  # an estimate once a run has finished
    for key in ("cutmix", "saliencymix"):
        assert [r["seed"] for r in results["classify"][key]] == [0, 1]  # in plan order, whichever ended first
        assert [r["curve_epochs"] for r in results["classify"][key]] == [[2], [2]]
        record = json.load(open(tmp_path / "out" / "classify" / f"{key}-seed0" / "result.json"))
        assert record["command"][-2:] == ["--eval-interval", "2"]
        assert [r["seed"] for r in results["fgsm"][key]] == [0, 1]
        assert set(results["fgsm"][key][0]) == {"seed", "clean", "eps 1", "eps 4"}
        assert len(results["transfer"][key]) == len(transfer)
        for r in results["transfer"][key]:
            assert 0.0 <= r["mAP"] <= 100.0
    assert os.path.isfile(results["cam_png"])
    text = study.report(results, str(tmp_path / "out"))
    assert "| CutMix | 2 |" in text and "curves.png" in text and os.path.isfile(tmp_path / "out" / "curves.png")
    assert ("## Transfer" in text) == bool(transfer) and "eps 4:" in text
    # a second call reads every run back (only the CAM picture is drawn again)
    lines.clear()
    again = study.Study(plan, str(tmp_path / "out"), str(tmp_path / "data"), log=lines.append).run()
    assert again["classify"] == results["classify"] and again["fgsm"] == results["fgsm"]
    assert not any("min left" in line for line in lines[:-1])


def test_only_retrains_one_run_and_sets_it_beside_the_study(tmp_path):
    plan = study.load_plan(_tiny_plan(tmp_path, [0]))
    with pytest.raises(study.PlanError, match="the plan's methods are"):
        study.only_run(plan, "mixup", 0)
    one = study.only_run(plan, "saliencymix", 1)
    assert list(one["methods"]) == ["saliencymix"] and one["seeds"] == [1] and one["reference"] == "saliencymix"
    assert one["transfer"]["seeds"] == [] and one["fgsm_eps"] == [] and one["cam_images"] == 0
    results = study.Study(one, str(tmp_path / "check"), str(tmp_path / "data"), log=lambda m: None).run()
    assert results["cam_png"] is None and results["fgsm"] == {"saliencymix": []}
    run = results["classify"]["saliencymix"][0]
    folder = tmp_path / "study" / "classify" / "saliencymix-seed1"
    folder.mkdir(parents=True)
    (folder / "result.json").write_text(json.dumps({"command": [], "result": dict(run, final_top1=12.5)}))
    line = study.compare_with_study(results, str(tmp_path / "study"))
    assert line == (f"saliencymix seed 1: final top-1 {run['final_top1']:.2f}, best {run['best_top1']:.2f}; "
                    f"the study has 12.50, {run['best_top1']:.2f} (the same validation curve over 1 scored epochs)")
    (folder / "result.json").write_text(json.dumps({"command": [], "result": dict(run, curve=[-1.0])}))
    assert "(a different validation curve" in study.compare_with_study(results, str(tmp_path / "study"))
    assert "does not exist (the study has not finished" in study.compare_with_study(results, str(tmp_path))


def test_plan_execution_keys_are_checked(tmp_path):
    plan = study.load_plan(_tiny_plan(tmp_path, []))
    assert (plan["jobs"], plan["threads"], plan["eval_interval"]) == (1, 0, 1)  # the defaults
    with pytest.raises(study.PlanError, match="jobs must be an integer >= 1, got 0"):
        study.load_plan(_tiny_plan(tmp_path, [], jobs=0))
    with pytest.raises(study.PlanError, match="eval_interval must be an integer >= 1"):
        study.load_plan(_tiny_plan(tmp_path, [], eval_interval="5"))


def test_run_study_tool_refuses_a_bad_plan(tmp_path):
    import subprocess
    import sys
    done = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "benchmarks", "run_study.py"), "--plan",
                           str(tmp_path / "none.yaml")], capture_output=True, text=True)
    assert done.returncode == 1 and "run_study: error: study plan" in done.stderr
    tool = os.path.join(ROOT, "tools", "benchmarks", "run_study.py")
    for only, out, message in (("cutmix", "x", "--only takes METHOD:SEED"),
                               ("cutmix:0", "results/study", "give it another --out")):
        done = subprocess.run([sys.executable, tool, "--only", only, "--out", out], capture_output=True, text=True,
                              cwd=ROOT)
        assert done.returncode == 1 and message in done.stderr


def test_a_recipe_whose_baseline_does_not_fit_is_dropped_at_once(tmp_path, monkeypatch):
    monkeypatch.setattr(regime, "make_cls_data", lambda *a, **k: None)
    trained = []

    def fake_train_once(variant, flags, seed, args, out, log, reuse=False):
        trained.append((os.path.basename(out), variant, seed))
        fits = 99.0 if "c10-n50" in out else 80.0
        return _fake(70.0 if variant == "CutMix" else 60.0, fits if variant != "CutMix" else None)

    monkeypatch.setattr(regime, "train_once", fake_train_once)
    lines = []
    results = regime.run(["c10-n100-e40", "c10-n50-e60"], [0, 1], str(tmp_path), str(tmp_path), "cfg", [],
                         log=lines.append)
    assert trained == [("c10-n100-e40", "baseline (no mixing)", 0), ("c10-n50-e60", "baseline (no mixing)", 0),
                       ("c10-n50-e60", "CutMix", 0), ("c10-n50-e60", "baseline (no mixing)", 1),
                       ("c10-n50-e60", "CutMix", 1)]
    assert sum("skipped, the baseline does not fit" in line for line in lines) == 3
    rows = {r["recipe"]: r for r in regime.summarise(results)}
    assert rows["c10-n100-e40"]["gain"] is None and not rows["c10-n100-e40"]["qualifies"]
    assert rows["c10-n50-e60"]["qualifies"]  # fits 99 %, gain +10 with no spread
    table = regime.to_markdown(list(rows.values()))
    assert "| not run | not run | — (the baseline does not fit) | no |" in table


def test_the_frozen_plan_loads_and_its_methods_differ_only_in_mixing():
    import yaml
    plan = study.load_plan(os.path.join(ROOT, "configs", "study", "study.yaml"))
    assert len(plan["seeds"]) >= 5 and len(plan["methods"]) == 5 and len(plan["transfer"]["seeds"]) >= 3
    configs = {key: yaml.safe_load(open(m["config"])) for key, m in plan["methods"].items()}
    mixing = {"cutmix", "saliencymix", "saliency_official", "saliency_method", "saliency_per", "mixup_prob"}
    rest = [{k: v for k, v in c.items() if k not in mixing} for c in configs.values()]
    assert all(r == rest[0] for r in rest)
    assert rest[0]["epochs"] == plan["epochs"] and rest[0]["img_size"] == plan["data"]["size"]
    assert configs["saliencymix_ft"]["saliency_method"] == "frequency_tuned"
    assert configs["official"]["saliency_official"] is True and "cutmix" not in configs["saliencymix"]
