"""Shared helpers of the detection-side tests (tests/mmdet/): timm checkpoints and configs."""
from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional, Tuple

import pytest

if os.environ.get("SMIX_NO_DET"):
    pytest.skip("detection side not installed (SMIX_NO_DET set)",
                allow_module_level=True)

import timm  # noqa: E402
import torch  # noqa: E402
from timm.utils import CheckpointSaver, ModelEmaV3  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO / "configs" / "mmdet"
CONFIGS = sorted(glob.glob(str(CONFIG_DIR / "*.py")))
TINY = str(CONFIG_DIR / "faster-rcnn_r18_fpn_tiny_voc0712.py")
R50 = str(CONFIG_DIR / "faster-rcnn_r50_fpn_smix_voc0712.py")
TIMM_CFG = str(CONFIG_DIR / "faster-rcnn_timm_fpn_smix_voc0712.py")
TIMM_TINY = str(CONFIG_DIR / "faster-rcnn_timm_fpn_tiny_voc0712.py")


def write_timm_checkpoint(
        out_dir: Path,
        model_name: str,
        ema: bool = True,
        args: bool = True,
        seed: int = 0) -> Tuple[str, Dict[str, Dict[str, torch.Tensor]]]:
    """Write ``model_best.pth.tar`` with timm's own ``CheckpointSaver``.

    The model is perturbed after the EMA copy is taken and the EMA updated
    once, so ``state_dict`` and ``state_dict_ema`` differ in every float
    tensor. Returns (path, {'state_dict': ..., 'state_dict_ema': ...}).
    """
    torch.manual_seed(seed)
    model = timm.create_model(model_name, pretrained=False, num_classes=10)
    model_ema = ModelEmaV3(model, decay=0.5) if ema else None
    with torch.no_grad():  # small, zero-mean changes: a trainable model
        for name, t in list(model.named_parameters()) + list(
                model.named_buffers()):
            if name.endswith("running_var"):
                t.mul_(1 + 0.1 * torch.rand_like(t))
            elif t.is_floating_point():
                t.add_(torch.randn_like(t) * 0.01)
            else:
                t.add_(3)
    if model_ema is not None:
        model_ema.update(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    namespace = argparse.Namespace(
        model=model_name, lr=0.1, epochs=1, saliencymix=1.0,
        mean=(0.485, 0.456, 0.406), crop_pct=None, aa=None,
        data_dir="data/smix", decay_milestones=[90, 180], model_ema=ema)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    saver = CheckpointSaver(
        model=model, optimizer=optimizer,
        args=namespace if args else None, model_ema=model_ema,
        checkpoint_dir=str(out_dir), recovery_dir=str(out_dir),
        max_history=1)
    saver.save_checkpoint(epoch=0, metric=12.5)
    path = out_dir / "model_best.pth.tar"
    assert path.is_file(), sorted(os.listdir(out_dir))
    expected = {
        "state_dict": {k: v.clone() for k, v in model.state_dict().items()}
    }
    if model_ema is not None:
        expected["state_dict_ema"] = {
            k: v.clone() for k, v in model_ema.module.state_dict().items()
        }
    return str(path), expected


def save_raw(path: Path, obj) -> str:
    torch.save(obj, str(path))
    return str(path)


def load_config(path: str, checkpoint: Optional[str] = None, **options):
    """mmengine Config with ``--cfg-options``-style overrides applied."""
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    opts = dict(options)
    if checkpoint is not None:
        opts["model.backbone.init_cfg.checkpoint"] = checkpoint
    if opts:
        cfg.merge_from_dict(opts)
    return cfg


def build_model(cfg, part=None):
    """``MODELS.build(cfg.model)`` (or ``cfg.model[part]``) in mmdet's scope.
    """
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    return MODELS.build(cfg.model if part is None else cfg.model[part])


def run_tool(args, cwd, env_extra=None, timeout=600):
    """Run ``python tools/...`` in a subprocess; return CompletedProcess."""
    env = dict(os.environ)
    env.update(env_extra or {})
    env.setdefault("OMP_NUM_THREADS", "2")
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)
