# The paper's detection protocol (batch 8, lr 4e-3, 41k iterations, x0.1 at
# 33k; see faster-rcnn_r50_fpn_smix_41k_voc0712.py) with a ResNet-101 backbone
# from a SaliencyMix checkpoint of tools/train.py (timm 'resnet101').
#   python tools/mmdet/mmdet_train.py configs/mmdet/faster-rcnn_r101_fpn_smix_41k_voc0712.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=PATH/TO/model_best.pth.tar
# Data root (SMIX_VOC_ROOT=DIR, default data/VOCdevkit/) and the other options:
# see faster-rcnn_r50_fpn_smix_voc0712.py.
_base_ = "./faster-rcnn_r50_fpn_smix_41k_voc0712.py"

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(
            checkpoint="output/train/resnet101_smix/model_best.pth.tar")))
