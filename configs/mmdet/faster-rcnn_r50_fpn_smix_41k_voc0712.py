# The SaliencyMix paper's detection protocol (ICLR 2021, sec. 4.2): Faster
# R-CNN fine-tuned on VOC07+12 trainval with batch 8 in total, lr 4e-3, 41k
# iterations, lr x0.1 at 33k; VOC07 test mAP (11-point). Iteration-based.
# Not stated in the paper, chosen here: the FPN neck (as in mmdet's VOC
# config; the paper only says "Faster RCNN with ResNet-50"), mmdet's VOC image
# scale 1000x600, and a linear warm-up over the first 500 iterations.
#
# Batch: 8 images per iteration on one GPU. On N GPUs keep 8 in total with
#   --cfg-options train_dataloader.batch_size=$((8 / N))
#   (or pass --auto-scale-lr to scale lr with another total batch; base 8).
# Train, then test:
#   python tools/mmdet/mmdet_train.py configs/mmdet/faster-rcnn_r50_fpn_smix_41k_voc0712.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=PATH/TO/model_best.pth.tar
#   python tools/mmdet/mmdet_test.py configs/mmdet/faster-rcnn_r50_fpn_smix_41k_voc0712.py \
#       work_dirs/faster-rcnn_r50_fpn_smix_41k_voc0712/iter_41000.pth
# Data root and checkpoint options: see faster-rcnn_r50_fpn_smix_voc0712.py
# (SMIX_VOC_ROOT=DIR, default data/VOCdevkit/).
_base_ = "./faster-rcnn_r50_fpn_smix_voc0712.py"

max_iters = 41000
train_dataloader = dict(
    batch_size=8, sampler=dict(type="InfiniteSampler", shuffle=True))

train_cfg = dict(
    _delete_=True,
    type="IterBasedTrainLoop",
    max_iters=max_iters,
    val_interval=10000)

param_scheduler = [
    dict(type="LinearLR", start_factor=0.001, by_epoch=False, begin=0,
         end=500),
    dict(
        type="MultiStepLR",
        begin=0,
        end=max_iters,
        by_epoch=False,
        milestones=[33000],
        gamma=0.1)
]

optim_wrapper = dict(
    type="OptimWrapper",
    optimizer=dict(type="SGD", lr=0.004, momentum=0.9, weight_decay=0.0001))

default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=10000, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=8)
