# Faster R-CNN R-50-FPN, VOC07+12 trainval -> VOC07 test mAP (11-point), with
# mmdet's standard VOC schedule (mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712:
# 4 epochs over 3 repeats of the data, SGD lr 0.01, 2 images per GPU on 8 GPUs),
# backbone started from a SaliencyMix checkpoint of tools/train.py.
#
# Train, then test (mAP):
#   python tools/mmdet/mmdet_train.py configs/mmdet/faster-rcnn_r50_fpn_smix_voc0712.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=PATH/TO/model_best.pth.tar
#   python tools/mmdet/mmdet_test.py configs/mmdet/faster-rcnn_r50_fpn_smix_voc0712.py \
#       work_dirs/faster-rcnn_r50_fpn_smix_voc0712/epoch_4.pth
# Several GPUs: tools/mmdet/mmdet_train.py --nproc 8 ... (mmdet's dist_train.sh).
# Resume (--resume) and load_from build the model first, so they read the timm
#   checkpoint too before the saved weights replace it; if it has moved, add
#   --cfg-options model.backbone.init_cfg=None (tools/test.py never reads it).
#
# Checkpoint: model.backbone.init_cfg.checkpoint (default below) is a timm
#   train.py checkpoint; its EMA weights are used when present
#   (model.backbone.init_cfg.use_ema=False to take state_dict). Every backbone
#   tensor must load, or training stops with the list of what did not:
#   python tools/mmdet/check_backbone.py CONFIG CHECKPOINT shows it beforehand.
# Data: data/VOCdevkit/ relative to the working directory, as in mmdet's VOC
#   configs (VOC2007/ and VOC2012/ inside). Elsewhere: set the environment
#   variable SMIX_VOC_ROOT=/path/to/VOCdevkit/ (read by mmengine's
#   environment-variable substitution), or override each dataset with
#   --cfg-options train_dataloader.dataset.dataset.datasets.0.data_root=DIR
#   train_dataloader.dataset.dataset.datasets.1.data_root=DIR
#   val_dataloader.dataset.data_root=DIR test_dataloader.dataset.data_root=DIR
_base_ = "mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py"

custom_imports = dict(imports=["smix_mmdet"], allow_failed_imports=False)

data_root = "{{$SMIX_VOC_ROOT:data/VOCdevkit/}}"

model = dict(
    backbone=dict(
        init_cfg=dict(
            _delete_=True,
            type="TimmPretrained",
            checkpoint="output/train/resnet50_smix/model_best.pth.tar",
            use_ema=True)))

train_dataloader = dict(
    dataset=dict(
        dataset=dict(datasets=[  # VOC2007 and VOC2012 trainval, the same settings
            dict(
                type="VOCDataset",
                data_root=data_root,
                ann_file=f"VOC{year}/ImageSets/Main/trainval.txt",
                data_prefix=dict(sub_data_root=f"VOC{year}/"),
                filter_cfg=dict(
                    filter_empty_gt=True, min_size=32, bbox_min_size=32),
                pipeline={{_base_.train_pipeline}},
                backend_args={{_base_.backend_args}}) for year in ("2007", "2012")
        ])))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
