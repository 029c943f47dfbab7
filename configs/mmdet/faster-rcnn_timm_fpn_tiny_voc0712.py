# The tiny CPU config (faster-rcnn_r18_fpn_tiny_voc0712.py: built-in VOC data,
# 160 px, 200 iterations) with the backbone taken through smix_mmdet's
# SmixTimmBackbone, for the small timm ResNets that mmdet's ResNet cannot load
# (tiered/deep stems, avg-pool shortcuts): by default 'resnet10t' (pretrain it
# with configs/timm/tiny_cpu_*.yaml plus --model resnet10t). Any timm model with feature channels
# [64, 128, 256, 512] at strides 4-32 fits unchanged (resnet18, resnet18d,
# resnet26t, ...): --cfg-options model.backbone.model_name=NAME.
#
#   python tools/mmdet/mmdet_train.py configs/mmdet/faster-rcnn_timm_fpn_tiny_voc0712.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=PATH/TO/model_best.pth.tar
#   python tools/mmdet/mmdet_test.py configs/mmdet/faster-rcnn_timm_fpn_tiny_voc0712.py \
#       work_dirs/faster-rcnn_timm_fpn_tiny_voc0712/iter_200.pth
# Data root (SMIX_VOC_ROOT=DIR, default data/VOCdevkit/) and the other
# options: see faster-rcnn_r18_fpn_tiny_voc0712.py.
_base_ = "./faster-rcnn_r18_fpn_tiny_voc0712.py"

model = dict(
    backbone=dict(
        _delete_=True,
        type="SmixTimmBackbone",
        model_name="resnet10t",
        norm_eval=True,
        init_cfg=dict(
            type="TimmPretrained",
            checkpoint="output/train/resnet10t_smix/model_best.pth.tar",
            use_ema=True)))
