# Baseline twin of faster-rcnn_r101_fpn_smix_41k_voc0712.py: identical except
# the backbone checkpoint, trained without mixing. See that file for usage.
_base_ = "./faster-rcnn_r101_fpn_smix_41k_voc0712.py"

model = dict(
    backbone=dict(
        init_cfg=dict(
            checkpoint="output/train/resnet101_baseline/model_best.pth.tar")))
