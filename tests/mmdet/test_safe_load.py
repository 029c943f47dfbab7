"""torch >= 2.6 weights_only: our allow-list loads mmengine and timm
checkpoints, and still refuses everything else."""
import os
import pickle
import subprocess
import sys
import textwrap

import pytest
import torch
from torch import nn

from smix_mmdet import CheckpointReadError, load_checkpoint_file
from smix_mmdet.safe_load import allowed_global_names, safe_globals_list
from tests._mmdet_testlib import REPO, write_timm_checkpoint


class ToyModel(nn.Module):
    pass


def _toy_runner(work_dir, max_epochs, **kwargs):
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Toy(BaseModel):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(2, 1)
            self.bn = nn.BatchNorm1d(1)

        def forward(self, inputs, data_samples=None, mode="tensor"):
            x = inputs if torch.is_tensor(inputs) else torch.stack(inputs)
            y = self.bn(self.linear(x))
            if mode == "loss":
                return dict(loss=(y**2).mean())
            return y

    class Data(torch.utils.data.Dataset):
        metainfo = dict(classes=("a", "b"), palette=[(1, 2, 3)])

        def __len__(self):
            return 8

        def __getitem__(self, i):
            return dict(inputs=torch.full((2, ), float(i)))

    return Runner(
        model=Toy(), work_dir=str(work_dir),
        train_dataloader=dict(dataset=Data(),
                              sampler=dict(type="DefaultSampler"),
                              batch_size=2,
                              collate_fn=dict(type="default_collate")),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01,
                                          momentum=0.9)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        param_scheduler=[
            dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0,
                 end=3),
            dict(type="MultiStepLR", milestones=[1], by_epoch=True)
        ],
        default_hooks=dict(checkpoint=dict(type="CheckpointHook",
                                           interval=1)),
        default_scope="mmengine", **kwargs)


@pytest.fixture(scope="module")
def mmengine_ckpt(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp("mmengine")
    _toy_runner(work_dir, max_epochs=2).train()
    path = work_dir / "epoch_2.pth"
    assert path.is_file()
    return path


def test_mmengine_checkpoint_loads_with_default_torch_load(mmengine_ckpt):
    ckpt = torch.load(str(mmengine_ckpt))  # weights_only=True by default
    assert {"meta", "state_dict", "message_hub", "optimizer",
            "param_schedulers"} <= set(ckpt)
    buffers = ckpt["message_hub"]["log_scalars"]
    assert buffers["train/loss"].mean() > 0  # HistoryBuffer works


def test_resume_and_load_from(mmengine_ckpt, tmp_path):
    from mmengine.runner import load_checkpoint
    runner = _toy_runner(tmp_path, max_epochs=3, load_from=str(mmengine_ckpt),
                         resume=True)
    runner.train()
    assert runner.epoch == 3
    assert (tmp_path / "epoch_3.pth").is_file()
    assert not (tmp_path / "epoch_1.pth").exists()  # resumed at epoch 2
    model = nn.Sequential()
    model.linear = nn.Linear(2, 1)
    model.bn = nn.BatchNorm1d(1)
    load_checkpoint(model, str(tmp_path / "epoch_3.pth"))


def test_timm_checkpoint_with_args_loads(tmp_path):
    path, _ = write_timm_checkpoint(tmp_path, "resnet18", ema=True, args=True)
    ckpt = torch.load(path)
    assert ckpt["args"].model == "resnet18"
    assert ckpt["args"].decay_milestones == [90, 180]


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned", ))


class GetattrEscape:
    def __reduce__(self):  # getattr('', '__class__') -> str: a step to object
        return (getattr, ("", "__class__"))


@pytest.mark.parametrize("obj", [Evil(), GetattrEscape(), ToyModel(),
                                 {"x": __import__("fractions").Fraction(1, 3)}])
def test_other_classes_are_still_refused(tmp_path, obj):
    path = tmp_path / "other.pth"
    torch.save({"payload": obj}, str(path))
    with pytest.raises(pickle.UnpicklingError):
        torch.load(str(path))
    with pytest.raises(CheckpointReadError, match="allow-list"):
        load_checkpoint_file(path)


def test_weights_only_not_switched_off():
    assert "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD" not in os.environ
    assert all(item is not getattr for item in safe_globals_list())
    names = allowed_global_names()
    assert "argparse.Namespace" in names and "builtins.getattr" in names
    assert "mmengine.logging.history_buffer.HistoryBuffer" in names


def test_fix_comes_from_importing_smix_mmdet(mmengine_ckpt, tmp_path):
    """In a fresh interpreter the load fails until smix_mmdet is imported."""
    timm_path, _ = write_timm_checkpoint(tmp_path, "resnet18", ema=False)
    script = textwrap.dedent(f"""
        import pickle, torch
        for p in ({str(mmengine_ckpt)!r}, {timm_path!r}):
            try:
                torch.load(p)
            except pickle.UnpicklingError:
                print('refused before import')
        import smix_mmdet
        for p in ({str(mmengine_ckpt)!r}, {timm_path!r}):
            torch.load(p)
            print('loaded after import')
    """)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True,
                         text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.count("refused before import") == 2
    assert out.stdout.count("loaded after import") == 2
