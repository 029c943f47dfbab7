"""Pictures and the markdown report of ``tools/demo.py``."""
from __future__ import annotations

import os
import platform
import time
from typing import Dict, List

import matplotlib

from smix_lab.curves import draw_curves as plot_curves
from smix_timm.train.summary import read_summary

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def draw_curves(summaries: Dict[str, str], path: str) -> str:
    """Train loss and validation top-1 per epoch from each run's summary.csv (smix_lab.curves draws them)."""
    loss, top1 = {}, {}
    for name, summary in summaries.items():
        rows = read_summary(summary)
        epochs = [int(r["epoch"]) + 1 for r in rows]
        loss[name] = (epochs, [[r["train_loss"] for r in rows]])
        scored = [r for r in rows if "eval_top1" in r]
        top1[name] = ([int(r["epoch"]) + 1 for r in scored], [[r["eval_top1"] for r in scored]])
    return plot_curves([("training loss (soft targets)", "loss", loss), ("validation top-1", "top-1 (%)", top1)],
                       path)


def draw_detections(config: str, checkpoints: Dict[str, str], voc_root: str, path: str, device: str = "cpu",
                    num_images: int = 3, score_thr: float = 0.3) -> str:
    """A few VOC2007 test images with each detector's boxes (score >= score_thr), one column per detector."""
    from mmdet.apis import inference_detector, init_detector
    from PIL import Image

    import smix_mmdet  # noqa: F401  (registrations and safe checkpoint loading)

    with open(os.path.join(voc_root, "VOC2007", "ImageSets", "Main", "test.txt")) as f:
        ids = [line.strip() for line in f if line.strip()][:num_images]
    images = [os.path.join(voc_root, "VOC2007", "JPEGImages", f"{i}.jpg") for i in ids]
    fig, axes = plt.subplots(len(images), len(checkpoints), figsize=(4 * len(checkpoints), 4 * len(images)),
                             squeeze=False)
    os.environ.setdefault("SMIX_VOC_ROOT", voc_root.rstrip("/") + "/")
    for col, (name, ckpt) in enumerate(checkpoints.items()):
        model = init_detector(config, ckpt, device=device)
        classes = model.dataset_meta.get("classes", [])
        for row, image in enumerate(images):
            pred = inference_detector(model, image).pred_instances
            ax = axes[row][col]
            ax.imshow(Image.open(image).convert("RGB"))
            keep = pred.scores >= score_thr
            for (x0, y0, x1, y1), label, score in zip(pred.bboxes[keep].tolist(), pred.labels[keep].tolist(),
                                                     pred.scores[keep].tolist()):
                ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, color="lime", lw=2))
                text = f"{classes[label] if label < len(classes) else label} {score:.2f}"
                ax.text(x0, y0, text, color="black", fontsize=7, backgroundcolor="lime", va="bottom")
            ax.set_title(f"{name}: {int(keep.sum())} boxes >= {score_thr}", fontsize=9)
            ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _machine() -> str:
    import torch
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return (f"{platform.platform()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}, "
            f"torch {torch.__version__}, GPU: {gpu}")


def write_report(out: str, args, pretrained: Dict, detected: Dict, pictures: Dict, commands: List[str],
                 timings: Dict[str, float], total_seconds: float) -> str:
    lines = ["# SaliencyMix demo report", "",
             f"Generated {time.strftime('%Y-%m-%d %H:%M:%S')} on: {_machine()}.", "",
             "Built-in data: a generated classification set (one salient object per image on clutter) and a "
             "generated VOCdevkit. Small data and short schedules: the numbers show the pipeline works end to "
             "end and how the variants compare here, not the paper's ImageNet/VOC figures.", "",
             "## Pretraining (tools/train.py, timm)", "",
             "| variant | final top-1 (%) | best top-1 (%) | checkpoint |", "|---|---:|---:|---|"]
    for name, r in pretrained.items():
        lines.append(f"| {name} | {r['final_top1']:.2f} | {r['best_top1']:.2f} | "
                     f"`{os.path.relpath(r['checkpoint'], out)}` |")
    lines += ["", "## Detection (Faster R-CNN R-18-FPN, mmdet train.py/test.py, VOC07 test)", "",
              "| backbone pretrained with | VOC mAP (%) |", "|---|---:|"]
    for name, r in detected.items():
        lines.append(f"| {name} | {r['mAP']:.2f} |")
    lines += ["", "## Wall time per stage", "", "| stage | seconds |", "|---|---:|"]
    lines += [f"| {k} | {v:.0f} |" for k, v in timings.items()]
    lines += [f"| total (this run, reused stages count 0) | {total_seconds:.0f} |", "", "## Pictures", ""]
    for name in pictures["files"]:
        if name.endswith(".png"):
            lines.append(f"![{name}](pictures/{name})")
    lines += ["", "## Commands that ran", "", "```"] + commands + ["```", ""]
    path = os.path.join(out, "report.md")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return path
