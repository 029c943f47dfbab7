# Tiny CPU Faster R-CNN for the built-in VOC data (tools/data/make_voc_data.py):
# ResNet-18-FPN (narrow neck and heads) from a ResNet-18 checkpoint of
# tools/train.py (timm 'resnet18'), images resized to fit 160x160 (the
# generator's default size), VOC07+12 trainval -> VOC07 test mAP (11-point),
# 200 iterations of batch 4, no data-loader workers. Trains and evaluates in
# minutes on 2 CPU cores.
#
#   python tools/data/make_voc_data.py --out data/VOCdevkit
#   python tools/mmdet/mmdet_train.py configs/mmdet/faster-rcnn_r18_fpn_tiny_voc0712.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=PATH/TO/model_best.pth.tar
#   python tools/mmdet/mmdet_test.py configs/mmdet/faster-rcnn_r18_fpn_tiny_voc0712.py \
#       work_dirs/faster-rcnn_r18_fpn_tiny_voc0712/iter_200.pth
#
# Shorter/longer: --cfg-options train_cfg.max_iters=N train_cfg.val_interval=N
#   default_hooks.checkpoint.interval=N (the lr drops x0.1 at iteration 160:
#   for other lengths also set param_scheduler.1.milestones=[0.8 N]).
# Checkpoint: model.backbone.init_cfg.checkpoint, a timm train.py checkpoint of
#   'resnet18' (EMA weights when present; use_ema=False for state_dict).
# Data: data/VOCdevkit/ relative to the working directory. Elsewhere: set
#   SMIX_VOC_ROOT=/path/to/VOCdevkit/ or --cfg-options
#   train_dataloader.dataset.datasets.0.data_root=DIR
#   train_dataloader.dataset.datasets.1.data_root=DIR
#   val_dataloader.dataset.data_root=DIR test_dataloader.dataset.data_root=DIR
_base_ = "mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py"

custom_imports = dict(imports=["smix_mmdet"], allow_failed_imports=False)

data_root = "{{$SMIX_VOC_ROOT:data/VOCdevkit/}}"
image_scale = (160, 160)
channels = 128

model = dict(
    backbone=dict(
        depth=18,
        init_cfg=dict(
            _delete_=True,
            type="TimmPretrained",
            checkpoint="output/train/resnet18_smix/model_best.pth.tar",
            use_ema=True)),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=channels),
    rpn_head=dict(in_channels=channels, feat_channels=channels),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=channels),
        bbox_head=dict(
            in_channels=channels, fc_out_channels=256, num_classes=20)),
    train_cfg=dict(
        rpn=dict(sampler=dict(num=128)),
        rpn_proposal=dict(nms_pre=1000, max_per_img=300),
        rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(
        rpn=dict(nms_pre=500, max_per_img=100), rcnn=dict(max_per_img=50)))

backend_args = None
train_pipeline = [
    dict(type="LoadImageFromFile", backend_args=backend_args),
    dict(type="LoadAnnotations", with_bbox=True),
    dict(type="Resize", scale=image_scale, keep_ratio=True),
    dict(type="RandomFlip", prob=0.5),
    dict(type="PackDetInputs")
]
test_pipeline = [
    dict(type="LoadImageFromFile", backend_args=backend_args),
    dict(type="Resize", scale=image_scale, keep_ratio=True),
    dict(type="LoadAnnotations", with_bbox=True),
    dict(
        type="PackDetInputs",
        meta_keys=("img_id", "img_path", "ori_shape", "img_shape",
                   "scale_factor"))
]

train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type="InfiniteSampler", shuffle=True),
    batch_sampler=dict(type="AspectRatioBatchSampler"),
    dataset=dict(
        _delete_=True,
        type="ConcatDataset",
        # VOCDataset sets a different dataset_type per year
        ignore_keys=["dataset_type"],
        datasets=[  # VOC2007 and VOC2012 trainval, the same settings
            dict(
                type="VOCDataset",
                data_root=data_root,
                ann_file=f"VOC{year}/ImageSets/Main/trainval.txt",
                data_prefix=dict(sub_data_root=f"VOC{year}/"),
                filter_cfg=dict(filter_empty_gt=True, min_size=32),
                pipeline=train_pipeline,
                backend_args=backend_args) for year in ("2007", "2012")
        ]))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 200
train_cfg = dict(
    _delete_=True,
    type="IterBasedTrainLoop",
    max_iters=max_iters,
    val_interval=max_iters)
param_scheduler = [
    dict(type="LinearLR", start_factor=0.01, by_epoch=False, begin=0, end=50),
    # no `end`: stays in force when train_cfg.max_iters is overridden
    dict(type="MultiStepLR", by_epoch=False, milestones=[160], gamma=0.1)
]
optim_wrapper = dict(
    type="OptimWrapper",
    optimizer=dict(type="SGD", lr=0.02, momentum=0.9, weight_decay=0.0001))
auto_scale_lr = dict(enable=False, base_batch_size=4)

default_hooks = dict(
    logger=dict(type="LoggerHook", interval=20),
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
log_processor = dict(by_epoch=False, window_size=20)
