"""Every shipped config builds, and the options the docs promise work."""
import os

import pytest
import torch

from tests._mmdet_testlib import CONFIG_DIR, CONFIGS, build_model, load_config

EXPECTED = {
    "faster-rcnn_r50_fpn_smix_voc0712.py",
    "faster-rcnn_r50_fpn_baseline_voc0712.py",
    "faster-rcnn_r50_fpn_smix_41k_voc0712.py",
    "faster-rcnn_r50_fpn_baseline_41k_voc0712.py",
    "faster-rcnn_r101_fpn_smix_41k_voc0712.py",
    "faster-rcnn_r101_fpn_baseline_41k_voc0712.py",
    "faster-rcnn_r18_fpn_tiny_voc0712.py",
    "faster-rcnn_timm_fpn_smix_voc0712.py",
    "faster-rcnn_timm_fpn_tiny_voc0712.py",
}


def test_config_set():
    assert {os.path.basename(c) for c in CONFIGS} == EXPECTED


def _data_roots(cfg):
    """data_root of every dataset the train/val/test loaders build."""
    roots = []

    def walk(ds):
        if "datasets" in ds:
            for d in ds["datasets"]:
                walk(d)
        elif "dataset" in ds:
            walk(ds["dataset"])
        else:
            roots.append(ds["data_root"])

    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        walk(cfg[loader]["dataset"])
    return roots


@pytest.mark.parametrize("config", CONFIGS, ids=os.path.basename)
def test_config_builds(config, tmp_path):
    ckpt = str(tmp_path / "x.pth.tar")
    cfg = load_config(config, checkpoint=ckpt)
    assert cfg.custom_imports == dict(imports=["smix_mmdet"],
                                      allow_failed_imports=False)
    init = cfg.model.backbone.init_cfg
    assert init.type == "TimmPretrained" and init.checkpoint == ckpt
    assert init.use_ema is True
    model = build_model(cfg)
    assert model.roi_head.bbox_head.num_classes == 20
    model.eval()  # (mmdet's ResNet.train() returns None, so not chained)
    with torch.no_grad():
        feats = model.backbone(torch.zeros(1, 3, 64, 64))
    assert [f.shape[1] for f in feats] == list(model.neck.in_channels)
    assert [64 // f.shape[-1] for f in feats] == [4, 8, 16, 32]
    roots = _data_roots(cfg)
    assert len(roots) == 4 and set(roots) == {"data/VOCdevkit/"}
    assert cfg.val_evaluator.type == "VOCMetric"
    assert cfg.val_evaluator.eval_mode == "11points"
    assert cfg.test_dataloader.dataset.ann_file == \
        "VOC2007/ImageSets/Main/test.txt"


@pytest.mark.parametrize("config", CONFIGS, ids=os.path.basename)
def test_data_root_from_environment(config, monkeypatch):
    monkeypatch.setenv("SMIX_VOC_ROOT", "/datasets/VOCdevkit/")
    roots = _data_roots(load_config(config))
    assert len(roots) == 4 and set(roots) == {"/datasets/VOCdevkit/"}


def _flatten(d, prefix=""):
    out = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}{k}."))
    elif isinstance(d, (list, tuple)):
        for i, v in enumerate(d):
            out.update(_flatten(v, f"{prefix}{i}."))
    else:
        out[prefix[:-1]] = d
    return out


@pytest.mark.parametrize("smix,baseline", [
    ("faster-rcnn_r50_fpn_smix_voc0712.py",
     "faster-rcnn_r50_fpn_baseline_voc0712.py"),
    ("faster-rcnn_r50_fpn_smix_41k_voc0712.py",
     "faster-rcnn_r50_fpn_baseline_41k_voc0712.py"),
    ("faster-rcnn_r101_fpn_smix_41k_voc0712.py",
     "faster-rcnn_r101_fpn_baseline_41k_voc0712.py"),
])
def test_baseline_twin_differs_only_in_checkpoint(smix, baseline):
    a = _flatten(load_config(str(CONFIG_DIR / smix)).to_dict())
    b = _flatten(load_config(str(CONFIG_DIR / baseline)).to_dict())
    diff = {k for k in set(a) | set(b) if a.get(k) != b.get(k)}
    assert diff == {"model.backbone.init_cfg.checkpoint"}
    assert "smix" in a["model.backbone.init_cfg.checkpoint"]
    assert "baseline" in b["model.backbone.init_cfg.checkpoint"]


@pytest.mark.parametrize("name,depth", [
    ("faster-rcnn_r50_fpn_smix_41k_voc0712.py", 50),
    ("faster-rcnn_r101_fpn_smix_41k_voc0712.py", 101)])
def test_paper_protocol(name, depth):
    cfg = load_config(str(CONFIG_DIR / name))
    assert cfg.model.backbone.depth == depth
    assert cfg.train_dataloader.batch_size == 8
    assert cfg.optim_wrapper.optimizer.lr == 0.004
    assert cfg.train_cfg.type == "IterBasedTrainLoop"
    assert cfg.train_cfg.max_iters == 41000
    step = [s for s in cfg.param_scheduler if s.type == "MultiStepLR"][0]
    assert step.milestones == [33000] and step.gamma == 0.1
    assert step.by_epoch is False and step.end == 41000
    assert cfg.train_dataloader.sampler.type == "InfiniteSampler"
    assert cfg.auto_scale_lr.base_batch_size == 8


def test_standard_schedule_is_mmdets():
    cfg = load_config(str(CONFIG_DIR / "faster-rcnn_r50_fpn_smix_voc0712.py"))
    assert cfg.train_cfg.type == "EpochBasedTrainLoop"
    assert cfg.train_cfg.max_epochs == 4
    assert cfg.train_dataloader.dataset.type == "RepeatDataset"
    assert cfg.train_dataloader.dataset.times == 3
    assert cfg.optim_wrapper.optimizer.lr == 0.01
    assert cfg.model.backbone.depth == 50


def test_tiny_config_is_cpu_friendly():
    cfg = load_config(str(CONFIG_DIR / "faster-rcnn_r18_fpn_tiny_voc0712.py"))
    assert cfg.model.backbone.depth == 18
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        assert cfg[loader].num_workers == 0
        assert cfg[loader].persistent_workers is False
    scales = [t.scale for t in cfg.train_dataloader.dataset.datasets[0]
              .pipeline if t.type == "Resize"]
    assert scales == [(160, 160)]
    assert cfg.train_cfg.max_iters <= 500
