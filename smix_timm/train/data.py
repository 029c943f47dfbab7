"""Training data for ``tools/train.py``: timm's datasets, checked before timm reads them.

timm's ``create_dataset`` accepts data that trains silently wrong: an empty class folder is dropped
(every later label shifts), images one folder too deep become classes of their own, train and
validation splits may disagree on the classes. These checks turn such cases into one clear error
(:class:`UsageError`) that names the fix. The CIFAR recipe's pad-and-crop transform lives here too.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import tarfile
from typing import List, Optional, Tuple

from timm.data import create_dataset
from timm.data.readers.img_extensions import get_img_extensions

from smix_timm.train.errors import UsageError

# timm's folder reader accepts these names for the two splits
_SPLIT_SYNONYMS = (("train", "training"), ("val", "valid", "validation", "eval", "evaluation"))


def split_folder(root: str, split: str) -> Optional[str]:
    """The folder that holds ``split`` under ``root`` (timm's synonyms included), or None."""
    name = split.split("[")[0]
    names = [name] + [n for group in _SPLIT_SYNONYMS if name in group for n in group]
    return next((os.path.join(root, n) for n in names if os.path.isdir(os.path.join(root, n))), None)


def check_image_folder(root: str, split: str, flag: str) -> Tuple[str, List[str]]:
    """Check one split of timm's folder layout, ``root/<split>/<class>/<image>``.

    Returns:
        (the split's folder, its class folder names in timm's order).

    Raises:
        UsageError: no such split, no class folders, or a class folder without images.
    """
    folder = split_folder(root, split)
    if folder is None:
        raise UsageError(f'no "{split}" folder in {root}: timm\'s folder layout is {root}/{split}/<class>/<image>; '
                         f'set {flag} to the name of your folder')
    extensions = get_img_extensions(as_set=True)
    classes = sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)))
    if not classes:
        raise UsageError(f"{folder} has no class folders; put each class's images in {folder}/<class>/")
    for name in classes:
        has_image = any(os.path.splitext(f)[1].lower() in extensions
                        for _, _, files in os.walk(os.path.join(folder, name), followlinks=True) for f in files)
        if not has_image:
            raise UsageError(f"class folder {os.path.join(folder, name)} holds no images "
                             f"({', '.join(sorted(extensions))}); add images or remove the folder "
                             "(timm would drop the class and shift all later labels)")
    return folder, classes


def check_image_tar(path: str) -> None:
    """Check a ``.tar`` given as data (timm's ``ReaderImageInTar`` reads it): a readable tar with images.

    Raises:
        UsageError: an empty or damaged file, another archive format (e.g. gzip, zip), or no image in it.
    """
    extensions = get_img_extensions(as_set=True)
    files = 0
    try:
        with tarfile.open(path, "r:") as tar:  # plain tar only: timm's reader opens it so
            for member in tar:  # headers only, and only up to the first image
                if member.isfile():
                    if os.path.splitext(member.name)[1].lower() in extensions:
                        return
                    files += 1
    except (tarfile.TarError, OSError, EOFError) as err:
        size = os.path.getsize(path) if os.path.isfile(path) else 0
        what = "is empty (0 bytes)" if size == 0 else f"is not a plain tar archive ({err})"
        raise UsageError(f"--data-dir {path} {what}; pass an uncompressed .tar of <class>/<image> files "
                         "(tar -cf), or the folder that holds train/ and validation/") from None
    raise UsageError(f"--data-dir {path} holds no images ({', '.join(sorted(extensions))}) among its "
                     f"{files} files; pass a .tar of <class>/<image> files or the data folder")


def dataset_classes(dataset) -> Optional[List[str]]:
    """Class names of a timm ImageDataset or a torchvision dataset, in label order, or None."""
    reader = getattr(dataset, "reader", None)
    if reader is not None and getattr(reader, "class_to_idx", None):
        return [name for name, _ in sorted(reader.class_to_idx.items(), key=lambda item: item[1])]
    if getattr(dataset, "classes", None):
        return list(dataset.classes)
    return None


# --dataset prefixes timm's create_dataset reads, and the package each needs beyond timm's own.
DATASET_PREFIXES = {"torch/": None, "tfds/": "tensorflow_datasets", "hfds/": "datasets", "hfids/": "datasets",
                    "wds/": "webdataset"}


def check_dataset_kind(kind: str) -> None:
    """Refuse a ``--dataset`` timm would silently read as a plain folder, or one whose package is missing.

    Args:
        kind: the ``--dataset`` value ('' for image folders).
    Raises:
        UsageError: an unknown ``prefix/`` (timm falls back to the folder reader without a word, so a typo
            would train on other data), or a prefix whose package is not installed (a clear line
            instead of an import traceback deep in timm).
    """
    if "/" not in kind:  # '' or a reader name: timm's folder / tar readers
        return
    prefix = next((p for p in DATASET_PREFIXES if kind.lower().startswith(p)), None)
    if prefix is None:
        raise UsageError(f"--dataset {kind!r} has no prefix timm knows ({', '.join(DATASET_PREFIXES)}); "
                         "leave --dataset empty for image folders (DIR/train/<class>/*)")
    package = DATASET_PREFIXES[prefix]
    if package is not None and importlib.util.find_spec(package) is None:
        raise UsageError(f"--dataset {kind} needs the {package} package: pip install {package}, "
                         "or use image folders (leave --dataset empty)")


def build_datasets(args: argparse.Namespace):
    """Train and eval datasets through timm's ``create_dataset``, checked first.

    Args:
        args: the trainer's options (``data_dir``, ``dataset``, ``train_split``, ``val_split``,
            ``class_map``, ``dataset_download``, ``batch_size``, ``seed``, ``epoch_repeats``,
            ``num_classes``, ``world_size``). ``args.num_classes`` is set from the data when unset.

    Returns:
        (train dataset, eval dataset).

    Raises:
        UsageError: missing data, a bad folder layout, a ``.tar`` that is not an image archive, a
            failed ``--dataset-download`` (e.g. offline), class lists that disagree, or fewer training
            images than one global batch.
    """
    root, kind = args.data_dir, args.dataset
    check_dataset_kind(kind)
    torchvision_set = kind.startswith("torch/")
    if not os.path.exists(root) and not (args.dataset_download and torchvision_set):
        hint = ("put the torchvision files there or pass --dataset-download" if torchvision_set else
                "pass the right --data-dir, or make the built-in data: "
                f"python tools/data/make_cls_data.py --out {root}")
        raise UsageError(f"data dir {root} does not exist; {hint}")
    if not kind and os.path.isfile(root) and not root.endswith(".tar"):
        raise UsageError(f"--data-dir {root} is a file; pass the folder that holds train/ and validation/ "
                         "(or a .tar of it)")
    is_folder = not kind and os.path.isdir(root)  # a .tar root is timm's ImageTar: checked as an archive
    if not kind and os.path.isfile(root):
        check_image_tar(root)
    folders = {}
    if is_folder:
        for split, flag in ((args.train_split, "--train-split"), (args.val_split, "--val-split")):
            folders[split] = check_image_folder(root, split, flag)
    common = dict(root=root, class_map=args.class_map, download=args.dataset_download, batch_size=args.batch_size)
    root_existed = os.path.exists(root)
    try:
        train_set = create_dataset(kind, split=args.train_split, is_training=True, seed=args.seed,
                                   repeats=args.epoch_repeats, **common)
        eval_set = create_dataset(kind, split=args.val_split, is_training=False, **common)
    except RuntimeError as err:
        if torchvision_set and "not found" in str(err).lower():
            raise UsageError(f"{kind} not found under {root} ({err}); put the torchvision files there "
                             f"(e.g. {root}/cifar-10-batches-py) or pass --dataset-download") from None
        raise
    except OSError as err:  # urllib's URLError is an OSError: no network, DNS, proxy, or a write failure
        if not args.dataset_download:
            raise
        if not root_existed and os.path.isdir(root) and not os.listdir(root):
            os.rmdir(root)  # the empty folder the failed download made
        reason = getattr(err, "reason", None) or err.strerror or err
        raise UsageError(f"could not download {kind or 'the dataset'} into {root} ({reason}); without a network, "
                         "copy the dataset's files there and drop --dataset-download") from None
    train_classes, eval_classes = dataset_classes(train_set), dataset_classes(eval_set)
    if is_folder and not args.class_map:
        folder, classes = folders[args.train_split]
        if train_classes != classes:
            raise UsageError(f"timm labels images by their innermost folder, and in {folder} that gives classes "
                             f"{train_classes[:5]}... instead of the top folders {classes[:5]}...; "
                             f"put each class's images directly in {folder}/<class>/")
    if train_classes is not None and eval_classes is not None and train_classes != eval_classes:
        raise UsageError(f"train and validation splits have different classes ({len(train_classes)} vs "
                         f"{len(eval_classes)}; only in train: {sorted(set(train_classes) - set(eval_classes))[:5]}, "
                         f"only in validation: {sorted(set(eval_classes) - set(train_classes))[:5]}); "
                         "labels would not match")
    if train_classes is not None:
        if args.num_classes is None:
            args.num_classes = len(train_classes)
        elif args.num_classes != len(train_classes):
            raise UsageError(f"the training data has {len(train_classes)} classes but --num-classes is "
                             f"{args.num_classes}; pass --num-classes {len(train_classes)}")
    if len(train_set) < args.batch_size * args.world_size:
        raise UsageError(f"the training split has {len(train_set)} images, fewer than one batch "
                         f"(-b {args.batch_size} x {args.world_size} processes); lower -b")
    return train_set, eval_set


def build_train_eval_set(args: argparse.Namespace):
    """The training split once more, as an evaluation set (``--eval-train``).

    A dataset of its own, because timm's loader sets the transform on the dataset object: the
    training set keeps its augmentation, this one gets the eval transform (resize, centre crop).
    Call after :func:`build_datasets`, which has checked the split.
    """
    return create_dataset(args.dataset, root=args.data_dir, split=args.train_split, is_training=False,
                          class_map=args.class_map, download=args.dataset_download, batch_size=args.batch_size)


def replace_crop_with_pad(loader, pad: int, input_size) -> None:
    """Swap the training loader's random (resized) crop for zero-padding by ``pad`` px + a random crop.

    The CIFAR recipe of the paper (sec. 4.1.1: pad 4, crop 32, flip) instead of timm's random
    resized crop, which would cut small objects apart. Works on the transform list timm builds.

    Raises:
        UsageError: no random crop to replace (e.g. ``--no-aug``).
    """
    from torchvision import transforms
    steps = loader.dataset.transform.transforms
    crop = transforms.RandomCrop(tuple(input_size[-2:]), padding=pad, fill=0, padding_mode="constant")
    for i, step in enumerate(steps):
        name = type(step).__name__
        if "RandomResizedCrop" in name or "RandomCropOrPad" in name:
            steps[i] = crop
            return
        if "ResizeKeepRatio" in name:  # timm's rkrr mode: resize step followed by its crop step
            steps[i] = crop
            del steps[i + 1]
            return
    raise UsageError("--train-pad found no random crop to replace in the training transforms (is --no-aug set?)")
