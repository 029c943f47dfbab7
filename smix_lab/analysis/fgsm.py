#!/usr/bin/env python3
"""FGSM robustness (paper sec. 4.4, Table 4): top-1 on adversarial examples for timm checkpoints.

    python tools/analysis/fgsm.py output/train/base/model_best.pth.tar output/train/smix/model_best.pth.tar \\
        --labels baseline SaliencyMix --data-dir data/smix_cls --eps 1 2 4 8 --out output/fgsm

For each validation image x (pixels in [0, 1], after timm's eval resize/crop),
x_adv = clip(x + eps/255 * sign(grad_x loss), 0, 1), with loss the cross-entropy
of the true label on the model's input normalise(x) (Goodfellow et al. 2015's
fast gradient sign method); eps is in 0-255 pixel units and is applied in pixel
space, before normalisation with the model's mean/std. One gradient per batch
serves every eps. Models run in eval mode.

Prints and writes to --out: fgsm.md (markdown table, checkpoint x eps, clean
top-1 first), fgsm.csv and fgsm.png (top-1 against eps).
"""
import argparse
import csv
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

from smix_lab.analysis.common import check_out, split_dir, writing_out
from smix_lab.analysis.images import normalise
from smix_timm.checkpoint import CheckpointError, load_timm_checkpoint  # noqa: E402


def input_gradient(model, x01, target, mean, std):
    """(clean logits, d loss / d x01) for pixels x01 in [0, 1]; loss = summed cross-entropy of ``target``."""
    x = x01.detach().clone().requires_grad_(True)
    logits = model(normalise(x, mean, std))
    loss = F.cross_entropy(logits, target, reduction="sum")
    (grad,) = torch.autograd.grad(loss, x)
    return logits.detach(), grad


def fgsm_images(x01: torch.Tensor, grad: torch.Tensor, eps: float) -> torch.Tensor:
    """x + eps/255 * sign(grad), clipped to the valid pixel range [0, 1]."""
    return (x01 + (float(eps) / 255.0) * grad.sign()).clamp_(0.0, 1.0)


def fgsm_accuracy(model, loader, eps_list, mean, std, device="cpu", log=None, log_every=10):
    """Top-1 (%) on clean and FGSM images: dict with 'images', 'clean' and {eps: top-1}."""
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    correct = {"clean": 0, **{e: 0 for e in eps_list}}
    seen, start = 0, time.time()
    num_batches = len(loader) if hasattr(loader, "__len__") else None
    for b, (x01, target) in enumerate(loader):
        x01, target = x01.to(device).float(), target.to(device)
        logits, grad = input_gradient(model, x01, target, mean, std)
        correct["clean"] += int((logits.argmax(1) == target).sum())
        with torch.no_grad():
            for eps in eps_list:
                adv = model(normalise(fgsm_images(x01, grad, eps), mean, std))
                correct[eps] += int((adv.argmax(1) == target).sum())
        seen += len(target)
        if log and (b == 0 or (b + 1) % log_every == 0 or (num_batches and b + 1 == num_batches)):
            worst = max(eps_list) if eps_list else None
            msg = f"batch {b + 1}/{num_batches or '?'}, {seen} images, clean {100.0 * correct['clean'] / seen:.1f}%"
            if worst is not None:
                msg += f", eps {_fmt(worst)} {100.0 * correct[worst] / seen:.1f}%"
            log(f"{msg} ({time.time() - start:.1f} s)")
    if seen == 0:
        raise ValueError("the validation loader gave no images")
    return {"images": seen, **{k: 100.0 * v / seen for k, v in correct.items()}}


def make_loader(data_dir, split, data_config, batch_size, workers, num_classes, class_map="", max_images=None):
    """timm create_dataset / create_loader with the model's eval transform, pixels left in [0, 1].

    Args:
        data_dir: a folder in timm's layout; ``split`` must be one of its folders (no fallback to the
            whole folder: :func:`smix_lab.analysis.common.split_dir`).

    Raises:
        FileNotFoundError: no such folder or split, or no images in it.
        ValueError: the split has more classes than the model.
    """
    from timm.data import create_dataset, create_loader
    folder = split_dir(data_dir, split)
    try:
        dataset = create_dataset("", root=folder, search_split=False, class_map=class_map or None)
    except Exception as err:
        raise FileNotFoundError(f"{data_dir!r} (split {split!r}) is not an image folder in timm's layout: {err}") \
            from err
    if len(dataset) == 0:
        raise FileNotFoundError(f"{data_dir!r} (split {split!r}) holds no images")
    labels = [int(t) for _, t in dataset.reader.samples] if hasattr(dataset.reader, "samples") else []
    if labels and max(labels) >= num_classes:
        raise ValueError(f"{data_dir!r} has {max(labels) + 1} classes but the model has {num_classes}; "
                         "use the validation folder of the data the model was trained on (or --class-map)")
    loader = create_loader(dataset, input_size=data_config["input_size"], batch_size=batch_size, is_training=False,
                           use_prefetcher=False, interpolation=data_config["interpolation"], mean=(0.0, 0.0, 0.0),
                           std=(1.0, 1.0, 1.0), num_workers=workers, crop_pct=data_config["crop_pct"],
                           crop_mode=data_config.get("crop_mode"), device=torch.device("cpu"))
    if max_images and max_images < len(dataset):
        step = len(dataset) / max_images  # spread over the (class-sorted) folder
        subset = torch.utils.data.Subset(dataset, [int(i * step) for i in range(max_images)])
        loader = torch.utils.data.DataLoader(subset, batch_size=batch_size, shuffle=False, num_workers=workers)
    return loader


def _fmt(eps):
    return f"{eps:g}"


def table_rows(results, eps_list):
    header = ["checkpoint", "arch", "images", "clean"] + [f"eps={_fmt(e)}" for e in eps_list]
    rows = [[r["label"], r["arch"], str(r["images"]), f"{r['clean']:.2f}"] + [f"{r[e]:.2f}" for e in eps_list]
            for r in results]
    return header, rows


def markdown(results, eps_list):
    header, rows = table_rows(results, eps_list)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def plain_table(results, eps_list):
    header, rows = table_rows(results, eps_list)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    fmt = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join(line.rstrip() for line in [fmt(header), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows])


def plot(results, eps_list, path, dpi=100):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    xs = [0.0] + [float(e) for e in eps_list]
    fig, ax = plt.subplots(figsize=(6.5, 4.2), layout="constrained")
    for r in results:
        ax.plot(xs, [r["clean"]] + [r[e] for e in eps_list], marker="o", label=f"{r['label']} ({r['arch']})")
    ax.set_xlabel("FGSM epsilon (0-255 pixel units; 0 = clean)")
    ax.set_ylabel("top-1 accuracy (%)")
    ax.set_title("Top-1 under FGSM attack (paper Table 4)")
    ax.set_xticks(xs)
    ax.set_ylim(0, 103)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, loc="lower left")
    fig.savefig(path, dpi=dpi, metadata={"Software": None})
    plt.close(fig)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoints", nargs="+", help="timm train.py checkpoints (.pth.tar)")
    p.add_argument("--data-dir", required=True, help="data folder in timm layout (its --split is evaluated)")
    p.add_argument("--split", default="validation")
    p.add_argument("--class-map", default="", help="timm class map file, as in timm's validate.py")
    p.add_argument("--eps", type=float, nargs="+", default=[1.0, 2.0, 4.0, 8.0],
                   help="epsilons in 0-255 pixel units (default 1 2 4 8)")
    p.add_argument("--labels", nargs="+", help="names of the checkpoints (default: folder names)")
    p.add_argument("-b", "--batch-size", type=int, default=64)
    p.add_argument("-j", "--workers", type=int, default=2)
    p.add_argument("--max-images", type=int, default=None, help="evaluate this many images, spread over the split")
    p.add_argument("--img-size", type=int, default=None, help="input size (default: the run's eval size)")
    p.add_argument("--no-ema", action="store_true", help="use state_dict even when the run kept EMA weights")
    p.add_argument("--arch", default=None, help="timm model name (overrides the checkpoints')")
    p.add_argument("--device", default=None, help="default: cuda when available, else cpu")
    p.add_argument("--log-interval", type=int, default=10, help="progress line every N batches")
    p.add_argument("--out", default="output/fgsm")
    args = p.parse_args(argv)
    if args.labels and len(args.labels) != len(args.checkpoints):
        p.error(f"--labels has {len(args.labels)} names for {len(args.checkpoints)} checkpoints")
    if any(not math.isfinite(e) or e < 0 for e in args.eps):
        p.error(f"--eps values must be finite numbers >= 0 (0-255 pixel units), got {args.eps}")
    if args.batch_size < 1:
        p.error("--batch-size must be >= 1")
    if args.max_images is not None and args.max_images < 1:
        p.error(f"--max-images must be >= 1, got {args.max_images}")
    if args.img_size is not None and args.img_size < 1:
        p.error(f"--img-size must be >= 1, got {args.img_size}")
    return args


def main(argv=None):
    args = parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    labels = args.labels or [os.path.basename(os.path.dirname(os.path.abspath(c))) or c for c in args.checkpoints]
    eps_list = list(dict.fromkeys(args.eps))
    results = []
    try:
        check_out(args.out)
        split_name = os.path.basename(split_dir(args.data_dir, args.split))
        for k, (ckpt, label) in enumerate(zip(args.checkpoints, labels)):
            model, info = load_timm_checkpoint(ckpt, use_ema=not args.no_ema, arch=args.arch, device=device)
            config = dict(info.data_config)
            if args.img_size:
                config["input_size"] = (config["input_size"][0], args.img_size, args.img_size)
            tag = f"fgsm: [{k + 1}/{len(args.checkpoints)} {label}]"
            print(f"{tag} {info.describe()}; input {tuple(config['input_size'])}", file=sys.stderr, flush=True)
            loader = make_loader(args.data_dir, args.split, config, args.batch_size, args.workers,
                                 info.num_classes, args.class_map, args.max_images)
            res = fgsm_accuracy(model, loader, eps_list, config["mean"], config["std"], device,
                                log=lambda m, t=tag: print(f"{t} {m}", file=sys.stderr, flush=True),
                                log_every=args.log_interval)
            results.append(dict(res, label=label, arch=info.arch, path=info.path))
    except (CheckpointError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        with writing_out(args.out):
            write_outputs(args, results, eps_list, split_name)
    except ValueError as err:  # OutputFolderError: --out not writable
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(plain_table(results, eps_list))
    print(f"fgsm: wrote fgsm.md, fgsm.csv, fgsm.png to {args.out}", file=sys.stderr)
    return 0


def write_outputs(args, results, eps_list, split_name: str) -> None:
    """fgsm.md, fgsm.csv and fgsm.png into ``args.out`` (an existing folder); the table names the split
    that was read (its folder's name)."""
    md = markdown(results, eps_list)
    with open(os.path.join(args.out, "fgsm.md"), "w") as f:
        f.write(f"FGSM top-1 (%) on {args.data_dir} ({split_name}); eps in 0-255 pixel units.\n\n{md}\n")
    with open(os.path.join(args.out, "fgsm.csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["checkpoint", "path", "arch", "images", "clean"] + [f"eps_{_fmt(e)}" for e in eps_list])
        for r in results:
            writer.writerow([r["label"], r["path"], r["arch"], r["images"], f"{r['clean']:.4f}"]
                            + [f"{r[e]:.4f}" for e in eps_list])
    plot(results, eps_list, os.path.join(args.out, "fgsm.png"))


if __name__ == "__main__":
    sys.exit(main())
