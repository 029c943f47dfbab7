# Baseline twin of faster-rcnn_r50_fpn_smix_41k_voc0712.py (paper protocol):
# identical except the backbone checkpoint, trained without mixing. Usage, batch,
# data root and checkpoint options: see that file.
_base_ = "./faster-rcnn_r50_fpn_smix_41k_voc0712.py"

model = dict(
    backbone=dict(
        init_cfg=dict(
            checkpoint="output/train/resnet50_baseline/model_best.pth.tar")))
