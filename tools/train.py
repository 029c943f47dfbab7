#!/usr/bin/env python3
"""timm training with SaliencyMix.

The command line is timm's train.py (same flag names and defaults, ``-c config.yaml``
for defaults from a YAML file), built from timm's library pieces, plus:

    --saliencymix ALPHA        SaliencyMix with lam ~ Beta(ALPHA, ALPHA); > 0 enables it, like --cutmix
    --saliency-method NAME     fine_grained (paper) | spectral_residual | frequency_tuned
    --saliency-scheme NAME     salient_to_corresponding (paper) | salient_to_salient | ...
    --saliency-per {sample,batch}, --saliency-border {shift,clip}
    --saliency-official        reproduce the official code's behaviour (for ablations)
    --train-pad N              zero-pad N px and random-crop back (CIFAR pad-crop), instead of RandomResizedCrop

With the prefetcher (default) SaliencyMix runs in the loader's collate
(FastCollateSaliencyMix); with --no-prefetcher on the batch (SaliencyMix). Without
--saliencymix, timm's own Mixup / FastCollateMixup run exactly as in timm's train.py.

    python tools/train.py -c configs/timm/tiny_cpu_saliencymix.yaml --data-dir data/smix_cls
    torchrun --nproc_per_node 2 tools/train.py -c CONFIG --data-dir DIR

Outputs, as timm: output/train/<experiment>/{last,model_best,checkpoint-N}.pth.tar, summary.csv, args.yaml.
The device is CUDA when available, else CPU (--device overrides); DDP uses nccl on CUDA, gloo on CPU.
"""
import argparse
import logging
import os
import sys
import time
from collections import OrderedDict
from contextlib import suppress
from datetime import datetime
from functools import partial

import torch
import torch.nn as nn
import torchvision.utils
import yaml
from torch.nn.parallel import DistributedDataParallel as NativeDDP

from timm import utils
from timm.data import FastCollateMixup, Mixup, create_dataset, create_loader, resolve_data_config
from timm.data.readers.img_extensions import get_img_extensions
from timm.layers import convert_sync_batchnorm
from timm.loss import BinaryCrossEntropy, LabelSmoothingCrossEntropy, SoftTargetCrossEntropy
from timm.models import create_model, is_model, load_checkpoint, model_parameters, resume_checkpoint, safe_model_name
from timm.optim import create_optimizer_v2, optimizer_kwargs
from timm.scheduler import create_scheduler_v2, scheduler_kwargs
from timm.utils import NativeScaler

try:
    import smix_timm.models  # noqa: F401  registers resnet18_cifar, resnet50_cifar, wrn28_10, wrn16_2
except ImportError:  # run from a checkout that is not pip-installed
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import smix_timm.models  # noqa: F401
from smix_timm import SCHEMES, FastCollateSaliencyMix, SaliencyMix, available_methods

_logger = logging.getLogger('train')


class UsageError(Exception):
    """A problem with the command line or the data that the user can fix; printed without a traceback."""


def build_parser():
    """(config_parser, parser): a fresh pair, so that one config's defaults never leak into the next parse.

    The first parser reads only --config; its YAML sets the defaults of the main parser.
    """
    config_parser = argparse.ArgumentParser(description='Training Config', add_help=False)
    config_parser.add_argument('-c', '--config', default='', type=str, metavar='FILE',
                               help='YAML config file specifying default arguments')

    parser = argparse.ArgumentParser(description='timm training with SaliencyMix')
    parser.add_argument('-c', '--config', default='', type=str, metavar='FILE',
                        help='YAML config file specifying default arguments')

    group = parser.add_argument_group('Dataset parameters')
    parser.add_argument('data', nargs='?', metavar='DIR', const=None,
                        help='path to dataset (positional is *deprecated*, use --data-dir)')
    parser.add_argument('--data-dir', metavar='DIR', help='path to dataset (root dir)')
    parser.add_argument('--dataset', metavar='NAME', default='',
                        help='dataset type + name ("<type>/<name>", e.g. torch/cifar10) '
                             '(default: ImageFolder if empty)')
    group.add_argument('--train-split', metavar='NAME', default='train', help='dataset train split (default: train)')
    group.add_argument('--val-split', metavar='NAME', default='validation',
                       help='dataset validation split (default: validation)')
    group.add_argument('--dataset-download', action='store_true', default=False,
                       help='Allow download of dataset for torch/ datasets that support it.')
    group.add_argument('--class-map', default='', type=str, metavar='FILENAME',
                       help='path to class to idx mapping file (default: "")')

    group = parser.add_argument_group('Model parameters')
    group.add_argument('--model', default='resnet50', type=str, metavar='MODEL',
                       help='Name of model to train (default: "resnet50")')
    group.add_argument('--pretrained', action='store_true', default=False,
                       help='Start with pretrained version of specified network (if avail)')
    group.add_argument('--initial-checkpoint', default='', type=str, metavar='PATH',
                       help='Initialize model from this checkpoint (default: none)')
    group.add_argument('--resume', default='', type=str, metavar='PATH',
                       help='Resume full model and optimizer state from checkpoint (default: none); '
                            'without --experiment the run continues in the checkpoint\'s folder')
    group.add_argument('--no-resume-opt', action='store_true', default=False,
                       help='prevent resume of optimizer state when resuming model')
    group.add_argument('--num-classes', type=int, default=None, metavar='N',
                       help='number of label classes (default: the number of classes in the training data)')
    group.add_argument('--gp', default=None, type=str, metavar='POOL',
                       help='Global pool type, one of (fast, avg, max, avgmax, avgmaxc). Model default if None.')
    group.add_argument('--img-size', type=int, default=None, metavar='N',
                       help='Image size (default: None => model default)')
    group.add_argument('--in-chans', type=int, default=None, metavar='N',
                       help='Image input channels (default: None => 3)')
    group.add_argument('--input-size', default=None, nargs=3, type=int, metavar='N N N',
                       help='Input all image dimensions (d h w, e.g. --input-size 3 224 224), '
                            'uses model default if empty')
    group.add_argument('--crop-pct', default=None, type=float, metavar='N',
                       help='Input image center crop percent (for validation only)')
    group.add_argument('--mean', type=float, nargs='+', default=None, metavar='MEAN',
                       help='Override mean pixel value of dataset')
    group.add_argument('--std', type=float, nargs='+', default=None, metavar='STD',
                       help='Override std deviation of dataset')
    group.add_argument('--interpolation', default='', type=str, metavar='NAME',
                       help='Image resize interpolation type (overrides model)')
    group.add_argument('-b', '--batch-size', type=int, default=128, metavar='N',
                       help='Input batch size for training, per process (default: 128)')
    group.add_argument('-vb', '--validation-batch-size', type=int, default=None, metavar='N',
                       help='Validation batch size override (default: None)')
    group.add_argument('--channels-last', action='store_true', default=False,
                       help='Use channels_last memory layout')
    group.add_argument('--grad-accum-steps', type=int, default=1, metavar='N',
                       help='The number of steps to accumulate gradients (default: 1)')
    group.add_argument('--grad-checkpointing', action='store_true', default=False,
                       help='Enable gradient checkpointing through model blocks/stages')
    group.add_argument('--model-kwargs', nargs='*', default={}, action=utils.ParseKwargs)
    group.add_argument('--torchcompile', nargs='?', type=str, default=None, const='inductor',
                       help='Enable compilation w/ specified backend (default: inductor).')

    group = parser.add_argument_group('Optimizer parameters')
    group.add_argument('--opt', default='sgd', type=str, metavar='OPTIMIZER',
                       help='Optimizer (default: "sgd", which is Nesterov SGD in timm)')
    group.add_argument('--opt-eps', default=None, type=float, metavar='EPSILON',
                       help='Optimizer Epsilon (default: None, use opt default)')
    group.add_argument('--opt-betas', default=None, type=float, nargs='+', metavar='BETA',
                       help='Optimizer Betas (default: None, use opt default)')
    group.add_argument('--momentum', type=float, default=0.9, metavar='M', help='Optimizer momentum (default: 0.9)')
    group.add_argument('--weight-decay', type=float, default=2e-5, help='weight decay (default: 2e-5)')
    group.add_argument('--clip-grad', type=float, default=None, metavar='NORM',
                       help='Clip gradient norm (default: None, no clipping)')
    group.add_argument('--clip-mode', type=str, default='norm',
                       help='Gradient clipping mode. One of ("norm", "value", "agc")')
    group.add_argument('--layer-decay', type=float, default=None, help='layer-wise learning rate decay (default: None)')
    group.add_argument('--opt-kwargs', nargs='*', default={}, action=utils.ParseKwargs)

    group = parser.add_argument_group('Learning rate schedule parameters')
    group.add_argument('--sched', type=str, default='cosine', metavar='SCHEDULER',
                       help='LR scheduler (default: "cosine")')
    group.add_argument('--sched-on-updates', action='store_true', default=False,
                       help='Apply LR scheduler step on update instead of epoch end.')
    group.add_argument('--lr', type=float, default=None, metavar='LR',
                       help='learning rate, overrides lr-base if set (default: None)')
    group.add_argument('--lr-base', type=float, default=0.1, metavar='LR',
                       help='base learning rate: lr = lr_base * global_batch_size / base_size')
    group.add_argument('--lr-base-size', type=int, default=256, metavar='DIV',
                       help='base learning rate batch size (divisor, default: 256).')
    group.add_argument('--lr-base-scale', type=str, default='', metavar='SCALE',
                       help='base learning rate vs batch_size scaling ("linear", "sqrt", based on opt if empty)')
    group.add_argument('--lr-noise', type=float, nargs='+', default=None, metavar='pct, pct',
                       help='learning rate noise on/off epoch percentages')
    group.add_argument('--lr-noise-pct', type=float, default=0.67, metavar='PERCENT',
                       help='learning rate noise limit percent (default: 0.67)')
    group.add_argument('--lr-noise-std', type=float, default=1.0, metavar='STDDEV',
                       help='learning rate noise std-dev (default: 1.0)')
    group.add_argument('--lr-cycle-mul', type=float, default=1.0, metavar='MULT',
                       help='learning rate cycle len multiplier (default: 1.0)')
    group.add_argument('--lr-cycle-decay', type=float, default=0.5, metavar='MULT',
                       help='amount to decay each learning rate cycle (default: 0.5)')
    group.add_argument('--lr-cycle-limit', type=int, default=1, metavar='N',
                       help='learning rate cycle limit, cycles enabled if > 1')
    group.add_argument('--lr-k-decay', type=float, default=1.0,
                       help='learning rate k-decay for cosine/poly (default: 1.0)')
    group.add_argument('--warmup-lr', type=float, default=1e-5, metavar='LR',
                       help='warmup learning rate (default: 1e-5)')
    group.add_argument('--min-lr', type=float, default=0, metavar='LR',
                       help='lower lr bound for cyclic schedulers that hit 0 (default: 0)')
    group.add_argument('--epochs', type=int, default=300, metavar='N', help='number of epochs to train (default: 300)')
    group.add_argument('--epoch-repeats', type=float, default=0., metavar='N',
                       help='epoch repeat multiplier (number of times to repeat dataset epoch per train epoch).')
    group.add_argument('--start-epoch', default=None, type=int, metavar='N',
                       help='manual epoch number (useful on restarts)')
    group.add_argument('--decay-milestones', default=[90, 180, 270], type=int, nargs='+', metavar='MILESTONES',
                       help='list of decay epoch indices for multistep lr. must be increasing')
    group.add_argument('--decay-epochs', type=float, default=90, metavar='N', help='epoch interval to decay LR')
    group.add_argument('--warmup-epochs', type=int, default=5, metavar='N',
                       help='epochs to warmup LR, if scheduler supports')
    group.add_argument('--warmup-prefix', action='store_true', default=False,
                       help='Exclude warmup period from decay schedule.')
    group.add_argument('--cooldown-epochs', type=int, default=0, metavar='N',
                       help='epochs to cooldown LR at min_lr, after cyclic schedule ends')
    group.add_argument('--patience-epochs', type=int, default=10, metavar='N',
                       help='patience epochs for Plateau LR scheduler (default: 10)')
    group.add_argument('--decay-rate', '--dr', type=float, default=0.1, metavar='RATE',
                       help='LR decay rate (default: 0.1)')

    group = parser.add_argument_group('Augmentation and regularization parameters')
    group.add_argument('--no-aug', action='store_true', default=False,
                       help='Disable all training augmentation, override other train aug args')
    group.add_argument('--train-crop-mode', type=str, default=None,
                       help='Crop-mode in train: rrc (default), rkrc, rkrr')
    group.add_argument('--train-pad', type=int, default=0, metavar='N',
                       help='Zero-pad N pixels and random-crop back to the input size in place of the random '
                            'resized crop (the CIFAR pad-crop recipe); 0 keeps timm\'s crop (default: 0)')
    group.add_argument('--scale', type=float, nargs='+', default=[0.08, 1.0], metavar='PCT',
                       help='Random resize scale (default: 0.08 1.0)')
    group.add_argument('--ratio', type=float, nargs='+', default=[3. / 4., 4. / 3.], metavar='RATIO',
                       help='Random resize aspect ratio (default: 0.75 1.33)')
    group.add_argument('--hflip', type=float, default=0.5, help='Horizontal flip training aug probability')
    group.add_argument('--vflip', type=float, default=0., help='Vertical flip training aug probability')
    group.add_argument('--color-jitter', type=float, default=0.4, metavar='PCT',
                       help='Color jitter factor (default: 0.4)')
    group.add_argument('--aa', type=str, default=None, metavar='NAME',
                       help='Use AutoAugment policy. "v0" or "original". (default: None)')
    group.add_argument('--aug-repeats', type=float, default=0,
                       help='Number of augmentation repetitions (distributed training only) (default: 0)')
    group.add_argument('--bce-loss', action='store_true', default=False, help='Enable BCE loss w/ Mixup/CutMix use.')
    group.add_argument('--bce-target-thresh', type=float, default=None,
                       help='Threshold for binarizing softened BCE targets (default: None, disabled)')
    group.add_argument('--reprob', type=float, default=0., metavar='PCT', help='Random erase prob (default: 0.)')
    group.add_argument('--remode', type=str, default='pixel', help='Random erase mode (default: "pixel")')
    group.add_argument('--recount', type=int, default=1, help='Random erase count (default: 1)')
    group.add_argument('--resplit', action='store_true', default=False,
                       help='Do not random erase first (clean) augmentation split')
    group.add_argument('--mixup', type=float, default=0.0, help='mixup alpha, mixup enabled if > 0. (default: 0.)')
    group.add_argument('--cutmix', type=float, default=0.0, help='cutmix alpha, cutmix enabled if > 0. (default: 0.)')
    group.add_argument('--cutmix-minmax', type=float, nargs='+', default=None,
                       help='cutmix min/max ratio, overrides alpha and enables cutmix if set (default: None)')
    group.add_argument('--mixup-prob', type=float, default=1.0,
                       help='Probability of performing mixup or cutmix when either/both is enabled')
    group.add_argument('--mixup-switch-prob', type=float, default=0.5,
                       help='Probability of switching to cutmix when both mixup and cutmix enabled')
    group.add_argument('--mixup-mode', type=str, default='batch',
                       help='How to apply mixup/cutmix params. Per "batch", "pair", or "elem"')
    group.add_argument('--mixup-off-epoch', default=0, type=int, metavar='N',
                       help='Turn off mixup after this epoch, disabled if 0 (default: 0)')
    group.add_argument('--smoothing', type=float, default=0.1, help='Label smoothing (default: 0.1)')
    group.add_argument('--train-interpolation', type=str, default='random',
                       help='Training interpolation (random, bilinear, bicubic default: "random")')
    group.add_argument('--drop', type=float, default=0.0, metavar='PCT', help='Dropout rate (default: 0.)')
    group.add_argument('--drop-path', type=float, default=None, metavar='PCT', help='Drop path rate (default: None)')
    group.add_argument('--drop-block', type=float, default=None, metavar='PCT', help='Drop block rate (default: None)')

    group = parser.add_argument_group('SaliencyMix parameters')
    group.add_argument('--saliencymix', type=float, default=0.0, metavar='ALPHA',
                       help='SaliencyMix alpha (lam ~ Beta(alpha, alpha)), SaliencyMix enabled if > 0. With --cutmix '
                            'too, a patch method is SaliencyMix or CutMix 50/50; with --mixup, --mixup-switch-prob '
                            'picks patch vs mixup as in timm (default: 0.)')
    group.add_argument('--saliency-method', type=str, default=None, choices=available_methods(),
                       help='saliency detector (default: fine_grained, the paper\'s)')
    group.add_argument('--saliency-scheme', type=str, default=None, choices=list(SCHEMES),
                       help='source patch / target place scheme, paper sec. 3.4 (default: salient_to_corresponding)')
    group.add_argument('--saliency-per', type=str, default=None, choices=('sample', 'batch'),
                       help='one saliency map and box per source sample, or one per batch (default: sample)')
    group.add_argument('--saliency-border', type=str, default=None, choices=('shift', 'clip'),
                       help='patch at the image border: shift it inside (keeps lam) or clip it (default: shift)')
    group.add_argument('--saliency-official', action='store_true', default=False,
                       help='reproduce the official code: float pixels through OpenCV, one map per batch, clipped box '
                            '(its saliency is close to random; for ablations)')

    group = parser.add_argument_group('Batch norm parameters')
    group.add_argument('--bn-momentum', type=float, default=None, help='BatchNorm momentum override (if not None)')
    group.add_argument('--bn-eps', type=float, default=None, help='BatchNorm epsilon override (if not None)')
    group.add_argument('--sync-bn', action='store_true', help='Enable synchronized BatchNorm.')
    group.add_argument('--dist-bn', type=str, default='reduce',
                       help='Distribute BatchNorm stats between nodes after each epoch ("broadcast", "reduce", or "")')

    group = parser.add_argument_group('Model exponential moving average parameters')
    group.add_argument('--model-ema', action='store_true', default=False,
                       help='Enable tracking moving average of model weights.')
    group.add_argument('--model-ema-force-cpu', action='store_true', default=False,
                       help='Force ema to be tracked on CPU, rank=0 node only. Disables EMA validation.')
    group.add_argument('--model-ema-decay', type=float, default=0.9998,
                       help='Decay factor for model weights moving average (default: 0.9998)')
    group.add_argument('--model-ema-warmup', action='store_true', help='Enable warmup for model EMA decay.')

    group = parser.add_argument_group('Miscellaneous parameters')
    group.add_argument('--seed', type=int, default=42, metavar='S', help='random seed (default: 42)')
    group.add_argument('--worker-seeding', type=str, default='all', help='worker seed mode (default: all)')
    group.add_argument('--log-interval', type=int, default=50, metavar='N',
                       help='how many batches to wait before logging training status')
    group.add_argument('--recovery-interval', type=int, default=0, metavar='N',
                       help='how many batches to wait before writing recovery checkpoint')
    group.add_argument('--checkpoint-hist', type=int, default=10, metavar='N',
                       help='number of checkpoints to keep (default: 10)')
    group.add_argument('-j', '--workers', type=int, default=4, metavar='N',
                       help='how many training processes to use (default: 4)')
    group.add_argument('--save-images', action='store_true', default=False,
                       help='save images of input batches every log interval for debugging')
    group.add_argument('--amp', action='store_true', default=False,
                       help='use Native AMP for mixed precision training')
    group.add_argument('--amp-dtype', default='float16', type=str, help='lower precision AMP dtype (default: float16)')
    group.add_argument('--no-ddp-bb', action='store_true', default=False,
                       help='Force broadcast buffers for native DDP to off.')
    group.add_argument('--synchronize-step', action='store_true', default=False,
                       help='torch.cuda.synchronize() end of each step')
    group.add_argument('--pin-mem', action='store_true', default=False,
                       help='Pin CPU memory in DataLoader for more efficient (sometimes) transfer to GPU.')
    group.add_argument('--no-prefetcher', action='store_true', default=False, help='disable fast prefetcher')
    group.add_argument('--output', default='', type=str, metavar='PATH',
                       help='path to output folder (default: none, current dir)')
    group.add_argument('--experiment', default='', type=str, metavar='NAME',
                       help='name of train experiment, name of sub-folder for output')
    group.add_argument('--eval-metric', default='top1', type=str, metavar='EVAL_METRIC',
                       help='Best metric (default: "top1")')
    group.add_argument('--local_rank', default=0, type=int)
    group.add_argument('--use-multi-epochs-loader', action='store_true', default=False,
                       help='use the multi-epochs-loader to save time at the beginning of every epoch')
    group.add_argument('--device', default=None, type=str,
                       help='Device to use, e.g. cuda, cpu (default: cuda if available, else cpu)')
    return config_parser, parser


def _parse_args(argv=None):
    config_parser, parser = build_parser()
    args_config, remaining = config_parser.parse_known_args(argv)
    if args_config.config:
        if not os.path.isfile(args_config.config):
            raise UsageError(f'config file {args_config.config} not found')
        with open(args_config.config, 'r') as f:
            cfg = yaml.safe_load(f) or {}
        known = {a.dest for a in parser._actions}
        unknown = sorted(set(cfg) - known)
        if unknown:
            _logger.warning(f'{args_config.config}: ignoring options this train.py does not have: '
                            f'{", ".join(unknown)}')
        parser.set_defaults(**{k: v for k, v in cfg.items() if k in known})
    args = parser.parse_args(remaining)
    args.config = args_config.config
    # the arguments as given, saved as args.yaml (reusable with -c), as timm does
    args_text = yaml.safe_dump(args.__dict__, default_flow_style=False)
    return args, args_text


def _check_args(args):
    """Cross-option checks and defaults that timm leaves to asserts deep inside."""
    if args.data and not args.data_dir:
        args.data_dir = args.data
    if not args.data_dir:
        raise UsageError('no data: pass --data-dir DIR (a folder with train/ and validation/ class folders, '
                         'or the torchvision CIFAR root with --dataset torch/cifar10)')
    sal_opts = dict(saliency_method=args.saliency_method, saliency_scheme=args.saliency_scheme,
                    saliency_per=args.saliency_per, saliency_border=args.saliency_border)
    if args.saliencymix <= 0:
        used = [f'--{k.replace("_", "-")}' for k, v in sal_opts.items() if v is not None]
        if args.saliency_official:
            used.append('--saliency-official')
        if used:
            raise UsageError(f'{", ".join(used)}: only used with --saliencymix ALPHA > 0 (e.g. --saliencymix 1.0)')
    args.mixup_active = (args.mixup > 0 or args.cutmix > 0. or args.cutmix_minmax is not None
                         or args.saliencymix > 0)
    if args.mixup_active and args.batch_size % 2:
        raise UsageError(f'mixing pairs each sample with the flipped batch and needs an even batch size; '
                         f'got -b {args.batch_size}')
    if ':' not in args.model and not is_model(args.model):  # hf-hub: / local-dir: names are timm's to check
        raise UsageError(f'unknown model {args.model!r}; list names with python -c "import timm; '
                         f'print(timm.list_models(\'*{args.model.split(".")[0][:6]}*\'))"')
    if args.train_pad < 0:
        raise UsageError(f'--train-pad must be >= 0, got {args.train_pad}')


def _split_folder(root, split):
    """The folder of ``split`` under ``root``, with timm's split synonyms, or None."""
    name = split.split('[')[0]
    candidates = [name]
    if name in ('train', 'training'):
        candidates += ['train', 'training']
    elif name in ('val', 'valid', 'validation', 'eval', 'evaluation'):
        candidates += ['val', 'valid', 'validation', 'eval', 'evaluation']
    for c in candidates:
        if os.path.isdir(os.path.join(root, c)):
            return os.path.join(root, c)
    return None


def _check_image_folder(root, split, flag):
    """Check a timm ImageFolder split before timm reads it; return its class folder names."""
    folder = _split_folder(root, split)
    if folder is None:
        raise UsageError(
            f'no "{split}" folder in {root}: timm\'s folder layout is {root}/{split}/<class>/<image>; '
            f'set {flag} to the name of your folder')
    exts = get_img_extensions(as_set=True)
    classes = sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)))
    if not classes:
        raise UsageError(f'{folder} has no class folders; put each class\'s images in {folder}/<class>/')
    for c in classes:
        has_image = any(os.path.splitext(f)[1].lower() in exts
                        for _, _, files in os.walk(os.path.join(folder, c), followlinks=True) for f in files)
        if not has_image:
            raise UsageError(
                f'class folder {os.path.join(folder, c)} holds no images ({", ".join(sorted(exts))}); '
                f'add images or remove the folder (timm would drop the class and shift all later labels)')
    return folder, classes


def _dataset_classes(ds):
    """Class names of a timm ImageDataset or torchvision dataset, or None if it does not say."""
    reader = getattr(ds, 'reader', None)
    if reader is not None and getattr(reader, 'class_to_idx', None):
        return [c for c, _ in sorted(reader.class_to_idx.items(), key=lambda kv: kv[1])]
    if getattr(ds, 'classes', None):
        return list(ds.classes)
    return None


def create_datasets(args):
    """Train and eval datasets via timm's create_dataset, with clear errors for bad data."""
    root = args.data_dir
    is_folder = not args.dataset and os.path.isdir(root)  # timm's ImageFolder (a .tar root is timm's ImageTar)
    if not os.path.exists(root) and not (args.dataset_download and args.dataset.startswith('torch/')):
        if args.dataset.startswith('torch/'):
            hint = 'put the torchvision files there or pass --dataset-download'
        else:
            hint = f'pass the right --data-dir, or make the built-in data: python tools/make_cls_data.py --out {root}'
        raise UsageError(f'data dir {root} does not exist; {hint}')
    folder_classes = {}
    if is_folder:
        for split, flag in ((args.train_split, '--train-split'), (args.val_split, '--val-split')):
            folder_classes[split] = _check_image_folder(root, split, flag)
    kwargs = dict(root=root, class_map=args.class_map, download=args.dataset_download, batch_size=args.batch_size)
    try:
        dataset_train = create_dataset(args.dataset, split=args.train_split, is_training=True, seed=args.seed,
                                       repeats=args.epoch_repeats, **kwargs)
        dataset_eval = create_dataset(args.dataset, split=args.val_split, is_training=False, **kwargs)
    except RuntimeError as e:
        if args.dataset.startswith('torch/') and 'not found' in str(e).lower():
            raise UsageError(f'{args.dataset} not found under {root} ({e}); put the torchvision files there '
                             f'(e.g. {root}/cifar-10-batches-py) or pass --dataset-download') from None
        raise

    train_classes = _dataset_classes(dataset_train)
    eval_classes = _dataset_classes(dataset_eval)
    if is_folder and not args.class_map:
        folder, classes = folder_classes[args.train_split]
        if train_classes != classes:
            raise UsageError(
                f'timm labels images by their innermost folder, and in {folder} that gives classes '
                f'{train_classes[:5]}... instead of the top folders {classes[:5]}...; '
                f'put each class\'s images directly in {folder}/<class>/')
    if train_classes is not None and eval_classes is not None and train_classes != eval_classes:
        only_train = sorted(set(train_classes) - set(eval_classes))[:5]
        only_eval = sorted(set(eval_classes) - set(train_classes))[:5]
        raise UsageError(
            f'train and validation splits have different classes ({len(train_classes)} vs {len(eval_classes)}; '
            f'only in train: {only_train}, only in validation: {only_eval}); labels would not match')
    num_data_classes = len(train_classes) if train_classes is not None else None
    if num_data_classes is not None:
        if args.num_classes is None:
            args.num_classes = num_data_classes
        elif args.num_classes != num_data_classes:
            raise UsageError(f'the training data has {num_data_classes} classes but --num-classes is '
                             f'{args.num_classes}; pass --num-classes {num_data_classes}')
    needed = args.batch_size * args.world_size
    if len(dataset_train) < needed:
        raise UsageError(f'the training split has {len(dataset_train)} images, fewer than one batch '
                         f'(-b {args.batch_size} x {args.world_size} processes); lower -b')
    return dataset_train, dataset_eval


def create_mixing(args, data_config):
    """(collate_fn, mixup_fn) as timm's train.py, with SaliencyMix classes when --saliencymix > 0."""
    if not args.mixup_active:
        return None, None
    mixup_args = dict(
        mixup_alpha=args.mixup,
        cutmix_alpha=args.cutmix,
        cutmix_minmax=args.cutmix_minmax,
        prob=args.mixup_prob,
        switch_prob=args.mixup_switch_prob,
        mode=args.mixup_mode,
        label_smoothing=args.smoothing,
        num_classes=args.num_classes,
    )
    if args.saliencymix > 0:
        mixup_args.update(saliencymix_alpha=args.saliencymix, official=args.saliency_official,
                          mean=tuple(data_config['mean']), std=tuple(data_config['std']))
        for key, arg in (('method', 'saliency_method'), ('scheme', 'saliency_scheme'),
                         ('per', 'saliency_per'), ('border', 'saliency_border')):
            if getattr(args, arg) is not None:
                mixup_args[key] = getattr(args, arg)
        collate_cls, batch_cls = FastCollateSaliencyMix, SaliencyMix
    else:
        collate_cls, batch_cls = FastCollateMixup, Mixup
    if args.prefetcher:
        return collate_cls(**mixup_args), None
    return None, batch_cls(**mixup_args)


def _apply_train_pad(loader, pad, input_size):
    """Swap the loader's random resized crop for zero-pad + random crop (CIFAR recipe)."""
    from torchvision import transforms
    tfs = loader.dataset.transform.transforms
    size = tuple(input_size[-2:])
    for i, t in enumerate(tfs):
        if 'RandomResizedCrop' in type(t).__name__ or 'RandomCropOrPad' in type(t).__name__:
            tfs[i] = transforms.RandomCrop(size, padding=pad, fill=0, padding_mode='constant')
            return
        if 'ResizeKeepRatio' in type(t).__name__:
            tfs[i] = transforms.RandomCrop(size, padding=pad, fill=0, padding_mode='constant')
            del tfs[i + 1]
            return
    raise UsageError('--train-pad found no random crop to replace in the training transforms (is --no-aug set?)')


def main(argv=None):
    utils.setup_default_logging()
    args, args_text = _parse_args(argv)
    _check_args(args)

    args.prefetcher = not args.no_prefetcher
    args.grad_accum_steps = max(1, args.grad_accum_steps)
    if args.device is None:
        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if args.device.startswith('cuda'):
        if not torch.cuda.is_available():
            raise UsageError(f'--device {args.device} asked for but CUDA is not available; use --device cpu')
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    device = utils.init_distributed_device(args)
    if args.distributed:
        _logger.info(f'Training in distributed mode with multiple processes, 1 device per process. '
                     f'Process {args.rank}, total {args.world_size}, device {args.device}.')
    else:
        _logger.info(f'Training with a single process on 1 device ({args.device}).')

    use_amp = False
    amp_dtype = torch.float16
    if args.amp:
        if args.amp_dtype not in ('float16', 'bfloat16'):
            raise UsageError(f'--amp-dtype must be float16 or bfloat16, got {args.amp_dtype}')
        use_amp = True
        amp_dtype = torch.bfloat16 if args.amp_dtype == 'bfloat16' else torch.float16

    utils.random_seed(args.seed, args.rank)

    dataset_train, dataset_eval = create_datasets(args)

    in_chans = 3
    if args.in_chans is not None:
        in_chans = args.in_chans
    elif args.input_size is not None:
        in_chans = args.input_size[0]
    model = create_model(
        args.model,
        pretrained=args.pretrained,
        in_chans=in_chans,
        num_classes=args.num_classes,
        drop_rate=args.drop,
        drop_path_rate=args.drop_path,
        drop_block_rate=args.drop_block,
        global_pool=args.gp,
        bn_momentum=args.bn_momentum,
        bn_eps=args.bn_eps,
        checkpoint_path=args.initial_checkpoint,
        **args.model_kwargs,
    )
    if args.num_classes is None:
        args.num_classes = model.num_classes
    if args.grad_checkpointing:
        model.set_grad_checkpointing(enable=True)
    if utils.is_primary(args):
        _logger.info(f'Model {safe_model_name(args.model)} created, '
                     f'param count:{sum(m.numel() for m in model.parameters())}')

    data_config = resolve_data_config(vars(args), model=model, verbose=utils.is_primary(args))

    model.to(device=device)
    if args.channels_last:
        model.to(memory_format=torch.channels_last)
    if args.distributed and args.sync_bn:
        args.dist_bn = ''  # sync BN keeps the stats in step already
        model = convert_sync_batchnorm(model)
        if utils.is_primary(args):
            _logger.info('Converted model to use Synchronized BatchNorm.')

    if not args.lr:
        global_batch_size = args.batch_size * args.world_size * args.grad_accum_steps
        batch_ratio = global_batch_size / args.lr_base_size
        if not args.lr_base_scale:
            on = args.opt.lower()
            args.lr_base_scale = 'sqrt' if any(o in on for o in ('ada', 'lamb')) else 'linear'
        if args.lr_base_scale == 'sqrt':
            batch_ratio = batch_ratio ** 0.5
        args.lr = args.lr_base * batch_ratio
        if utils.is_primary(args):
            _logger.info(f'Learning rate ({args.lr}) calculated from base learning rate ({args.lr_base}) '
                         f'and effective global batch size ({global_batch_size}) with {args.lr_base_scale} scaling.')

    optimizer = create_optimizer_v2(model, **optimizer_kwargs(cfg=args), **args.opt_kwargs)

    amp_autocast = suppress
    loss_scaler = None
    if use_amp:
        amp_autocast = partial(torch.autocast, device_type=device.type, dtype=amp_dtype)
        if device.type == 'cuda' and amp_dtype == torch.float16:
            loss_scaler = NativeScaler(device=device.type)
        if utils.is_primary(args):
            _logger.info(f'Using native Torch AMP ({args.amp_dtype}). Training in mixed precision.')
    elif utils.is_primary(args):
        _logger.info('AMP not enabled. Training in float32.')

    resume_epoch = None
    if args.resume:
        if not os.path.isfile(args.resume):
            raise UsageError(f'--resume {args.resume}: no such checkpoint file')
        resume_epoch = resume_checkpoint(
            model, args.resume,
            optimizer=None if args.no_resume_opt else optimizer,
            loss_scaler=None if args.no_resume_opt else loss_scaler,
            log_info=utils.is_primary(args),
        )

    model_ema = None
    if args.model_ema:
        # made after moving to the device and before the DDP wrapper, as timm does
        model_ema = utils.ModelEmaV3(model, decay=args.model_ema_decay, use_warmup=args.model_ema_warmup,
                                     device='cpu' if args.model_ema_force_cpu else None)
        if args.resume:
            load_checkpoint(model_ema.module, args.resume, use_ema=True)

    if args.distributed:
        if utils.is_primary(args):
            _logger.info('Using native Torch DistributedDataParallel.')
        model = NativeDDP(model, device_ids=[device] if device.type == 'cuda' else None,
                          broadcast_buffers=not args.no_ddp_bb)
    if args.torchcompile:
        model = torch.compile(model, backend=args.torchcompile)

    collate_fn, mixup_fn = create_mixing(args, data_config)
    if utils.is_primary(args) and args.mixup_active:
        mixer = collate_fn if collate_fn is not None else mixup_fn
        _logger.info(f'Mixing with {type(mixer).__name__} ({"collate" if collate_fn is not None else "batch"} path)')

    train_interpolation = args.train_interpolation
    if args.no_aug or not train_interpolation:
        train_interpolation = data_config['interpolation']
    loader_train = create_loader(
        dataset_train,
        input_size=data_config['input_size'],
        batch_size=args.batch_size,
        is_training=True,
        no_aug=args.no_aug,
        re_prob=args.reprob,
        re_mode=args.remode,
        re_count=args.recount,
        re_split=args.resplit,
        train_crop_mode=args.train_crop_mode,
        scale=args.scale,
        ratio=args.ratio,
        hflip=args.hflip,
        vflip=args.vflip,
        color_jitter=args.color_jitter,
        auto_augment=args.aa,
        num_aug_repeats=args.aug_repeats,
        interpolation=train_interpolation,
        mean=data_config['mean'],
        std=data_config['std'],
        num_workers=args.workers,
        distributed=args.distributed,
        collate_fn=collate_fn,
        pin_memory=args.pin_mem,
        device=device,
        use_prefetcher=args.prefetcher,
        use_multi_epochs_loader=args.use_multi_epochs_loader,
        worker_seeding=args.worker_seeding,
    )
    if args.train_pad:
        _apply_train_pad(loader_train, args.train_pad, data_config['input_size'])
    loader_eval = create_loader(
        dataset_eval,
        input_size=data_config['input_size'],
        batch_size=args.validation_batch_size or args.batch_size,
        is_training=False,
        interpolation=data_config['interpolation'],
        mean=data_config['mean'],
        std=data_config['std'],
        num_workers=args.workers,
        distributed=args.distributed,
        crop_pct=data_config['crop_pct'],
        pin_memory=args.pin_mem,
        device=device,
        use_prefetcher=args.prefetcher,
    )

    if args.mixup_active:
        # label smoothing is folded into the mixed soft targets
        if args.bce_loss:
            train_loss_fn = BinaryCrossEntropy(target_threshold=args.bce_target_thresh)
        else:
            train_loss_fn = SoftTargetCrossEntropy()
    elif args.smoothing:
        if args.bce_loss:
            train_loss_fn = BinaryCrossEntropy(smoothing=args.smoothing, target_threshold=args.bce_target_thresh)
        else:
            train_loss_fn = LabelSmoothingCrossEntropy(smoothing=args.smoothing)
    else:
        train_loss_fn = nn.CrossEntropyLoss()
    train_loss_fn = train_loss_fn.to(device=device)
    validate_loss_fn = nn.CrossEntropyLoss().to(device=device)

    updates_per_epoch = (len(loader_train) + args.grad_accum_steps - 1) // args.grad_accum_steps
    lr_scheduler, num_epochs = create_scheduler_v2(
        optimizer, **scheduler_kwargs(args, decreasing_metric=args.eval_metric == 'loss'),
        updates_per_epoch=updates_per_epoch)
    start_epoch = 0
    if args.start_epoch is not None:
        start_epoch = args.start_epoch
    elif resume_epoch is not None:
        start_epoch = resume_epoch
    if lr_scheduler is not None and start_epoch > 0:
        if args.sched_on_updates:
            lr_scheduler.step_update(start_epoch * updates_per_epoch)
        else:
            lr_scheduler.step(start_epoch)
    if start_epoch >= num_epochs:
        raise UsageError(f'nothing to train: starting at epoch {start_epoch} but the schedule has {num_epochs} '
                         f'epochs; raise --epochs to continue')

    eval_metric = args.eval_metric
    decreasing = eval_metric == 'loss'
    best_metric = None
    best_epoch = None
    saver = None
    output_dir = None
    if utils.is_primary(args):
        if args.experiment:
            output_dir = utils.get_outdir(args.output if args.output else './output/train', args.experiment)
        elif args.resume:
            output_dir = os.path.dirname(os.path.abspath(args.resume))
        else:
            exp_name = '-'.join([datetime.now().strftime('%Y%m%d-%H%M%S'), safe_model_name(args.model),
                                 str(data_config['input_size'][-1])])
            output_dir = utils.get_outdir(args.output if args.output else './output/train', exp_name)
        saver = utils.CheckpointSaver(
            model=model, optimizer=optimizer, args=args, model_ema=model_ema, amp_scaler=loss_scaler,
            checkpoint_dir=output_dir, recovery_dir=output_dir, decreasing=decreasing,
            max_history=args.checkpoint_hist)
        summary_file = os.path.join(output_dir, 'summary.csv')
        if args.resume and os.path.samefile(os.path.dirname(os.path.abspath(args.resume)), output_dir):
            saver.load_state_dict_from_checkpoint(args.resume)
            best_metric, best_epoch = saver.best_metric, saver.best_epoch
        utils.trim_summary(summary_file, start_epoch)
        with open(os.path.join(output_dir, 'args.yaml'), 'w') as f:
            f.write(args_text)
        _logger.info(f'Output: {output_dir}')

    if utils.is_primary(args):
        _logger.info(f'Scheduled epochs: {num_epochs} (starting at {start_epoch}). '
                     f'LR stepped per {"epoch" if lr_scheduler.t_in_epochs else "update"}.')

    try:
        for epoch in range(start_epoch, num_epochs):
            if hasattr(dataset_train, 'set_epoch'):
                dataset_train.set_epoch(epoch)
            elif args.distributed and hasattr(loader_train.sampler, 'set_epoch'):
                loader_train.sampler.set_epoch(epoch)

            train_metrics = train_one_epoch(
                epoch, model, loader_train, optimizer, train_loss_fn, args, device=device,
                lr_scheduler=lr_scheduler, saver=saver, output_dir=output_dir, amp_autocast=amp_autocast,
                loss_scaler=loss_scaler, model_ema=model_ema, mixup_fn=mixup_fn)

            if args.distributed and args.dist_bn in ('broadcast', 'reduce'):
                if utils.is_primary(args):
                    _logger.info('Distributing BatchNorm running means and vars')
                utils.distribute_bn(model, args.world_size, args.dist_bn == 'reduce')

            eval_metrics = validate(model, loader_eval, validate_loss_fn, args, device=device,
                                    amp_autocast=amp_autocast)
            if model_ema is not None and not args.model_ema_force_cpu:
                if args.distributed and args.dist_bn in ('broadcast', 'reduce'):
                    utils.distribute_bn(model_ema, args.world_size, args.dist_bn == 'reduce')
                eval_metrics = validate(model_ema, loader_eval, validate_loss_fn, args, device=device,
                                        amp_autocast=amp_autocast, log_suffix=' (EMA)')

            if output_dir is not None:
                lrs = [g['lr'] for g in optimizer.param_groups]
                utils.update_summary(epoch, train_metrics, eval_metrics, filename=summary_file,
                                     lr=sum(lrs) / len(lrs))
            if saver is not None:
                best_metric, best_epoch = saver.save_checkpoint(epoch, metric=eval_metrics[eval_metric])
            if lr_scheduler is not None:
                lr_scheduler.step(epoch + 1, eval_metrics[eval_metric])
    except KeyboardInterrupt:
        pass

    if best_metric is not None:
        _logger.info(f'*** Best metric: {best_metric} (epoch {best_epoch})')
    if args.distributed:
        torch.distributed.destroy_process_group()


def train_one_epoch(
        epoch, model, loader, optimizer, loss_fn, args, device=torch.device('cuda'), lr_scheduler=None,
        saver=None, output_dir=None, amp_autocast=suppress, loss_scaler=None, model_ema=None, mixup_fn=None):
    """One pass over the training loader; returns OrderedDict(loss=mean loss)."""
    if args.mixup_off_epoch and epoch >= args.mixup_off_epoch:
        if args.prefetcher and loader.mixup_enabled:
            loader.mixup_enabled = False
        elif mixup_fn is not None:
            mixup_fn.mixup_enabled = False

    second_order = getattr(optimizer, 'is_second_order', False)
    has_no_sync = hasattr(model, 'no_sync')
    update_time_m = utils.AverageMeter()
    data_time_m = utils.AverageMeter()
    losses_m = utils.AverageMeter()

    model.train()

    accum_steps = args.grad_accum_steps
    last_accum_steps = len(loader) % accum_steps
    updates_per_epoch = (len(loader) + accum_steps - 1) // accum_steps
    num_updates = epoch * updates_per_epoch
    last_batch_idx = len(loader) - 1
    last_batch_idx_to_accum = len(loader) - last_accum_steps

    epoch_start = data_start_time = update_start_time = time.time()
    data_wait = 0.
    epoch_samples = 0
    optimizer.zero_grad()
    update_sample_count = 0
    for batch_idx, (input, target) in enumerate(loader):
        last_batch = batch_idx == last_batch_idx
        need_update = last_batch or (batch_idx + 1) % accum_steps == 0
        update_idx = batch_idx // accum_steps
        if batch_idx >= last_batch_idx_to_accum:
            accum_steps = last_accum_steps

        if not args.prefetcher:
            input, target = input.to(device), target.to(device)
            if mixup_fn is not None:
                input, target = mixup_fn(input, target)
        if args.channels_last:
            input = input.contiguous(memory_format=torch.channels_last)

        data_time_m.update(accum_steps * (time.time() - data_start_time))
        data_wait += time.time() - data_start_time

        def _forward():
            with amp_autocast():
                output = model(input)
                loss = loss_fn(output, target)
            if accum_steps > 1:
                loss /= accum_steps
            return loss

        def _backward(_loss):
            if loss_scaler is not None:
                loss_scaler(_loss, optimizer, clip_grad=args.clip_grad, clip_mode=args.clip_mode,
                            parameters=model_parameters(model, exclude_head='agc' in args.clip_mode),
                            create_graph=second_order, need_update=need_update)
            else:
                _loss.backward(create_graph=second_order)
                if need_update:
                    if args.clip_grad is not None:
                        utils.dispatch_clip_grad(model_parameters(model, exclude_head='agc' in args.clip_mode),
                                                 value=args.clip_grad, mode=args.clip_mode)
                    optimizer.step()

        if has_no_sync and not need_update:
            with model.no_sync():
                loss = _forward()
                _backward(loss)
        else:
            loss = _forward()
            _backward(loss)

        if not args.distributed:
            losses_m.update(loss.item() * accum_steps, input.size(0))
        update_sample_count += input.size(0)
        epoch_samples += input.size(0)

        if not need_update:
            data_start_time = time.time()
            continue

        num_updates += 1
        optimizer.zero_grad()
        if model_ema is not None:
            model_ema.update(model, step=num_updates)

        if args.synchronize_step and device.type == 'cuda':
            torch.cuda.synchronize()
        time_now = time.time()
        update_time_m.update(time_now - update_start_time)
        update_start_time = time_now

        if update_idx % args.log_interval == 0 or last_batch:
            lrl = [g['lr'] for g in optimizer.param_groups]
            lr = sum(lrl) / len(lrl)
            if args.distributed:
                reduced_loss = utils.reduce_tensor(loss.data, args.world_size)
                losses_m.update(reduced_loss.item() * accum_steps, input.size(0))
                update_sample_count *= args.world_size
            if utils.is_primary(args):
                _logger.info(
                    f'Train: {epoch} [{update_idx:>4d}/{updates_per_epoch} '
                    f'({100. * (update_idx + 1) / updates_per_epoch:>3.0f}%)]  '
                    f'Loss: {losses_m.val:#.3g} ({losses_m.avg:#.3g})  '
                    f'Time: {update_time_m.val:.3f}s, {update_sample_count / update_time_m.val:>7.2f}/s  '
                    f'({update_time_m.avg:.3f}s, {update_sample_count / update_time_m.avg:>7.2f}/s)  '
                    f'LR: {lr:.3e}  '
                    f'Data: {data_time_m.val:.3f} ({data_time_m.avg:.3f})')
                if args.save_images and output_dir:
                    torchvision.utils.save_image(input, os.path.join(output_dir, f'train-batch-{batch_idx}.jpg'),
                                                 padding=0, normalize=True)

        if saver is not None and args.recovery_interval and (update_idx + 1) % args.recovery_interval == 0:
            saver.save_recovery(epoch, batch_idx=update_idx)
        if lr_scheduler is not None:
            lr_scheduler.step_update(num_updates=num_updates, metric=losses_m.avg)

        update_sample_count = 0
        data_start_time = time.time()

    if hasattr(optimizer, 'sync_lookahead'):
        optimizer.sync_lookahead()
    elapsed = time.time() - epoch_start
    if utils.is_primary(args):
        total = epoch_samples * args.world_size
        _logger.info(f'Train: {epoch} done: {total} images in {elapsed:.1f}s, {total / elapsed:.1f} images/s '
                     f'(waiting for data {data_wait:.1f}s)')
    return OrderedDict([('loss', losses_m.avg)])


def validate(model, loader, loss_fn, args, device=torch.device('cuda'), amp_autocast=suppress, log_suffix=''):
    """Loss, top-1 and top-5 on the eval loader, reduced over processes."""
    batch_time_m = utils.AverageMeter()
    losses_m = utils.AverageMeter()
    top1_m = utils.AverageMeter()
    top5_m = utils.AverageMeter()

    model.eval()
    end = time.time()
    last_idx = len(loader) - 1
    with torch.no_grad():
        for batch_idx, (input, target) in enumerate(loader):
            last_batch = batch_idx == last_idx
            if not args.prefetcher:
                input = input.to(device)
                target = target.to(device)
            if args.channels_last:
                input = input.contiguous(memory_format=torch.channels_last)

            with amp_autocast():
                output = model(input)
                if isinstance(output, (tuple, list)):
                    output = output[0]
                loss = loss_fn(output, target)
            acc1, acc5 = utils.accuracy(output, target, topk=(1, 5))

            if args.distributed:
                reduced_loss = utils.reduce_tensor(loss.data, args.world_size)
                acc1 = utils.reduce_tensor(acc1, args.world_size)
                acc5 = utils.reduce_tensor(acc5, args.world_size)
            else:
                reduced_loss = loss.data
            if device.type == 'cuda':
                torch.cuda.synchronize()

            losses_m.update(reduced_loss.item(), input.size(0))
            top1_m.update(acc1.item(), output.size(0))
            top5_m.update(acc5.item(), output.size(0))

            batch_time_m.update(time.time() - end)
            end = time.time()
            if utils.is_primary(args) and (last_batch or batch_idx % args.log_interval == 0):
                log_name = 'Test' + log_suffix
                _logger.info(
                    f'{log_name}: [{batch_idx:>4d}/{last_idx}]  '
                    f'Time: {batch_time_m.val:.3f} ({batch_time_m.avg:.3f})  '
                    f'Loss: {losses_m.val:>7.3f} ({losses_m.avg:>6.3f})  '
                    f'Acc@1: {top1_m.val:>7.3f} ({top1_m.avg:>7.3f})  '
                    f'Acc@5: {top5_m.val:>7.3f} ({top5_m.avg:>7.3f})')

    return OrderedDict([('loss', losses_m.avg), ('top1', top1_m.avg), ('top5', top5_m.avg)])


def cli(argv=None):
    """Entry point: run main(), print user errors as one line (exit status 2) instead of a traceback."""
    try:
        main(argv)
    except UsageError as e:
        rank = os.environ.get('RANK')
        if rank in (None, '0'):
            print(f'train.py: error: {e}', file=sys.stderr)
        sys.exit(2)


if __name__ == '__main__':
    cli()
