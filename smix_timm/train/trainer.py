"""Train a timm image classifier, with SaliencyMix when ``--saliencymix`` > 0.

A short trainer on timm's library (datasets, loaders, models, optimizers, schedulers, EMA,
checkpoint saver). Flags that timm's ``train.py`` has keep their names, defaults and meaning, so a
timm command line or ``-c`` YAML works here; the SaliencyMix options are those of
``smix_timm.train.options``. Already have timm's own ``train.py``? Use
``python -m smix_timm.timm_train PATH/TO/train.py ... --saliencymix 1.0`` instead.

    python tools/train.py -c configs/timm/tiny_cpu_saliencymix.yaml --data-dir data/smix_cls
    python tools/train.py -c CONFIG --data-dir DIR --resume output/train/EXP/last.pth.tar
    torchrun --nproc_per_node 2 tools/train.py -c CONFIG --data-dir DIR

Mixing runs in the prefetching loader's collate by default (``FastCollateSaliencyMix``) and on each
batch with ``--no-prefetcher`` (``SaliencyMix``). ``--train-pad N`` replaces the random resized crop
by zero-padding and a random crop (the CIFAR recipe). The device is CUDA when there is one, else the
CPU (``--device``); torchrun runs DDP with nccl on GPUs and gloo on CPUs. Outputs are timm's:
``output/train/<experiment>/{last,model_best,checkpoint-N}.pth.tar``, ``summary.csv``, ``args.yaml``.
"""
import glob
import logging
import os
import sys
import time
from collections import OrderedDict
from contextlib import nullcontext
from datetime import datetime
from functools import partial

import torch
from timm import utils
from timm.data import create_loader, resolve_data_config
from timm.layers import convert_sync_batchnorm
from timm.loss import BinaryCrossEntropy, LabelSmoothingCrossEntropy, SoftTargetCrossEntropy
from timm.models import create_model, load_checkpoint, model_parameters, resume_checkpoint, safe_model_name
from timm.optim import create_optimizer_v2, optimizer_kwargs
from timm.scheduler import create_scheduler_v2, scheduler_kwargs

import smix_timm.models  # noqa: F401  (registers resnet18_cifar, resnet50_cifar, wrn28_10, wrn16_2 with timm)
from smix_timm.checkpoint import (
    OutputWriteError,
    atomic_checkpoint_saver,
    atomic_write_text,
    describe_resumable,
    run_folder_writes,
)
from smix_timm.params import check_cutmix_minmax
from smix_timm.train.cli import check_args, mixing_on, parse_command_line
from smix_timm.train.data import build_datasets, build_train_eval_set, replace_crop_with_pad
from smix_timm.train.errors import UsageError
from smix_timm.train.options import build_mixing, describe_mixing

log = logging.getLogger("train")


# ----------------------------------------------------------------------------------------- setup
def setup_device(args) -> torch.device:
    args.device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if args.device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UsageError(f"--device {args.device} asked for but CUDA is not available; use --device cpu")
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    device = utils.init_distributed_device(args)  # sets args.distributed, world_size, rank, local_rank
    if args.distributed:
        log.info("Training in distributed mode: process %d of total %d, device %s", args.rank, args.world_size,
                 args.device)
    else:
        log.info("Training in one process on %s", args.device)
    return device


def build_model(args):
    in_chans = args.in_chans or (args.input_size[0] if args.input_size else 3)
    model = create_model(args.model, pretrained=args.pretrained, in_chans=in_chans, num_classes=args.num_classes,
                         drop_rate=args.drop, drop_path_rate=args.drop_path, drop_block_rate=args.drop_block,
                         global_pool=args.gp, bn_momentum=args.bn_momentum, bn_eps=args.bn_eps,
                         checkpoint_path=args.initial_checkpoint, **args.model_kwargs)
    args.num_classes = args.num_classes or model.num_classes
    if args.grad_checkpointing:
        model.set_grad_checkpointing(enable=True)
    if utils.is_primary(args):
        log.info("Model %s: %d parameters", safe_model_name(args.model), sum(p.numel() for p in model.parameters()))
    return model


def scaled_learning_rate(args) -> float:
    """--lr, or --lr-base scaled by global batch / --lr-base-size (linear; sqrt for adaptive optimizers)."""
    if args.lr:
        return args.lr
    global_batch = args.batch_size * args.world_size * args.grad_accum_steps
    rule = args.lr_base_scale or ("sqrt" if "ada" in args.opt.lower() or "lamb" in args.opt.lower() else "linear")
    ratio = global_batch / args.lr_base_size
    lr = args.lr_base * (ratio ** 0.5 if rule == "sqrt" else ratio)
    if utils.is_primary(args):
        log.info("Learning rate %g = --lr-base %g x (%d / %d, %s)", lr, args.lr_base, global_batch, args.lr_base_size,
                 rule)
    return lr


def loader_settings(args, data_config, device) -> dict:
    """create_loader arguments shared by the training and evaluation loaders."""
    return dict(input_size=data_config["input_size"], mean=data_config["mean"], std=data_config["std"],
                num_workers=args.workers, distributed=args.distributed, pin_memory=args.pin_mem, device=device,
                use_prefetcher=args.prefetcher)


def build_loaders(args, data_config, train_set, eval_set, collate_fn, device):
    shared = loader_settings(args, data_config, device)
    interpolation = data_config["interpolation"] if args.no_aug or not args.train_interpolation \
        else args.train_interpolation
    train_loader = create_loader(
        train_set, batch_size=args.batch_size, is_training=True, no_aug=args.no_aug, re_prob=args.reprob,
        re_mode=args.remode, re_count=args.recount, re_split=args.resplit, train_crop_mode=args.train_crop_mode,
        scale=args.scale, ratio=args.ratio, hflip=args.hflip, vflip=args.vflip, color_jitter=args.color_jitter,
        auto_augment=args.aa, num_aug_repeats=args.aug_repeats, interpolation=interpolation, collate_fn=collate_fn,
        use_multi_epochs_loader=args.use_multi_epochs_loader, worker_seeding=args.worker_seeding, **shared)
    if args.train_pad:
        replace_crop_with_pad(train_loader, args.train_pad, data_config["input_size"])
    eval_loader = eval_loader_for(eval_set, args, data_config, shared)
    return train_loader, eval_loader


class EvalShard(torch.utils.data.Dataset):
    """This process's share of an evaluation set: images ``rank``, ``rank + world_size``, ... once each.

    timm's distributed evaluation sampler pads the last shard with repeated images so that every process
    gets as many; summed across processes, those repeats would be counted twice. Here every image is in
    exactly one shard and no shard is padded, so the all-reduced sums are exact (shards may differ by one
    image, hence :func:`evaluation_model`, which makes no collective call per batch).

    ``transform`` reads and sets the wrapped dataset's, as timm's ``create_loader`` sets it.

    Args:
        dataset: a map-style dataset (timm ``ImageDataset``, torchvision dataset).
        rank: this process's rank.
        world_size: the number of processes.
    """

    def __init__(self, dataset, rank: int, world_size: int):
        self.dataset = dataset
        self.indices = range(rank, len(dataset), world_size)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[self.indices[index]]

    @property
    def transform(self):
        return getattr(self.dataset, "transform", None)

    @transform.setter
    def transform(self, value):
        self.dataset.transform = value


def eval_loader_for(dataset, args, data_config, shared: dict):
    """timm's evaluation loader (no augmentation, centre crop) over ``dataset``; under DDP over this
    process's unpadded :class:`EvalShard`, so that every image is counted once."""
    shared = dict(shared)
    if shared.pop("distributed") and not isinstance(dataset, torch.utils.data.IterableDataset):
        dataset = EvalShard(dataset, args.rank, args.world_size)
    return create_loader(dataset, batch_size=args.validation_batch_size or args.batch_size, is_training=False,
                         interpolation=data_config["interpolation"], crop_pct=data_config["crop_pct"],
                         distributed=False, **shared)


def evaluation_model(model):
    """The module to evaluate: under DDP the wrapped module itself, since each process scores its own shard
    and DDP's forward could start a collective call that a process with fewer batches would never join
    (see :func:`share_buffers` for what DDP's forward would have synchronised). Under DDP with
    ``--torchcompile`` the uncompiled module is evaluated.

    Args:
        model: the training model (plain, DDP, or compiled).

    Returns:
        The module to call in :func:`evaluate`.
    """
    inner = getattr(model, "_orig_mod", model)  # torch.compile's wrapper
    return inner.module if isinstance(inner, torch.nn.parallel.DistributedDataParallel) else model


def share_buffers(module) -> None:
    """Give every process rank 0's buffers (BatchNorm statistics), as DDP's first forward after training
    does; called before an evaluation under DDP unless ``--dist-bn`` already made them equal or
    ``--no-ddp-bb`` turned buffer broadcasting off."""
    for buffer in module.buffers():
        torch.distributed.broadcast(buffer, 0)


def training_loss(args):
    """Mixed (soft) targets carry the smoothing already; otherwise smoothing goes into the loss."""
    if mixing_on(args):
        return BinaryCrossEntropy(target_threshold=args.bce_target_thresh) if args.bce_loss \
            else SoftTargetCrossEntropy()
    if args.smoothing:
        return BinaryCrossEntropy(smoothing=args.smoothing, target_threshold=args.bce_target_thresh) \
            if args.bce_loss else LabelSmoothingCrossEntropy(smoothing=args.smoothing)
    return torch.nn.CrossEntropyLoss()


UNSCORED = OrderedDict(loss="", top1="", top5="")  # summary.csv's eval columns of an epoch between validations
# what a run writes into its folder (timm's names, and ours for --save-images); partial files of our writers too
RUN_FILES = ("summary.csv", "last.pth.tar", "model_best.pth.tar", "args.yaml", "checkpoint-*.pth.tar",
             "recovery-*.pth.tar", "tmp.pth.tar", "recovery_tmp.pth.tar", "train-batch-*.jpg", "*.pth.tar.partial",
             "args.yaml.partial")


def run_files(folder: str):
    """The files of a run in ``folder``.

    Args:
        folder: an existing folder.

    Returns:
        The names in it that match ``RUN_FILES``, sorted.
    """
    found = {os.path.basename(p) for pattern in RUN_FILES for p in glob.glob(os.path.join(glob.escape(folder),
                                                                                           pattern))}
    return sorted(found)


def resumable_checkpoint(folder: str):
    """The checkpoint a run in ``folder`` continues from.

    Args:
        folder: a run folder.

    Returns:
        ``last.pth.tar``, else the newest recovery or epoch checkpoint; None when the run saved none (e.g. it
        was interrupted in its first epoch), so that no message offers a ``--resume`` of a missing file.
    """
    last = os.path.join(folder, "last.pth.tar")
    if os.path.isfile(last):
        return last
    others = [p for pattern in ("recovery-*.pth.tar", "checkpoint-*.pth.tar")
              for p in glob.glob(os.path.join(glob.escape(folder), pattern))]
    return max(others, key=os.path.getmtime) if others else None


def move_run_aside(folder: str, files) -> str:
    """Move the run files ``files`` of ``folder`` into a new sibling folder ``<folder>.replaced-<time>``.

    ``--overwrite-output`` moves rather than deletes: the old run is still the user's, and a wrong
    ``--experiment`` should not cost them their checkpoints. Other files in ``folder`` stay.

    Returns:
        The folder the files went to.

    Raises:
        OutputWriteError: the files could not be moved (the message says which were).
    """
    base = f"{os.path.abspath(folder)}.replaced-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    aside, n = base, 1
    while os.path.lexists(aside):
        n += 1
        aside = f"{base}-{n}"
    moved = []
    try:
        os.makedirs(aside)
        for name in files:
            os.rename(os.path.join(folder, name), os.path.join(aside, name))
            moved.append(name)
    except OSError as err:
        if not moved and os.path.isdir(aside):
            os.rmdir(aside)  # made here, still empty
        with run_folder_writes(folder, f"the earlier run aside to {aside} ({len(moved)} of its {len(files)} "
                                       "files were moved before this)"):
            raise err
    return aside


def output_folder(args, data_config, args_text: str):
    """Make the run folder and try a write into it, before the expensive setup (so a refusal or an
    unwritable folder comes first).

    A folder holding another run is refused unless the run is resumed there; ``--overwrite-output``
    moves the old run's files aside (:func:`move_run_aside`), so nothing of it mixes with the new run.

    Args:
        args: the trainer's options (``output``, ``experiment``, ``resume``, ``overwrite_output``, ``model``).
        data_config: timm's resolved data config (its input size names a timestamped folder).
        args_text: the YAML text of the options (``args.yaml``), written once as a probe.

    Returns:
        (run folder, whether --resume continues in it).

    Raises:
        UsageError: the folder holds another run (the message says how to continue or replace it).
        OutputWriteError: the folder cannot be made or written (a file in the way, read-only, disk full).
    """
    root = args.output or "./output/train"
    if args.experiment:
        folder = os.path.join(root, args.experiment)
    elif args.resume:  # continue where the checkpoint lives
        folder = os.path.dirname(os.path.abspath(args.resume))
    else:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        folder = os.path.join(root, f"{stamp}-{safe_model_name(args.model)}-{data_config['input_size'][-1]}")
    resuming_here = bool(args.resume) and os.path.isdir(folder) and os.path.samefile(
        os.path.dirname(os.path.abspath(args.resume)), folder)
    found = run_files(folder) if os.path.isdir(folder) else []
    if found and not resuming_here:
        if not args.overwrite_output:
            shown = ", ".join(found[:4]) + (", ..." if len(found) > 4 else "")
            checkpoint = resumable_checkpoint(folder)
            how = f"continue it with --resume {checkpoint}" if checkpoint else \
                "it saved no checkpoint (stopped before its first one?), so there is nothing to resume"
            raise UsageError(f"{folder} already holds a run ({shown}); {how}; replace it with --overwrite-output "
                             "(the old files are moved aside, not deleted), or choose another --experiment")
        aside = move_run_aside(folder, found)
        log.warning("--overwrite-output: moved the earlier run's %d files from %s to %s", len(found), folder, aside)
    probe = os.path.join(folder, "args.yaml.partial")
    with run_folder_writes(folder, "the run folder", temporaries=[probe]):
        os.makedirs(folder, exist_ok=True)
        with open(probe, "w") as f:  # can we write here? (args.yaml itself once the setup has succeeded)
            f.write(args_text)
        os.remove(probe)
    return folder, resuming_here


def check_data_config(args, data_config) -> None:
    """What timm's loader will feed against what the model takes, before anything is trained."""
    channels, height, width = data_config["input_size"]
    if channels != 3:
        raise UsageError(f"timm's loader reads the images as 3-channel RGB but the model takes {channels} channels "
                         "(--in-chans / --input-size); drop that option")
    try:
        check_cutmix_minmax(args.cutmix_minmax, height, width)
    except ValueError as err:
        raise UsageError(f"--cutmix-minmax: {err}") from None


# ----------------------------------------------------------------------------------------- epochs
class Step:
    """What one epoch needs besides the model and the data."""

    def __init__(self, args, device, optimizer, loss_fn, autocast, scaler, ema, scheduler, saver, out_dir, mixer):
        self.args, self.device, self.optimizer, self.loss_fn = args, device, optimizer, loss_fn
        self.autocast, self.scaler, self.ema, self.scheduler = autocast, scaler, ema, scheduler
        self.saver, self.out_dir, self.mixer = saver, out_dir, mixer

    def writes(self, what: str, temporaries=(), appending=()):
        """:func:`smix_timm.checkpoint.run_folder_writes` for the run folder: a failed write is one line that
        says what can be resumed; the saver's temporary files are removed."""
        return run_folder_writes(self.out_dir, what, resumable=self.resumable,
                                 temporaries=list(temporaries) + self.saver.temporaries(), appending=appending)

    def resumable(self) -> str:
        return describe_resumable(self.out_dir, self.saver.last_saved_epoch)

    def summary_row(self, epoch: int, train_metrics, eval_metrics) -> None:
        """Append the epoch's row to summary.csv (whole, or not at all)."""
        summary = os.path.join(self.out_dir, "summary.csv")
        with self.writes(f"summary.csv's row of epoch {epoch}", appending=[summary]):
            utils.update_summary(epoch, train_metrics, eval_metrics, filename=summary, lr=mean_lr(self.optimizer))

    def backward(self, model, loss, update: bool) -> None:
        args = self.args
        params = model_parameters(model, exclude_head="agc" in args.clip_mode)
        create_graph = getattr(self.optimizer, "is_second_order", False)
        if self.scaler is not None:  # timm's scaler does backward, unscale, clip and step
            self.scaler(loss, self.optimizer, clip_grad=args.clip_grad, clip_mode=args.clip_mode,
                        parameters=params, create_graph=create_graph, need_update=update)
            return
        loss.backward(create_graph=create_graph)
        if update:
            if args.clip_grad is not None:
                utils.dispatch_clip_grad(params, value=args.clip_grad, mode=args.clip_mode)
            self.optimizer.step()


def mean_lr(optimizer) -> float:
    """The learning rate of the optimizer's parameter groups, averaged (summary.csv's lr, the log's LR)."""
    return sum(g["lr"] for g in optimizer.param_groups) / len(optimizer.param_groups)


def train_epoch(epoch: int, model, loader, step: Step) -> OrderedDict:
    """One pass over the training data; logs progress every --log-interval updates."""
    args = step.args
    if step.mixer is not None and args.mixup_off_epoch and epoch >= args.mixup_off_epoch:
        step.mixer.mixup_enabled = False  # for the collate object too: it is the one the loader calls
    model.train()
    batches, accum = len(loader), args.grad_accum_steps
    full_groups_end = batches - batches % accum  # batches after this form the short last group
    updates_per_epoch = (batches + accum - 1) // accum
    update = epoch * updates_per_epoch
    loss_sum = torch.zeros((), dtype=torch.float32, device=step.device)  # on the device: no sync per step
    seen, group_images = 0, 0
    epoch_start = interval_start = batch_end = time.time()
    waited = 0.0
    step.optimizer.zero_grad()
    for index, (images, target) in enumerate(loader):
        waited += time.time() - batch_end
        if not args.prefetcher:
            images, target = images.to(step.device), target.to(step.device)
            if step.mixer is not None:
                images, target = step.mixer(images, target)
        if args.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        group = accum if index < full_groups_end else batches - full_groups_end
        ends_group = (index + 1) % accum == 0 or index == batches - 1
        quiet = hasattr(model, "no_sync") and not ends_group  # no gradient all-reduce inside a group
        with model.no_sync() if quiet else nullcontext():
            with step.autocast():
                loss = step.loss_fn(model(images), target)
            step.backward(model, loss / group, ends_group)
        loss_sum += loss.detach().float() * images.size(0)
        seen += images.size(0)
        group_images += images.size(0)
        batch_end = time.time()
        if not ends_group:
            continue

        update += 1
        step.optimizer.zero_grad()
        if step.ema is not None:
            step.ema.update(model, step=update)
        if args.synchronize_step and step.device.type == "cuda":
            torch.cuda.synchronize()
        in_epoch = update - epoch * updates_per_epoch
        if (in_epoch - 1) % args.log_interval == 0 or index == batches - 1:
            log_progress(epoch, in_epoch, updates_per_epoch, loss, mean_loss(loss_sum, seen, args), group_images,
                         interval_start, step, images)
            group_images, interval_start = 0, time.time()
        if step.saver is not None and args.recovery_interval and in_epoch % args.recovery_interval == 0:
            with step.writes(f"a recovery checkpoint of epoch {epoch}"):
                step.saver.save_recovery(epoch, batch_idx=in_epoch - 1)
        if step.scheduler is not None:
            step.scheduler.step_update(num_updates=update)
        batch_end = time.time()
    if hasattr(step.optimizer, "sync_lookahead"):
        step.optimizer.sync_lookahead()
    epoch_loss = mean_loss(loss_sum, seen, args)
    if utils.is_primary(args):
        elapsed = time.time() - epoch_start
        total = seen * args.world_size
        log.info("Train: %d done: %d images in %.1fs, %.1f images/s (waiting for data %.1fs)", epoch, total, elapsed,
                 total / elapsed, waited)
    return OrderedDict(loss=epoch_loss)


def mean_loss(loss_sum: torch.Tensor, count: int, args) -> float:
    """Mean training loss so far in the epoch, averaged over processes (a collective call under DDP)."""
    mean = loss_sum / max(count, 1)
    if args.distributed:
        mean = utils.reduce_tensor(mean, args.world_size)
    return mean.item()


def log_progress(epoch, in_epoch, updates, loss, average, images_since, since, step: Step, images) -> None:
    """One progress line (primary process); with --save-images also the batch as a picture."""
    args = step.args
    if not utils.is_primary(args):
        return
    rate = images_since * args.world_size / max(time.time() - since, 1e-9)
    lr = mean_lr(step.optimizer)
    log.info("Train: %d [%d/%d]  Loss: %.4g (avg %.4g)  LR: %.3e  %.1f images/s", epoch, in_epoch, updates,
             loss.item(), average, lr, rate)
    if args.save_images and step.out_dir:
        import torchvision.utils
        path = os.path.join(step.out_dir, f"train-batch-{epoch}-{in_epoch}.jpg")
        with step.writes(f"the picture {os.path.basename(path)}", temporaries=[path]):
            torchvision.utils.save_image(images, path, padding=0, normalize=True)


@torch.no_grad()
def evaluate(model, loader, args, device, autocast, label="Test") -> OrderedDict:
    """Loss, top-1 and top-5 (percent) over the evaluation split, summed exactly across processes."""
    model.eval()
    loss_fn = torch.nn.CrossEntropyLoss(reduction="sum")
    sums = torch.zeros(4, dtype=torch.float64, device=device)  # loss, top-1 hits, top-5 hits, images
    for images, target in loader:
        if not args.prefetcher:
            images, target = images.to(device), target.to(device)
        if args.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with autocast():
            logits = model(images)
        logits = logits[0] if isinstance(logits, (tuple, list)) else logits
        top = logits.topk(min(5, logits.shape[1]), dim=1).indices == target[:, None]
        sums += torch.stack([loss_fn(logits.float(), target).double(), top[:, :1].sum().double(),
                             top.sum().double(), torch.tensor(float(len(target)), device=device, dtype=torch.float64)])
    if args.distributed:
        torch.distributed.all_reduce(sums)
    loss, top1, top5, count = sums.tolist()
    metrics = OrderedDict(loss=loss / count, top1=100.0 * top1 / count, top5=100.0 * top5 / count)
    if utils.is_primary(args):
        log.info("%s: %d images  Loss: %.4f  Acc@1: %.3f  Acc@5: %.3f", label, int(count), *metrics.values())
    return metrics


# ----------------------------------------------------------------------------------------- main
def main(argv=None) -> None:
    utils.setup_default_logging()
    args, args_text = parse_command_line(argv)
    check_args(args)
    device = setup_device(args)
    utils.random_seed(args.seed, args.rank)
    train_set, eval_set = build_datasets(args)
    model = build_model(args)
    data_config = resolve_data_config(vars(args), model=model, verbose=utils.is_primary(args))
    check_data_config(args, data_config)
    try:
        mixer = build_mixing(args, collate=args.prefetcher, mean=data_config["mean"], std=data_config["std"])
    except ValueError as err:  # settings the mixing classes refuse (e.g. --saliency-official with a method)
        raise UsageError(str(err)) from None
    out_dir, resuming_here = output_folder(args, data_config, args_text) if utils.is_primary(args) else (None, False)
    model.to(device=device)
    if args.channels_last:
        model.to(memory_format=torch.channels_last)
    if args.distributed and args.sync_bn:
        args.dist_bn = ""  # synchronised BatchNorm keeps the statistics equal already
        model = convert_sync_batchnorm(model)
    args.lr = scaled_learning_rate(args)
    optimizer = create_optimizer_v2(model, **optimizer_kwargs(cfg=args), **args.opt_kwargs)

    autocast, scaler = nullcontext, None
    if args.amp:
        amp_dtype = torch.bfloat16 if args.amp_dtype == "bfloat16" else torch.float16
        autocast = partial(torch.autocast, device_type=device.type, dtype=amp_dtype)
        if device.type == "cuda" and amp_dtype == torch.float16:
            scaler = utils.NativeScaler(device=device.type)
    start_epoch = 0
    if args.resume:  # checked by check_args: readable, timm's format, same architecture
        keep_opt = not args.no_resume_opt
        try:
            start_epoch = resume_checkpoint(model, args.resume, optimizer=optimizer if keep_opt else None,
                                            loss_scaler=scaler if keep_opt else None,
                                            log_info=utils.is_primary(args)) or 0
        except (RuntimeError, KeyError, ValueError) as err:  # e.g. other num_classes or layer shapes
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise UsageError(f"--resume {args.resume} does not fit this model ({reason}); resume with the "
                             "run's own options (its args.yaml, e.g. -c args.yaml)") from None
    if args.start_epoch is not None:
        start_epoch = args.start_epoch
    ema = None
    if args.model_ema:  # after .to(device), before the DDP wrapper
        ema = utils.ModelEmaV3(model, decay=args.model_ema_decay, use_warmup=args.model_ema_warmup,
                               device="cpu" if args.model_ema_force_cpu else None)
        if args.resume:
            load_checkpoint(ema.module, args.resume, use_ema=True)
    if args.distributed:
        model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device] if device.type == "cuda" else None, broadcast_buffers=not args.no_ddp_bb)
    if args.torchcompile:
        model = torch.compile(model, backend=args.torchcompile)
    eval_model = evaluation_model(model)

    if mixer is not None and utils.is_primary(args):
        log.info(describe_mixing(mixer))
    train_loader, eval_loader = build_loaders(args, data_config, train_set, eval_set,
                                              mixer if args.prefetcher else None, device)
    train_eval_loader = None
    if args.eval_train:  # the same loader settings as validation, over the training images
        train_eval_loader = eval_loader_for(build_train_eval_set(args), args, data_config,
                                            loader_settings(args, data_config, device))
    updates_per_epoch = (len(train_loader) + args.grad_accum_steps - 1) // args.grad_accum_steps
    scheduler, num_epochs = create_scheduler_v2(
        optimizer, **scheduler_kwargs(args, decreasing_metric=args.eval_metric == "loss"),
        updates_per_epoch=updates_per_epoch)
    if scheduler is not None and start_epoch > 0:
        if args.sched_on_updates:
            scheduler.step_update(start_epoch * updates_per_epoch)
        else:
            scheduler.step(start_epoch)
    if start_epoch >= num_epochs:
        raise UsageError(f"nothing to train: starting at epoch {start_epoch} but the schedule has {num_epochs} "
                         "epochs; raise --epochs to continue")

    saver = None
    best = (None, None)
    if out_dir is not None:
        saver = atomic_checkpoint_saver(
            model=model, optimizer=optimizer, args=args, model_ema=ema, amp_scaler=scaler, checkpoint_dir=out_dir,
            recovery_dir=out_dir, decreasing=args.eval_metric == "loss", max_history=args.checkpoint_hist,
            resumed_epoch=start_epoch - 1 if resuming_here and start_epoch > 0 else None)
        if resuming_here:
            saver.load_state_dict_from_checkpoint(args.resume)  # keeps the best so far and the history
            best = (saver.best_metric, saver.best_epoch)
        summary = os.path.join(out_dir, "summary.csv")
        with run_folder_writes(out_dir, "summary.csv and args.yaml", resumable=lambda: describe_resumable(
                out_dir, saver.last_saved_epoch), temporaries=[os.path.join(out_dir, "args.yaml.partial")]):
            utils.trim_summary(summary, start_epoch)  # rows of epochs about to be trained again go
            atomic_write_text(os.path.join(out_dir, "args.yaml"), args_text)
        log.info("Output: %s; scheduled epochs: %d, starting at %d", out_dir, num_epochs, start_epoch)

    step = Step(args, device, optimizer, training_loss(args).to(device), autocast, scaler, ema, scheduler, saver,
                out_dir, mixer)
    equalise_bn = args.distributed and args.dist_bn in ("broadcast", "reduce")  # BatchNorm stats after an epoch
    epoch = start_epoch
    try:
        for epoch in range(start_epoch, num_epochs):
            epoch_start = time.time()
            for source in (train_set, train_loader.sampler):
                if hasattr(source, "set_epoch"):
                    source.set_epoch(epoch)
                    break
            train_metrics = train_epoch(epoch, model, train_loader, step)
            if equalise_bn:
                utils.distribute_bn(model, args.world_size, args.dist_bn == "reduce")
            if (epoch + 1) % args.eval_interval and epoch + 1 < num_epochs:  # an epoch between validations
                if saver is not None:
                    if train_eval_loader is not None:  # the same columns in every row
                        train_metrics.update((f"clean_{k}", v) for k, v in UNSCORED.items())
                    step.summary_row(epoch, train_metrics, UNSCORED)
                if scheduler is not None:
                    scheduler.step(epoch + 1)
                continue
            if args.distributed and not equalise_bn and not args.no_ddp_bb:
                share_buffers(eval_model)
            if train_eval_loader is not None:
                clean = evaluate(eval_model, train_eval_loader, args, device, autocast, label="Train (clean)")
                train_metrics.update((f"clean_{k}", v) for k, v in clean.items())
            metrics = evaluate(eval_model, eval_loader, args, device, autocast)
            if ema is not None and not args.model_ema_force_cpu:
                if equalise_bn:
                    utils.distribute_bn(ema, args.world_size, args.dist_bn == "reduce")
                metrics = evaluate(ema, eval_loader, args, device, autocast, label="Test (EMA)")
            if saver is not None:
                step.summary_row(epoch, train_metrics, metrics)
                with step.writes(f"the checkpoint of epoch {epoch}"):
                    best = saver.save_checkpoint(epoch, metric=metrics[args.eval_metric])
                left = int((num_epochs - epoch - 1) * (time.time() - epoch_start))
                log.info("Epoch %d/%d: %s %.3f; about %dm%02ds left", epoch + 1, num_epochs, args.eval_metric,
                         metrics[args.eval_metric], left // 60, left % 60)
            if scheduler is not None:
                scheduler.step(epoch + 1, metrics[args.eval_metric])
    except KeyboardInterrupt:  # checkpoints are written at each epoch's end: the last one is what resume needs
        if saver is not None:
            last, saved_epoch = os.path.join(out_dir, "last.pth.tar"), saver.last_saved_epoch
            log.warning("Interrupted in epoch %d. %s", epoch,
                        f"Continue with --resume {last} (from epoch {saved_epoch + 1})"
                        if saved_epoch is not None and os.path.exists(last) else "No checkpoint was written yet: "
                        "nothing to resume.")
        if args.distributed:
            torch.distributed.destroy_process_group()
        raise
    if best[0] is not None:
        log.info("*** Best metric: %s (epoch %s)", *best)
    if args.distributed:
        torch.distributed.destroy_process_group()


def cli(argv=None) -> None:
    """Run main(); a UsageError is one line (exit status 2), a failed write into the run folder one line
    (exit status 1), Ctrl-C exits with 130 (not 0, so that ``train.py && next-step`` stops), none of them
    as a traceback."""
    try:
        main(argv)
    except UsageError as err:
        if os.environ.get("RANK", "0") == "0":
            print(f"train.py: error: {err}", file=sys.stderr)
        sys.exit(2)
    except OutputWriteError as err:  # only the primary process writes
        print(f"train.py: error: {err}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    cli()
