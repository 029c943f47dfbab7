# Baseline twin of faster-rcnn_r50_fpn_smix_voc0712.py: identical except the
# backbone checkpoint, one trained by tools/train.py without mixing. Usage, data
# root and checkpoint options: see faster-rcnn_r50_fpn_smix_voc0712.py
# (--cfg-options model.backbone.init_cfg.checkpoint=PATH; SMIX_VOC_ROOT=DIR).
_base_ = "./faster-rcnn_r50_fpn_smix_voc0712.py"

model = dict(
    backbone=dict(
        init_cfg=dict(
            checkpoint="output/train/resnet50_baseline/model_best.pth.tar")))
