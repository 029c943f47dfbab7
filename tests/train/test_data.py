"""smix_timm.train.data: the datasets tools/train.py builds: a dataset kind whose package is missing is named
before anything runs, and --train-pad replaces timm's random crop."""
import pytest
import torch

from smix_lab.data import classification as mcd
from smix_timm.train.data import replace_crop_with_pad


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("train") / "cls")
    mcd.make_cls_data(root, seed=0, num_classes=4, train_per_class=8, val_per_class=4, size=32, log=None)
    return root


@pytest.mark.parametrize("kind, match", [
    ("bogus/x", "has no prefix timm knows"),
    ("tfds/cifar10", "needs the tensorflow_datasets package"),
    ("wds/x", "needs the webdataset package"),
])
def test_dataset_prefix_unknown_or_without_its_package_is_one_line(kind, match, monkeypatch):
    import importlib.util as util

    from smix_timm.train.data import check_dataset_kind
    from smix_timm.train.errors import UsageError
    real = util.find_spec
    monkeypatch.setattr(util, "find_spec", lambda name, *a: None if name in ("tensorflow_datasets", "webdataset")
                        else real(name, *a))
    with pytest.raises(UsageError, match=match):
        check_dataset_kind(kind)
    check_dataset_kind("")  # image folders
    check_dataset_kind("torch/cifar10")


@pytest.mark.parametrize("crop_mode", [None, "rkrr"])
def test_train_pad_replaces_random_crop(data, crop_mode):
    from timm.data import create_dataset, create_loader
    from torchvision import transforms
    ds = create_dataset("", root=data, split="train")
    loader = create_loader(ds, input_size=(3, 32, 32), batch_size=8, is_training=True, train_crop_mode=crop_mode,
                           device=torch.device("cpu"), num_workers=0)
    replace_crop_with_pad(loader, 4, (3, 32, 32))
    tfs = loader.dataset.transform.transforms
    assert isinstance(tfs[0], transforms.RandomCrop) and tfs[0].padding == 4 and tfs[0].size == (32, 32)
    assert not any("Resize" in type(t).__name__ for t in tfs)
    x, _ = next(iter(loader))
    assert x.shape == (8, 3, 32, 32)
