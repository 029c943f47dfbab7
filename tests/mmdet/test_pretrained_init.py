"""smix_mmdet.pretrained_init (init_cfg type TimmPretrained): timm train.py checkpoints into the shipped configs'
ResNet backbones, all or nothing, with errors that name the tensor and the fix."""
import pytest
import torch

from smix_mmdet import BackboneCoverageError, CheckpointError, TimmPretrainedInit, read_timm_checkpoint
from tests._mmdet_testlib import R50, TINY, build_model, load_config, save_raw, write_timm_checkpoint


def assert_backbone_equals(backbone, expected):
    """Every backbone tensor equals the checkpoint tensor of the same name."""
    state = backbone.state_dict()
    assert set(state) == {k for k in expected if not k.startswith("fc.")}
    for name, tensor in state.items():
        assert torch.equal(tensor, expected[name]), name


@pytest.mark.parametrize("ema", [True, False])
@pytest.mark.parametrize("args", [True, False])
def test_resnet18_into_tiny_detector(r18_ckpts, ema, args):
    """The whole detector's init_weights() puts the weights in place."""
    path, expected = r18_ckpts[(ema, args)]
    model = build_model(load_config(TINY, checkpoint=path))
    model.init_weights()
    key = "state_dict_ema" if ema else "state_dict"
    assert_backbone_equals(model.backbone, expected[key])
    if ema:  # the EMA really differs from the raw weights
        assert not torch.equal(expected["state_dict"]["conv1.weight"],
                               expected["state_dict_ema"]["conv1.weight"])


def test_use_ema_false_takes_state_dict(r18_ckpts):
    path, expected = r18_ckpts[(True, True)]
    cfg = load_config(TINY, checkpoint=path,
                      **{"model.backbone.init_cfg.use_ema": False})
    model = build_model(cfg)
    model.init_weights()
    assert_backbone_equals(model.backbone, expected["state_dict"])


def config_backbone(config, checkpoint=None, **options):
    """Only ``cfg.model.backbone`` of a shipped config, built by mmdet."""
    cfg = load_config(config, checkpoint=checkpoint, **options)
    return build_model(cfg, "backbone")


@pytest.fixture(scope="module")
def r50_ckpt(tmp_path_factory):
    return write_timm_checkpoint(tmp_path_factory.mktemp("r50"), "resnet50",
                                 ema=True, args=True)


@pytest.mark.parametrize("ema", [True, False])
@pytest.mark.parametrize("args", [True, False])
def test_resnet50_into_r50_config(r50_ckpt, tmp_path, ema, args):
    """timm's saver wrote EMA + args; it omits those keys when a run has
    neither, which is what the variants here do (one resnet50 written, not
    four: it keeps the suite fast)."""
    path, expected = r50_ckpt
    if not (ema and args):
        raw = torch.load(path)
        for key, keep in (("state_dict_ema", ema), ("args", args)):
            if not keep:
                del raw[key]
        path = save_raw(tmp_path / "variant.pth.tar", raw)
    # default use_ema=True: EMA when present, else state_dict; and
    # use_ema=False always state_dict
    for use_ema in ((True, False) if ema and args else (True, )):
        backbone = config_backbone(
            R50, path, **{"model.backbone.init_cfg.use_ema": use_ema})
        backbone.init_weights()
        key = "state_dict_ema" if ema and use_ema else "state_dict"
        assert_backbone_equals(backbone, expected[key])


@pytest.mark.parametrize("prefix", ["module.", "_orig_mod.",
                                    "module._orig_mod."])
def test_wrapper_prefixes_are_stripped(r18_ckpts, tmp_path, prefix):
    _, expected = r18_ckpts[(True, True)]
    raw = {
        "state_dict": {prefix + k: v for k, v in
                       expected["state_dict"].items()},
        "state_dict_ema": {"module." + k: v for k, v in
                           expected["state_dict_ema"].items()},
        "arch": "resnet18", "epoch": 3,
    }
    path = save_raw(tmp_path / "ddp.pth.tar", raw)
    for use_ema, key in ((False, "state_dict"), (True, "state_dict_ema")):
        backbone = config_backbone(
            TINY, path, **{"model.backbone.init_cfg.use_ema": use_ema})
        backbone.init_weights()
        assert_backbone_equals(backbone, expected[key])


def test_bare_state_dict(r18_ckpts, tmp_path):
    _, expected = r18_ckpts[(False, False)]
    path = save_raw(tmp_path / "bare.pth", expected["state_dict"])
    ckpt = read_timm_checkpoint(path)
    assert ckpt.source == "bare state dict"
    assert set(ckpt.head) == {"fc.weight", "fc.bias"}
    backbone = config_backbone(TINY, path)
    backbone.init_weights()
    assert_backbone_equals(backbone, expected["state_dict"])


def test_reader_reports_what_it_read(r18_ckpts):
    path, _ = r18_ckpts[(True, True)]
    ckpt = read_timm_checkpoint(path)
    assert ckpt.source == "state_dict_ema" and ckpt.arch == "resnet18"
    assert ckpt.epoch == 0 and "fc.weight" in ckpt.head
    assert "fc.weight" not in ckpt.state_dict
    assert "resnet18" in ckpt.describe()
    assert read_timm_checkpoint(path, use_ema=False).source == "state_dict"


# ---- bad checkpoints ----------------------------------------------------


def _init_backbone(config, path, **init):
    backbone = config_backbone(config)
    TimmPretrainedInit(checkpoint=path, **init)(backbone)
    return backbone


def _coverage_error(tmp_path, arch):
    """The message of loading a timm ``arch`` checkpoint into the tiny R-18 config's backbone."""
    path, _ = write_timm_checkpoint(tmp_path, arch, ema=False)
    with pytest.raises(BackboneCoverageError) as err:
        _init_backbone(TINY, path)
    return str(err.value)


def test_wrong_resnet_depth(tmp_path):
    msg = _coverage_error(tmp_path, "resnet50")
    assert "timm 'resnet50'" in msg and "depth=18" in msg
    assert "model.backbone.depth=50" in msg
    assert "missing" in msg and "shape differs" in msg
    assert "tools/mmdet/check_backbone.py" in msg


def test_non_torchvision_arch_suggests_wrapper(tmp_path):
    msg = _coverage_error(tmp_path, "resnet18d")
    assert "'resnet18d'" in msg and "SmixTimmBackbone" in msg
    assert "conv1.weight" in msg  # the 7x7 stem conv is missing


def test_missing_tensor_is_named(r18_ckpts, tmp_path):
    _, expected = r18_ckpts[(False, True)]
    sd = dict(expected["state_dict"])
    del sd["layer4.1.bn2.running_var"]
    path = save_raw(tmp_path / "missing.pth.tar",
                    {"state_dict": sd, "arch": "resnet18"})
    with pytest.raises(BackboneCoverageError) as err:
        _init_backbone(TINY, path)
    msg = str(err.value)
    assert "layer4.1.bn2.running_var" in msg and "1 missing" in msg
    # and nothing was loaded (all or nothing)
    backbone = config_backbone(TINY)
    before = backbone.conv1.weight.clone()
    with pytest.raises(BackboneCoverageError):
        TimmPretrainedInit(checkpoint=path)(backbone)
    assert torch.equal(backbone.conv1.weight, before)
    # allow_missing accepts exactly that tensor
    _init_backbone(TINY, path, allow_missing=["*.bn2.running_var"])


def test_allow_missing_as_one_string_is_one_pattern(r18_ckpts, tmp_path):
    """--cfg-options passes a single value as a string: it must stay one
    pattern (split into characters, '*' would allow every tensor)."""
    _, expected = r18_ckpts[(False, True)]
    sd = dict(expected["state_dict"])
    del sd["layer4.1.bn2.running_var"], sd["layer3.0.conv1.weight"]
    path = save_raw(tmp_path / "two_missing.pth.tar",
                    {"state_dict": sd, "arch": "resnet18"})
    with pytest.raises(BackboneCoverageError) as err:
        _init_backbone(TINY, path, allow_missing="*.bn2.running_var")
    msg = str(err.value)
    assert "layer3.0.conv1.weight" in msg and "1 missing" in msg
    cfg_backbone = config_backbone(
        TINY, path, **{"model.backbone.init_cfg.allow_missing":
                       "*.bn2.running_var"})
    with pytest.raises(BackboneCoverageError, match="layer3.0.conv1.weight"):
        cfg_backbone.init_weights()
    with pytest.raises(TypeError, match="allow_missing"):
        TimmPretrainedInit(checkpoint=path, allow_missing=[3])


def test_head_prefixes_string_and_empty(r18_ckpts):
    path, expected = r18_ckpts[(False, True)]
    backbone = _init_backbone(TINY, path, head_prefixes="fc")
    assert_backbone_equals(backbone, expected["state_dict"])
    # () drops no head: fc.* are then tensors the backbone does not have
    with pytest.raises(BackboneCoverageError, match="fc.weight"):
        _init_backbone(TINY, path, head_prefixes=())


def test_tagged_arch_names_get_the_right_advice(tmp_path):
    path, _ = write_timm_checkpoint(tmp_path, "resnet50", ema=False)
    raw = torch.load(path)
    raw["arch"] = "timm/resnet50.a1_in1k"
    path = save_raw(tmp_path / "tagged.pth.tar", raw)
    with pytest.raises(BackboneCoverageError) as err:
        _init_backbone(TINY, path)
    assert "model.backbone.depth=50" in str(err.value)


def test_unexpected_tensor_is_an_error(r18_ckpts, tmp_path):
    _, expected = r18_ckpts[(False, True)]
    sd = dict(expected["state_dict"])
    sd["layer5.0.conv1.weight"] = torch.zeros(3)
    path = save_raw(tmp_path / "extra.pth.tar", {"state_dict": sd})
    with pytest.raises(BackboneCoverageError, match="layer5.0.conv1.weight"):
        _init_backbone(TINY, path)


def test_truncated_file(r18_ckpts, tmp_path):
    path, _ = r18_ckpts[(True, True)]
    data = open(path, "rb").read()
    bad = tmp_path / "truncated.pth.tar"
    bad.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match="could not be read by torch.load"):
        _init_backbone(TINY, str(bad))


def test_not_a_checkpoint(tmp_path):
    text = tmp_path / "notes.pth.tar"
    text.write_text("hello")
    with pytest.raises(CheckpointError):
        _init_backbone(TINY, str(text))
    listed = save_raw(tmp_path / "list.pth", [torch.zeros(1)])
    with pytest.raises(ValueError, match="not a dict"):
        _init_backbone(TINY, listed)
    nostate = save_raw(tmp_path / "nostate.pth", {"epoch": 1, "arch": "x"})
    with pytest.raises(ValueError, match="no state dict"):
        _init_backbone(TINY, nostate)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        _init_backbone(TINY, str(tmp_path / "nope.pth.tar"))
    with pytest.raises(CheckpointError, match="is a directory, not a file"):
        _init_backbone(TINY, str(tmp_path))


def test_default_checkpoint_missing_says_how_to_set_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = build_model(load_config(TINY))
    with pytest.raises(FileNotFoundError,
                       match="model.backbone.init_cfg.checkpoint=PATH"):
        model.init_weights()
    with pytest.raises(ValueError, match="init_cfg.checkpoint=PATH"):
        TimmPretrainedInit(checkpoint=None)(model.backbone)
