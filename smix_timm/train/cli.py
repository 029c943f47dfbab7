"""The command line of ``tools/train.py``: timm's train.py flags plus SaliencyMix, and the checks across them.

Flags that timm's ``train.py`` has keep its names, defaults and meaning (names are an interface
users type and ``-c`` YAML files carry), so a timm command line or config works with our trainer;
the help text is ours. The SaliencyMix group is :func:`smix_timm.train.options.add_saliencymix_arguments`,
the same one the launcher adds to the user's own script.
"""
import argparse
import logging
import os
import sys

import yaml
from timm import utils
from timm.models import is_model

from smix_timm.train.errors import UsageError
from smix_timm.train.options import (
    add_saliencymix_arguments,
    check_saliencymix_arguments,
    saliencymix_on,
    timm_mixing_on,
    unknown_config_keys,
    unknown_config_keys_message,
)

log = logging.getLogger("train")


def build_parser() -> argparse.ArgumentParser:
    """All options: timm's flag names and defaults (the help is ours) plus the SaliencyMix group."""
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "train.py"
    parser = argparse.ArgumentParser(
        prog="python -m smix_timm.train" if program == "__main__.py" else program,
        description="Train a timm classifier, optionally with SaliencyMix.")
    parser.add_argument("-c", "--config", default="", metavar="FILE",
                        help="YAML file of option defaults (keys are option names with _); flags still win")

    add = parser.add_argument_group("data").add_argument
    add("data", nargs="?", metavar="DIR", help="old positional form of --data-dir")
    add("--data-dir", metavar="DIR", help="dataset root: DIR/train/<class>/*, DIR/validation/<class>/*, or a "
                                          "torchvision root with --dataset torch/...")
    add("--dataset", default="", metavar="NAME", help="'' for image folders, or a timm dataset name such as "
                                                      "torch/cifar100")
    add("--train-split", default="train", metavar="NAME", help="training split (default: train)")
    add("--val-split", default="validation", metavar="NAME", help="evaluation split (default: validation)")
    add("--dataset-download", action="store_true", help="let torchvision datasets download themselves")
    add("--class-map", default="", metavar="FILE", help="file mapping class names to indices")
    add("--num-classes", type=int, default=None, metavar="N", help="classes (default: counted in the data)")
    add("--epoch-repeats", type=float, default=0.0, metavar="N", help="passes over the data per epoch")

    add = parser.add_argument_group("model").add_argument
    add("--model", default="resnet50", metavar="NAME", help="timm model name (default: resnet50)")
    add("--pretrained", action="store_true", help="start from timm's pretrained weights")
    add("--initial-checkpoint", default="", metavar="PATH", help="start from these weights")
    add("--resume", default="", metavar="PATH", help="continue a run from its checkpoint (model, optimizer, "
                                                     "epoch); without --experiment, in the checkpoint's folder")
    add("--no-resume-opt", action="store_true", help="with --resume: fresh optimizer state")
    add("--gp", default=None, metavar="POOL", help="global pooling type (default: the model's)")
    add("--img-size", type=int, default=None, metavar="N", help="square input side (default: the model's)")
    add("--in-chans", type=int, default=None, metavar="N", help="input channels (default: 3)")
    add("--input-size", type=int, nargs=3, default=None, metavar="N", help="input C H W, e.g. 3 224 224")
    add("--crop-pct", type=float, default=None, metavar="F", help="centre-crop share for evaluation")
    add("--mean", type=float, nargs="+", default=None, metavar="M", help="normalisation mean per channel (0-1)")
    add("--std", type=float, nargs="+", default=None, metavar="S", help="normalisation std per channel (0-1)")
    add("--interpolation", default="", metavar="NAME", help="resize interpolation (default: the model's)")
    add("-b", "--batch-size", type=int, default=128, metavar="N", help="batch per process (default: 128)")
    add("-vb", "--validation-batch-size", type=int, default=None, metavar="N", help="evaluation batch per process")
    add("--channels-last", action="store_true", help="NHWC memory layout")
    add("--grad-accum-steps", type=int, default=1, metavar="N", help="batches summed into one update")
    add("--grad-checkpointing", action="store_true", help="recompute activations to save memory")
    add("--model-kwargs", nargs="*", default={}, action=utils.ParseKwargs, help="extra create_model keywords")
    add("--torchcompile", nargs="?", default=None, const="inductor", help="torch.compile with this backend")
    add("--drop", type=float, default=0.0, metavar="P", help="dropout before the classifier")
    add("--drop-path", type=float, default=None, metavar="P", help="stochastic depth rate")
    add("--drop-block", type=float, default=None, metavar="P", help="DropBlock rate")
    add("--bn-momentum", type=float, default=None, help="BatchNorm momentum override")
    add("--bn-eps", type=float, default=None, help="BatchNorm epsilon override")
    add("--sync-bn", action="store_true", help="synchronised BatchNorm across processes")
    add("--dist-bn", default="reduce", help="after each epoch make BatchNorm statistics equal across processes: "
                                            "reduce (average), broadcast (rank 0's) or '' (leave)")
    add("--model-ema", action="store_true", help="keep an exponential moving average of the weights")
    add("--model-ema-force-cpu", action="store_true", help="keep the average on the CPU (then it is not evaluated)")
    add("--model-ema-decay", type=float, default=0.9998, help="EMA decay per update")
    add("--model-ema-warmup", action="store_true", help="ramp the EMA decay up over the first updates")

    add = parser.add_argument_group("optimizer").add_argument
    add("--opt", default="sgd", metavar="NAME", help="timm optimizer name (default: sgd, Nesterov in timm)")
    add("--opt-eps", type=float, default=None, help="optimizer epsilon")
    add("--opt-betas", type=float, nargs="+", default=None, help="optimizer betas")
    add("--momentum", type=float, default=0.9, help="SGD momentum (default: 0.9)")
    add("--weight-decay", type=float, default=2e-5, help="weight decay (default: 2e-5)")
    add("--clip-grad", type=float, default=None, metavar="X", help="clip gradients at this norm/value")
    add("--clip-mode", default="norm", help="norm, value or agc")
    add("--layer-decay", type=float, default=None, help="layer-wise learning-rate decay")
    add("--opt-kwargs", nargs="*", default={}, action=utils.ParseKwargs, help="extra optimizer keywords")

    add = parser.add_argument_group("schedule").add_argument
    add("--sched", default="cosine", metavar="NAME", help="timm scheduler: cosine, step, multistep, plateau, ...")
    add("--sched-on-updates", action="store_true", help="step the schedule every update, not every epoch")
    add("--lr", type=float, default=None, metavar="LR", help="learning rate (default: from --lr-base)")
    add("--lr-base", type=float, default=0.1, metavar="LR", help="lr for a global batch of --lr-base-size")
    add("--lr-base-size", type=int, default=256, metavar="N", help="batch size --lr-base refers to")
    add("--lr-base-scale", default="", metavar="RULE", help="linear or sqrt in the batch ratio (default: by --opt)")
    add("--lr-noise", type=float, nargs="+", default=None, metavar="PCT", help="lr noise on/off epoch shares")
    add("--lr-noise-pct", type=float, default=0.67, help="lr noise limit")
    add("--lr-noise-std", type=float, default=1.0, help="lr noise std")
    add("--lr-cycle-mul", type=float, default=1.0, help="cycle length multiplier")
    add("--lr-cycle-decay", type=float, default=0.5, help="lr decay per cycle")
    add("--lr-cycle-limit", type=int, default=1, help="number of cycles")
    add("--lr-k-decay", type=float, default=1.0, help="k-decay of cosine/poly")
    add("--warmup-lr", type=float, default=1e-5, metavar="LR", help="lr at the start of warm-up")
    add("--min-lr", type=float, default=0.0, metavar="LR", help="lr floor")
    add("--epochs", type=int, default=300, metavar="N", help="epochs (default: 300)")
    add("--start-epoch", type=int, default=None, metavar="N", help="first epoch (default: 0 or the resumed one)")
    add("--decay-milestones", type=int, nargs="+", default=[90, 180, 270], metavar="E", help="multistep epochs")
    add("--decay-epochs", type=float, default=90, metavar="N", help="step scheduler interval")
    add("--warmup-epochs", type=int, default=5, metavar="N", help="warm-up epochs (default: 5)")
    add("--warmup-prefix", action="store_true", help="warm-up before, not inside, the decay schedule")
    add("--cooldown-epochs", type=int, default=0, metavar="N", help="epochs at --min-lr after the schedule")
    add("--patience-epochs", type=int, default=10, metavar="N", help="plateau scheduler patience")
    add("--decay-rate", "--dr", type=float, default=0.1, metavar="F", help="lr factor per decay")

    add = parser.add_argument_group("augmentation and loss").add_argument
    add("--no-aug", action="store_true", help="no training augmentation")
    add("--train-crop-mode", default=None, help="rrc (default), rkrc or rkrr")
    add("--train-pad", type=int, default=0, metavar="N", help="zero-pad N px and random-crop back instead of the "
                                                              "random resized crop (CIFAR recipe); 0 = off")
    add("--scale", type=float, nargs="+", default=[0.08, 1.0], metavar="F", help="random resized crop area range")
    add("--ratio", type=float, nargs="+", default=[3 / 4, 4 / 3], metavar="F", help="its aspect ratio range")
    add("--hflip", type=float, default=0.5, help="horizontal flip probability")
    add("--vflip", type=float, default=0.0, help="vertical flip probability")
    add("--color-jitter", type=float, default=0.4, metavar="F", help="colour jitter strength")
    add("--aa", default=None, metavar="POLICY", help="AutoAugment / RandAugment policy")
    add("--aug-repeats", type=float, default=0, help="repeated augmentation count (DDP)")
    add("--reprob", type=float, default=0.0, help="random erasing probability")
    add("--remode", default="pixel", help="random erasing fill")
    add("--recount", type=int, default=1, help="random erasing count")
    add("--resplit", action="store_true", help="no random erasing on the first augmentation split")
    add("--train-interpolation", default="random", help="training resize interpolation (default: random)")
    add("--mixup", type=float, default=0.0, help="MixUp alpha; > 0 turns MixUp on")
    add("--cutmix", type=float, default=0.0, help="CutMix alpha; > 0 turns CutMix on")
    add("--cutmix-minmax", type=float, nargs="+", default=None, help="CutMix area range (replaces its alpha)")
    add("--mixup-prob", type=float, default=1.0, help="probability that a batch (or sample) is mixed")
    add("--mixup-switch-prob", type=float, default=0.5, help="chance of the patch method when MixUp is on too")
    add("--mixup-mode", default="batch", help="draw mixing parameters per batch, pair or elem")
    add("--mixup-off-epoch", type=int, default=0, metavar="N", help="stop mixing from this epoch (0 = never)")
    add("--smoothing", type=float, default=0.1, help="label smoothing (default: 0.1)")
    add("--bce-loss", action="store_true", help="binary cross-entropy instead of softmax cross-entropy")
    add("--bce-target-thresh", type=float, default=None, help="binarise BCE targets at this threshold")
    add_saliencymix_arguments(parser)

    add = parser.add_argument_group("run").add_argument
    add("--seed", type=int, default=42, help="random seed (default: 42)")
    add("--worker-seeding", default="all", help="how loader workers are seeded (timm)")
    add("--log-interval", type=int, default=50, metavar="N", help="updates between log lines")
    add("--recovery-interval", type=int, default=0, metavar="N", help="updates between recovery checkpoints")
    add("--checkpoint-hist", type=int, default=10, metavar="N", help="best checkpoints kept")
    add("-j", "--workers", type=int, default=4, metavar="N", help="loader worker processes")
    add("--save-images", action="store_true", help="save the input batch at each log line")
    add("--amp", action="store_true", help="mixed precision (torch.autocast)")
    add("--amp-dtype", default="float16", help="float16 or bfloat16")
    add("--no-ddp-bb", action="store_true", help="DDP without broadcasting buffers")
    add("--synchronize-step", action="store_true", help="wait for the GPU after each update")
    add("--pin-mem", action="store_true", help="pinned loader memory")
    add("--no-prefetcher", action="store_true", help="plain loader; mixing on the batch instead of the collate")
    add("--output", default="", metavar="PATH", help="output root (default: ./output/train)")
    add("--experiment", default="", metavar="NAME", help="run folder name (default: time, model and size)")
    add("--overwrite-output", action="store_true", help="train into a run folder that already holds a run: its "
                                                        "files are first moved to <folder>.replaced-<time> "
                                                        "(default: refuse)")
    add("--eval-metric", default="top1", help="metric that picks model_best (default: top1)")
    add("--eval-train", action="store_true",
        help="after each epoch also score the training split as validation is scored (eval transform, no "
             "mixing): summary.csv gains train_clean_top1/top5/loss, i.e. how well the model fits its data")
    add("--eval-interval", type=int, default=1, metavar="N",
        help="score validation (and --eval-train) every N epochs and at the last one; checkpoints and "
             "summary.csv's eval columns follow (default: 1, every epoch)")
    add("--local_rank", "--local-rank", type=int, default=0, help=argparse.SUPPRESS)
    add("--use-multi-epochs-loader", action="store_true", help="keep loader workers across epochs")
    add("--device", default=None, help="cuda, cuda:N or cpu (default: cuda when available)")
    return parser


def read_config(path: str, parser: argparse.ArgumentParser) -> dict:
    """Option defaults from a ``-c`` YAML; keys this trainer does not know are reported, not used."""
    if not os.path.isfile(path):
        raise UsageError(f"config file {path} not found")
    with open(path) as f:
        config = yaml.safe_load(f) or {}
    if not isinstance(config, dict):
        raise UsageError(f"config file {path} must hold a mapping of option: value, got {type(config).__name__}")
    unknown = unknown_config_keys(config, parser)
    if unknown:
        log.warning("%s", unknown_config_keys_message(path, unknown, parser))
    return {key: value for key, value in config.items() if str(key) not in unknown}


def parse_command_line(argv=None):
    """Parse the trainer's command line, a ``-c`` YAML supplying defaults (as timm's train.py does).

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).

    Returns:
        (args, args_text): the namespace and its YAML text, which the trainer saves as ``args.yaml``
        (reusable with ``-c``).

    Raises:
        UsageError: the config file is missing or not a mapping. Bad flags exit through argparse.
    """
    parser = build_parser()
    config_only = argparse.ArgumentParser(add_help=False)
    config_only.add_argument("-c", "--config", default="")
    config_path = config_only.parse_known_args(argv)[0].config
    if config_path:
        parser.set_defaults(**read_config(config_path, parser))
    args = parser.parse_args(argv)
    return args, yaml.safe_dump(vars(args), default_flow_style=False)


def mixing_on(args) -> bool:
    """Whether the run mixes at all: timm's flags or ``--saliencymix``."""
    return timm_mixing_on(args) or saliencymix_on(args)


def check_args(args) -> None:
    """Checks across options, before anything is built; fills ``data_dir`` and ``prefetcher``.

    Raises:
        UsageError: no data given, SaliencyMix options without ``--saliencymix``, an odd batch with
            mixing (timm's Mixup pairs the flipped batch), an unknown model, a negative ``--train-pad``,
            an ``--eval-interval`` below 1 (or above 1 with ``--sched plateau``), or an ``--amp-dtype``
            other than float16/bfloat16; the message says what to change.
    """
    args.data_dir = args.data_dir or args.data
    if not args.data_dir:
        raise UsageError("no data: pass --data-dir DIR (a folder with train/ and validation/ class folders, "
                         "or the torchvision CIFAR root with --dataset torch/cifar10)")
    try:
        check_saliencymix_arguments(args)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if mixing_on(args) and args.batch_size % 2:
        raise UsageError(f"mixing pairs each sample with the flipped batch and needs an even batch size; "
                         f"got -b {args.batch_size}")
    if ":" not in args.model and not is_model(args.model):  # hf-hub:/local-dir: names are for timm to check
        raise UsageError(f'unknown model {args.model!r}; list names with python -c "import timm; '
                         f"print(timm.list_models('*{args.model.split('.')[0][:6]}*'))\"")
    if args.train_pad < 0:
        raise UsageError(f"--train-pad must be >= 0, got {args.train_pad}")
    if args.eval_interval < 1:
        raise UsageError(f"--eval-interval must be >= 1 (epochs between validations), got {args.eval_interval}")
    if args.eval_interval > 1 and args.sched == "plateau":
        raise UsageError("--sched plateau steps on each epoch's validation metric; use --eval-interval 1 with it")
    if mixing_on(args) and args.mixup_mode == "half" and args.no_prefetcher:
        raise UsageError("--mixup-mode half exists for the prefetcher's collate only (as in timm); "
                         "drop --no-prefetcher or pick batch, pair or elem")
    if args.cutmix_minmax is not None and len(args.cutmix_minmax) != 2:
        raise UsageError(f"--cutmix-minmax takes two numbers (min max), got {args.cutmix_minmax}")
    if args.resume:
        check_resume(args.resume, args.model)
    if args.amp and args.amp_dtype not in ("float16", "bfloat16"):
        raise UsageError(f"--amp-dtype must be float16 or bfloat16, got {args.amp_dtype}")
    args.grad_accum_steps = max(1, args.grad_accum_steps)
    args.prefetcher = not args.no_prefetcher


def check_resume(path: str, model: str) -> None:
    """Check a ``--resume`` checkpoint before timm loads it: readable, timm's format, the same model.

    Loading goes through :func:`smix_timm.checkpoint.read_checkpoint` (``weights_only``: a file
    that pickles anything but tensors, plain types and ``argparse.Namespace`` is refused, and no
    code in it runs).

    Raises:
        UsageError: no such file; a truncated, empty or foreign file; a checkpoint of another
            architecture than ``--model``.
    """
    from smix_timm.checkpoint import CheckpointError, read_checkpoint
    if not os.path.isfile(path):
        raise UsageError(f"--resume {path}: no such checkpoint file")
    try:
        raw = read_checkpoint(path)
    except CheckpointError as err:
        raise UsageError(f"--resume: {err}") from None
    if not isinstance(raw, dict) or "state_dict" not in raw:
        raise UsageError(f"--resume {path} is not a checkpoint of timm's train.py (no state_dict); resume from a "
                         "last.pth.tar or checkpoint-N.pth.tar of a run")
    arch = raw.get("arch")
    if arch and arch != model:
        raise UsageError(f"--resume {path} holds a {arch!r} model but this run builds {model!r}; pass --model {arch}")
