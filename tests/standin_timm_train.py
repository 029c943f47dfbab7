"""A small training script of our own with the structure of timm's train.py that the launcher relies on.

CI cannot download timm's script, so the launcher's tests run on this one. It has what the contract
in ``smix_timm/train/launcher.py`` names (module-level ``parser``, ``_parse_args()``, ``main()``,
``Mixup``/``FastCollateMixup``/``resolve_data_config``/``create_loader`` from ``timm.data``, mixing
only for ``--mixup``/``--cutmix``/``--cutmix-minmax``) and writes timm's outputs. It also runs DDP on
CPU (gloo), which timm's script does not, so torchrun can be tested here.
"""
import argparse
import logging
import os

import torch
import yaml
from timm import utils
from timm.data import FastCollateMixup, Mixup, create_dataset, create_loader, resolve_data_config
from timm.loss import SoftTargetCrossEntropy
from timm.models import create_model

log = logging.getLogger("standin")

config_parser = argparse.ArgumentParser(add_help=False)
config_parser.add_argument("-c", "--config", default="")

parser = argparse.ArgumentParser(description="stand-in for timm's train.py")
parser.add_argument("-c", "--config", default="")
for flag, kind, default in (
        ("--data-dir", str, None), ("--model", str, "resnet18"), ("--img-size", int, 32), ("--batch-size", int, 8),
        ("--lr", float, 0.05), ("--epochs", int, 1), ("--mixup", float, 0.0), ("--cutmix", float, 0.0),
        ("--mixup-prob", float, 1.0), ("--mixup-switch-prob", float, 0.5), ("--mixup-mode", str, "batch"),
        ("--smoothing", float, 0.1), ("--output", str, "out"), ("--seed", int, 0), ("--device", str, "cpu")):
    parser.add_argument(flag, type=kind, default=default)
parser.add_argument("--cutmix-minmax", type=float, nargs=2, default=None)
parser.add_argument("--mean", type=float, nargs=3, default=None)
parser.add_argument("--std", type=float, nargs=3, default=None)
parser.add_argument("--no-prefetcher", action="store_true")
parser.add_argument("--naflex-loader", action="store_true")
parser.add_argument("--num-classes", type=int, default=None)


def _parse_args():
    known, rest = config_parser.parse_known_args()
    if known.config:
        with open(known.config) as f:
            parser.set_defaults(**yaml.safe_load(f))
    args = parser.parse_args(rest)
    return args, yaml.safe_dump(vars(args))


def main():
    utils.setup_default_logging()
    args, args_text = _parse_args()
    device = utils.init_distributed_device(args)
    utils.random_seed(args.seed, args.rank)
    train_set = create_dataset("", root=args.data_dir, split="train", is_training=True)
    eval_set = create_dataset("", root=args.data_dir, split="validation")
    args.num_classes = args.num_classes or len(train_set.reader.class_to_idx)
    model = create_model(args.model, num_classes=args.num_classes)
    data_config = resolve_data_config(vars(args), model=model)
    prefetch = not args.no_prefetcher

    collate_fn = mixup_fn = None
    mixing = args.mixup > 0 or args.cutmix > 0 or args.cutmix_minmax is not None
    if mixing:
        timm_kwargs = dict(mixup_alpha=args.mixup, cutmix_alpha=args.cutmix, cutmix_minmax=args.cutmix_minmax,
                           prob=args.mixup_prob, switch_prob=args.mixup_switch_prob, mode=args.mixup_mode,
                           label_smoothing=args.smoothing, num_classes=args.num_classes)
        if prefetch:
            collate_fn = FastCollateMixup(**timm_kwargs)
        else:
            mixup_fn = Mixup(**timm_kwargs)
        built = collate_fn if prefetch else mixup_fn
        log.info("mixing object: %s.%s", type(built).__module__, type(built).__name__)

    loader_kwargs = dict(input_size=data_config["input_size"], batch_size=args.batch_size, mean=data_config["mean"],
                         std=data_config["std"], num_workers=0, distributed=args.distributed,
                         use_prefetcher=prefetch, device=device)
    train_loader = create_loader(train_set, is_training=True, collate_fn=collate_fn, **loader_kwargs)
    eval_loader = create_loader(eval_set, is_training=False, **loader_kwargs)

    model.to(device)
    if args.distributed:
        model = torch.nn.parallel.DistributedDataParallel(model)
    loss_fn = SoftTargetCrossEntropy() if mixing else torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    out_dir = os.path.join(args.output, "run")
    saver = None
    if utils.is_primary(args):
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "args.yaml"), "w") as f:
            f.write(args_text)
        saver = utils.CheckpointSaver(model, optimizer, args=args, checkpoint_dir=out_dir, recovery_dir=out_dir)
    for epoch in range(args.epochs):
        model.train()
        for images, target in train_loader:
            if mixup_fn is not None:
                images, target = mixup_fn(images, target)
            loss = loss_fn(model(images), target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        hits = total = 0
        with torch.no_grad():
            for images, target in eval_loader:
                hits += int((model(images).argmax(1) == target).sum())
                total += len(target)
        log.info("epoch %d loss %.3f top1 %.1f", epoch, loss.item(), 100.0 * hits / total)
        if saver is not None:
            saver.save_checkpoint(epoch, metric=100.0 * hits / total)
    if args.distributed:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
