"""SmixTimmBackbone: any timm model's features for the FPN, verified load."""
import pytest
import timm
import torch

import smix_mmdet
from smix_mmdet import BackboneCoverageError, SmixTimmBackbone, TimmPretrainedInit, map_feature_keys
from tests._mmdet_testlib import TIMM_CFG, TIMM_TINY, TINY, build_model, load_config, write_timm_checkpoint


def timm_reference(model_name, state_dict, out_indices):
    """timm's own features model loaded by timm's own pretrained path."""
    return timm.create_model(
        model_name, features_only=True, pretrained=True,
        out_indices=out_indices,
        pretrained_cfg_overlay=dict(state_dict=dict(state_dict)))


# resnet18: names unchanged; convnext_atto: FeatureListNet flattens
# stages.0 -> stages_0; mobilenetv3: its own features class, and the full
# model's conv_head lies outside the features.
@pytest.mark.parametrize("model_name", ["resnet18", "convnext_atto",
                                        "mobilenetv3_small_050"])
def test_wrapper_loads_every_tensor(tmp_path, model_name):
    path, expected = write_timm_checkpoint(tmp_path, model_name, ema=True)
    backbone = SmixTimmBackbone(
        model_name,
        init_cfg=dict(type="TimmPretrained", checkpoint=path))
    backbone.init_weights()
    ref = timm_reference(model_name, expected["state_dict_ema"],
                         backbone.out_indices)
    ours, theirs = backbone.model.state_dict(), ref.state_dict()
    assert set(ours) == set(theirs)
    for name in ours:
        assert torch.equal(ours[name], theirs[name]), name
    # and through the key map, against the checkpoint itself
    spec = backbone.timm_key_spec()
    assert len(spec.key_map) == len(backbone.state_dict())
    for name, tensor in backbone.state_dict().items():
        assert torch.equal(tensor,
                           expected["state_dict_ema"][spec.key_map[name]])
    assert backbone.out_strides == [4, 8, 16, 32]
    feats = backbone.eval()(torch.randn(1, 3, 64, 64))
    assert [f.shape[1] for f in feats] == backbone.out_channels
    assert [64 // f.shape[-1] for f in feats] == [4, 8, 16, 32]


def test_flattened_names_are_mapped():
    mapping, unmapped = map_feature_keys(
        {"stages_0.blocks.0.w": (2, ), "conv_stem.w": (1, ),
         "model.blocks.1.w": (3, )},
        {"stages.0.blocks.0.w": (2, ), "conv_stem.w": (1, ),
         "blocks.1.w": (3, )})
    assert mapping == {"stages_0.blocks.0.w": "stages.0.blocks.0.w",
                       "conv_stem.w": "conv_stem.w",
                       "model.blocks.1.w": "blocks.1.w"}
    assert unmapped == []
    _, unmapped = map_feature_keys({"a_b.w": (2, )}, {"a.b.w": (3, )})
    assert unmapped == ["a_b.w"]


def test_timm_config_builds_and_loads(tmp_path):
    path, expected = write_timm_checkpoint(tmp_path, "resnet50", ema=False)
    model = build_model(load_config(TIMM_CFG, checkpoint=path))
    assert isinstance(model.backbone, SmixTimmBackbone)
    assert model.backbone.out_channels == list(model.neck.in_channels)
    model.init_weights()
    for name, tensor in model.backbone.model.state_dict().items():
        assert torch.equal(tensor, expected["state_dict"][name]), name


def test_timm_tiny_config_takes_the_tiny_recipe_model(tmp_path):
    """'resnet10t' (tiered stem, a tiny recipe with --model resnet10t):
    mmdet's ResNet cannot take it; the timm tiny config can."""
    path, expected = write_timm_checkpoint(tmp_path, "resnet10t", ema=True)
    cfg = load_config(TIMM_TINY, checkpoint=path)
    model = build_model(cfg)
    model.init_weights()
    for name, tensor in model.backbone.model.state_dict().items():
        assert torch.equal(tensor, expected["state_dict_ema"][name]), name
    with pytest.raises(smix_mmdet.BackboneCoverageError,
                       match="SmixTimmBackbone"):
        smix_mmdet.TimmPretrainedInit(checkpoint=path)(
            build_model(load_config(TINY), "backbone"))


def test_wrapper_wrong_arch(tmp_path):
    path, _ = write_timm_checkpoint(tmp_path, "resnet18", ema=False)
    backbone = SmixTimmBackbone("resnet34")
    with pytest.raises(BackboneCoverageError) as err:
        TimmPretrainedInit(checkpoint=path)(backbone)
    msg = str(err.value)
    assert "model.backbone.model_name='resnet18'" in msg
    assert "model.layer1.2.conv1.weight" in msg  # missing in the ckpt


def test_model_kwargs_guard():
    with pytest.raises(ValueError, match="features_only"):
        SmixTimmBackbone("resnet18", model_kwargs=dict(features_only=True))
    with pytest.raises(ValueError, match="stride 4"):
        SmixTimmBackbone("vit_tiny_patch16_224")


def test_two_tensors_never_take_one_checkpoint_tensor(monkeypatch):
    import smix_mmdet.timm_backbone as tb
    backbone = SmixTimmBackbone("resnet18")
    real = tb.map_feature_keys

    def colliding(own, full):
        mapping, unmapped = real(own, full)
        first, second = sorted(mapping)[:2]
        mapping[second] = mapping[first]
        return mapping, unmapped

    monkeypatch.setattr(tb, "map_feature_keys", colliding)
    with pytest.raises(RuntimeError, match="same checkpoint tensor"):
        backbone.timm_key_spec()
