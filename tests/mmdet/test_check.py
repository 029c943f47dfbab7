"""smix_mmdet.check (check_backbone): the report of which checkpoint tensor goes where in a config's backbone,
for the shipped ResNet configs and the timm wrapper."""
import smix_mmdet
from tests._mmdet_testlib import TIMM_CFG, TINY, write_timm_checkpoint


def test_check_backbone_function(r18_ckpts, tmp_path):
    path, _ = r18_ckpts[(True, False)]
    report = smix_mmdet.check_backbone(TINY, path)
    assert report.ok
    lines = report.lines()
    assert any(line.startswith("ok       conv1.weight") for line in lines)
    assert any(line.startswith("head     fc.weight") for line in lines)
    assert lines[-1].startswith("OK: ")
    bad, _ = write_timm_checkpoint(tmp_path, "resnet34", ema=False)
    report = smix_mmdet.check_backbone(TINY, bad)
    assert not report.ok
    assert any(line.startswith("UNUSED   layer1.2.conv1.weight")
               for line in report.lines())


def test_wrapper_checker_lists_features(tmp_path):
    path, _ = write_timm_checkpoint(tmp_path, "convnext_atto", ema=False)
    report = smix_mmdet.check_backbone(
        TIMM_CFG, path, cfg_options={"model.backbone.model_name":
                                     "convnext_atto",
                                     "model.neck.in_channels":
                                     [40, 80, 160, 320]})
    assert report.ok, "\n".join(report.lines())
    text = "\n".join(report.lines())
    assert "channels [40, 80, 160, 320] at strides [4, 8, 16, 32]" in text
    assert "model.stages_0.blocks.0.conv_dw.weight (40, 1, 7, 7) <- " \
           "stages.0.blocks.0.conv_dw.weight" in text
    assert "outside  head.norm.weight" in text
    assert "head     head.fc.weight" in text
