# Faster R-CNN with any timm model as backbone (smix_mmdet SmixTimmBackbone:
# timm.create_model(features_only=True), one feature map per stride 4/8/16/32),
# for checkpoints of tools/train.py that are not a torchvision-layout ResNet.
# Otherwise as faster-rcnn_r50_fpn_smix_voc0712.py (mmdet's standard VOC
# schedule, VOC07+12 -> VOC07 test mAP). Unlike mmdet's ResNet (frozen_stages=1)
# no stage is frozen; BatchNorm stays in eval mode (norm_eval=True).
#
# Another model: set its timm name and the neck's in_channels, e.g.
#   --cfg-options model.backbone.model_name=convnext_tiny \
#       "model.neck.in_channels=[96,192,384,768]" \
#       model.backbone.init_cfg.checkpoint=PATH/TO/model_best.pth.tar
# python tools/mmdet/check_backbone.py CONFIG CHECKPOINT --cfg-options ... prints the
# channels and which tensors load. Data root (SMIX_VOC_ROOT=DIR, default
# data/VOCdevkit/): see faster-rcnn_r50_fpn_smix_voc0712.py.
_base_ = "./faster-rcnn_r50_fpn_smix_voc0712.py"

model = dict(
    backbone=dict(
        _delete_=True,
        type="SmixTimmBackbone",
        model_name="resnet50",
        norm_eval=True,
        init_cfg=dict(
            type="TimmPretrained",
            checkpoint="output/train/resnet50_smix/model_best.pth.tar",
            use_ema=True)),
    neck=dict(in_channels=[256, 512, 1024, 2048]))
