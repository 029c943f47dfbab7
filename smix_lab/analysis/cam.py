#!/usr/bin/env python3
"""Class activation maps (Zhou et al. 2016; paper sec. 4.3, Fig. 4) for timm checkpoints, side by side.

    python tools/analysis/cam.py output/train/base/model_best.pth.tar output/train/smix/model_best.pth.tar \\
        --labels baseline SaliencyMix --data-dir data/smix_cls --num 4 --out output/cam
    python tools/analysis/cam.py CKPT --images a.jpg b.jpg --class 3 --out output/cam

CAM of class c = sum_k w[c, k] * f_k(y, x): the classifier weights of c times the
last feature map (``model.forward_features``), upsampled bilinearly to the input
size and scaled to [0, 1] per image. It is exact for any timm model whose head
is a linear classifier (``model.get_classifier()``) over globally average-pooled
features (ResNets, WideResNets, EfficientNets, RegNets, ...); the tool checks
that ``forward_head`` equals that linear map and stops with an error otherwise.

Each image goes through each model's eval transform (resolve_data_config over
the run's args, as timm's train.py validates). Writes to --out: cam.png
(rows: images; columns: the image, then one CAM overlay per checkpoint),
cam_summary.txt and cam_summary.json (predicted class, score, CAM class and peak).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

from smix_lab.analysis import viz  # noqa: E402
from smix_lab.analysis.common import check_images, check_out, split_dir, writing_out
from smix_lab.analysis.images import normalise
from smix_timm.checkpoint import CheckpointError, load_timm_checkpoint  # noqa: E402


class CamError(ValueError):
    """The model has no linear classifier over globally average-pooled (B, C, h, w) features."""


def linear_head(model: torch.nn.Module):
    """(weight (K, C), bias (K,)) of the model's classifier, ``model.get_classifier()``."""
    if not hasattr(model, "get_classifier") or not hasattr(model, "forward_features"):
        raise CamError(f"{type(model).__name__} is not a timm classifier (no get_classifier/forward_features)")
    head = model.get_classifier()
    if isinstance(head, torch.nn.Conv2d) and head.kernel_size == (1, 1):
        weight = head.weight.flatten(1)
    elif isinstance(head, torch.nn.Linear):
        weight = head.weight
    else:
        raise CamError(f"CAM needs a linear classifier, but {type(model).__name__}.get_classifier() is "
                       f"{type(head).__name__}")
    bias = head.bias if head.bias is not None else torch.zeros(weight.shape[0], device=weight.device)
    return weight, bias


@torch.no_grad()
def class_activation_maps(model: torch.nn.Module, x: torch.Tensor, class_index=None):
    """CAMs of a normalised batch x (B, 3, H, W).

    Returns dict: ``cam`` (B, H, W) raw CAM upsampled to the input size, ``cam01``
    the same scaled to [0, 1] per image (0 everywhere where the map is constant), ``logits``
    (B, K), ``classes`` (B,) the class each CAM is of (``class_index`` or the prediction).

    Raises:
        CamError: the model has no (B, C, h, w) feature map, its map is 1x1 at this input size (a
            CAM without location), its head is not linear over pooled features, or the class is
            out of range.
    """
    feats = model.forward_features(x)
    if not isinstance(feats, torch.Tensor) or feats.dim() != 4:
        shape = tuple(feats.shape) if isinstance(feats, torch.Tensor) else type(feats).__name__
        raise CamError(f"CAM needs a (B, C, h, w) feature map from forward_features, {type(model).__name__} "
                       f"returns {shape}")
    if feats.shape[-2] * feats.shape[-1] == 1:
        raise CamError(f"{type(model).__name__}'s last feature map is 1x1 for {x.shape[-2]}x{x.shape[-1]} inputs, "
                       "so its class activation map is one number per image and shows no location; use a "
                       "model that keeps a spatial map at this size, or larger inputs (--img-size) if the "
                       "model still classifies them (a model trained at one size often fails at 4x)")
    weight, bias = linear_head(model)
    if weight.shape[1] != feats.shape[1]:
        raise CamError(f"the classifier takes {weight.shape[1]} features but forward_features gives "
                       f"{feats.shape[1]} channels: the head is not a linear map of pooled features")
    logits = model.forward_head(feats)
    linear = feats.mean(dim=(2, 3)) @ weight.t() + bias
    tol = 1e-3 * max(1.0, float(logits.abs().max()))
    if logits.shape != linear.shape or not torch.allclose(logits, linear, rtol=1e-3, atol=tol):
        raise CamError(f"{type(model).__name__}'s head is not a linear classifier over globally average-pooled "
                       "features (forward_head differs from get_classifier() on the mean feature), so CAM "
                       "is not defined for it")
    if class_index is None:
        classes = logits.argmax(1)
    else:
        if not 0 <= int(class_index) < weight.shape[0]:
            raise CamError(f"class {class_index} is outside the model's {weight.shape[0]} classes")
        classes = torch.full((len(x),), int(class_index), dtype=torch.long, device=x.device)
    cam = torch.einsum("bchw,bc->bhw", feats, weight[classes])
    cam = F.interpolate(cam.unsqueeze(1), size=x.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    low = cam.flatten(1).min(1).values.view(-1, 1, 1)
    high = cam.flatten(1).max(1).values.view(-1, 1, 1)
    span = high - low
    flat = span <= 1e-6 * torch.maximum(high.abs(), low.abs())  # a constant map: no place stands out
    cam01 = torch.where(flat, torch.zeros_like(cam), (cam - low) / span.clamp_min(1e-30))
    return dict(cam=cam, cam01=cam01, logits=logits, classes=classes)


def eval_transform(data_config):
    """timm's eval transform (resize, centre crop) to [0, 1] tensors; normalisation is done separately."""
    from timm.data import create_transform
    return create_transform(input_size=data_config["input_size"], is_training=False,
                            interpolation=data_config["interpolation"], mean=(0.0, 0.0, 0.0),
                            std=(1.0, 1.0, 1.0), crop_pct=data_config["crop_pct"],
                            crop_mode=data_config.get("crop_mode", "center"))


def class_names(num_classes, split_folder=None):
    """Class names for the pictures' titles.

    Args:
        num_classes: the model's class count.
        split_folder: a split's folder of class folders (:func:`smix_lab.analysis.common.split_dir`).

    Returns:
        {index: name}: the folder's class names when their count matches, ImageNet's for 1000 classes,
        else 'class k'.
    """
    if split_folder:
        from timm.data import create_dataset
        try:
            mapping = create_dataset("", root=split_folder, search_split=False).reader.class_to_idx
            if len(mapping) == num_classes:
                return {int(i): n for n, i in mapping.items()}
        except Exception:
            pass
    if num_classes == 1000:
        from timm.data import ImageNetInfo
        info = ImageNetInfo()
        return {i: info.index_to_description(i) for i in range(1000)}
    return {i: f"class {i}" for i in range(num_classes)}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoints", nargs="+", help="timm train.py checkpoints (.pth.tar)")
    p.add_argument("--labels", nargs="+", help="column titles, one per checkpoint (default: folder names)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--images", nargs="+", metavar="PATH", help="image files or folders")
    src.add_argument("--data-dir", metavar="DIR", help="a folder in timm layout: --num images, one per class")
    p.add_argument("--split", default="validation")
    p.add_argument("--num", type=int, default=4, help="images to show (default 4)")
    p.add_argument("--seed", type=int, default=0, help="which images --data-dir gives")
    p.add_argument("--class", dest="class_index", type=int, default=None,
                   help="CAM of this class index (default: each model's prediction)")
    p.add_argument("--no-ema", action="store_true", help="use state_dict even when the run kept EMA weights")
    p.add_argument("--arch", default=None, help="timm model name (overrides the checkpoint's)")
    p.add_argument("--img-size", type=int, default=None, help="input size (default: the run's eval size)")
    p.add_argument("--out", default="output/cam")
    p.add_argument("--dpi", type=int, default=100)
    args = p.parse_args(argv)
    if args.labels and len(args.labels) != len(args.checkpoints):
        p.error(f"--labels has {len(args.labels)} names for {len(args.checkpoints)} checkpoints")
    if args.num < 1:
        p.error("--num must be >= 1")
    if args.img_size is not None and args.img_size < 1:
        p.error(f"--img-size must be >= 1, got {args.img_size}")
    return args


def default_label(path):
    parent = os.path.basename(os.path.dirname(os.path.abspath(path)))
    return parent or os.path.basename(path)


def collect_images(args):
    """(paths, display names, true class names or None), every image decoded once.

    Raises:
        FileNotFoundError: no such image, data dir or split (see :func:`smix_lab.analysis.common.split_dir`).
        ValueError: a file that is not a readable image.
    """
    if args.data_dir:
        folder = split_dir(args.data_dir, args.split)
        picks = viz.data_dir_images(args.data_dir, args.num, seed=args.seed, split=os.path.basename(folder))
        paths = check_images([p for p, _ in picks])
        return paths, [os.path.basename(p) for p in paths], [c for _, c in picks]
    paths = viz.image_files(args.images) if args.images else viz.default_photo_paths()
    paths = check_images(paths[:args.num])
    return paths, [os.path.basename(p) for p in paths], [None] * len(paths)


def run_model(model, info, paths, class_index, img_size=None):
    """Per image: (image as the model sees it (H, W, 3) float, CAM dict entries)."""
    from PIL import Image
    config = dict(info.data_config)
    if img_size:
        config["input_size"] = (config["input_size"][0], img_size, img_size)
    transform = eval_transform(config)
    images = []
    for path in paths:
        with Image.open(path) as img:
            images.append(transform(img.convert("RGB")))
    x01 = torch.stack(images)
    out = class_activation_maps(model, normalise(x01, config["mean"], config["std"]), class_index)
    probs = out["logits"].softmax(1)
    top = probs.max(1)
    return dict(images=x01.permute(0, 2, 3, 1).numpy(), cam01=out["cam01"].numpy(), cam=out["cam"].numpy(),
                classes=out["classes"].tolist(), predicted=top.indices.tolist(), score=top.values.tolist(),
                class_prob=probs.gather(1, out["classes"].view(-1, 1))[:, 0].tolist())


def draw(path, names, truths, results, labels, names_of, dpi):
    """Rows: images; columns: the image (as the first model sees it), one CAM overlay per checkpoint."""
    grid = viz.Mosaic(len(names), 1 + len(results), cell=200, title_lines=3, dpi=dpi,
                      title="Class activation maps (paper Fig. 4): red = where the class evidence is")
    for r in range(len(names)):
        grid.put(r, 0, results[0]["images"][r])
        grid.title(r, 0, _short(names[r]) + (f"\ntrue: {_short(truths[r])}" if truths[r] else ""))
        for c, (res, label) in enumerate(zip(results, labels), start=1):
            grid.put(r, c, viz.overlay(res["images"][r], res["cam01"][r]))
            pred = res["predicted"][r]
            title = f"{_short(label)}\npred: {_short(names_of[c - 1][pred], 24)}\np = {res['score'][r]:.2f}"
            if res["classes"][r] != pred:
                title += f", CAM of {_short(names_of[c - 1][res['classes'][r]], 14)}"
            grid.title(r, c, title)
    grid.save(path)


def _short(text, limit=28):
    text = str(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def main(argv=None):
    args = parse_args(argv)
    labels = args.labels or [default_label(p) for p in args.checkpoints]
    try:
        check_out(args.out)
        paths, names, truths = collect_images(args)
        split_folder = split_dir(args.data_dir, args.split) if args.data_dir else None
        results, infos, names_of = [], [], []
        for k, ckpt in enumerate(args.checkpoints):
            model, info = load_timm_checkpoint(ckpt, use_ema=not args.no_ema, arch=args.arch)
            print(f"cam: [{k + 1}/{len(args.checkpoints)}] {info.describe()}", file=sys.stderr, flush=True)
            results.append(run_model(model, info, paths, args.class_index, args.img_size))
            infos.append(info)
            names_of.append(class_names(info.num_classes, split_folder))
    except (CheckpointError, CamError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        write_outputs(args, paths, names, truths, results, infos, labels, names_of)
    except ValueError as err:  # OutputFolderError: --out not writable
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def write_outputs(args, paths, names, truths, results, infos, labels, names_of) -> None:
    """cam.png, cam_summary.txt and cam_summary.json into --out; the summary is printed too.

    Raises:
        OutputFolderError: --out could not be made or written.
    """
    with writing_out(args.out):
        draw(os.path.join(args.out, "cam.png"), names, truths, results, labels, names_of, args.dpi)
        write_summaries(args, paths, names, truths, results, infos, labels, names_of)


def write_summaries(args, paths, names, truths, results, infos, labels, names_of) -> None:
    """cam_summary.txt and cam_summary.json (per image and checkpoint: prediction, CAM class and peak)."""
    records, lines = [], ["Class activation maps (tools/analysis/cam.py; paper sec. 4.3, Fig. 4)",
                          "cam.png: rows = images; column 1 = the image as the first model sees it, then one "
                          "CAM overlay per checkpoint (jet colours, red = high).", ""]
    for info, label in zip(infos, labels):
        lines.append(f"{label}: {info.describe()}; input {tuple(info.data_config['input_size'])}")
    lines.append("")
    for r, name in enumerate(names):
        lines.append(f"{name}" + (f" (true class {truths[r]})" if truths[r] else ""))
        for res, label, info, cn in zip(results, labels, infos, names_of):
            peak = np.unravel_index(int(np.argmax(res["cam"][r])), res["cam"][r].shape)
            rec = dict(image=paths[r], checkpoint=info.path, label=label, predicted=res["predicted"][r],
                       predicted_name=cn[res["predicted"][r]], score=res["score"][r], cam_class=res["classes"][r],
                       cam_class_prob=res["class_prob"][r], cam_peak=[int(peak[0]), int(peak[1])],
                       cam_size=list(res["cam"][r].shape), true_class=truths[r])
            records.append(rec)
            lines.append(f"  {label}: predicted {rec['predicted']} ({rec['predicted_name']}) score "
                         f"{rec['score']:.3f}; CAM of class {rec['cam_class']} (p={rec['cam_class_prob']:.3f}), "
                         f"peak (y, x) = {tuple(rec['cam_peak'])} on {tuple(rec['cam_size'])}")
    with open(os.path.join(args.out, "cam_summary.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(args.out, "cam_summary.json"), "w") as f:
        json.dump(records, f, indent=1)
    print("\n".join(lines))
    print(f"cam: wrote cam.png, cam_summary.txt, cam_summary.json to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
