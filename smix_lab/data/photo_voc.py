"""A tiny VOC set of real photographs with hand-drawn object boxes, from packages already installed.

The photographs are scikit-image's sample images (astronaut, coffee, chelsea, rocket, the left
view of stereo_motorcycle) and matplotlib's grace_hopper.jpg; nothing is downloaded and no image is
kept in this repository: ``write_photo_voc`` reads them from the installed packages and writes a
``VOC2007/`` folder (JPEGImages, Annotations, ImageSets/Main/trainval.txt) with the boxes below,
drawn by hand for this project by looking at each photograph (0-based pixels, x1/y1 exclusive).

It is a sanity set for the patch-fidelity check on real photographs (``tools/analysis/patch_fidelity.py
--data data/photo_voc/VOC2007``): six images cannot estimate a rate, so the check's intervals on it
are wide. Photographs whose package is missing are left out (grace_hopper is always there).
"""
from __future__ import annotations

import os
from typing import Callable, Dict, List, Tuple

import numpy as np
from PIL import Image

from smix_lab.data.voc import annotation_xml

Box = Tuple[int, int, int, int]
PHOTO_OBJECTS: Dict[str, List[Tuple[str, Box]]] = {
    "astronaut": [("person", (0, 20, 500, 512)), ("aeroplane", (395, 20, 475, 255))],
    "coffee": [("cup", (170, 15, 412, 275))],
    "chelsea": [("cat", (0, 0, 420, 300))],
    "rocket": [("rocket", (288, 112, 328, 412))],
    "motorcycle": [("motorbike", (95, 95, 560, 455))],
    "grace_hopper": [("person", (15, 20, 512, 600))],
}
MARKER = ".smix_photo_voc"


def _loaders() -> Dict[str, Callable[[], np.ndarray]]:
    import matplotlib

    def grace_hopper():
        path = os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg")
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    loaders = {"grace_hopper": grace_hopper}
    try:
        from skimage import data
    except ImportError:
        return loaders
    loaders.update(astronaut=data.astronaut, coffee=data.coffee, chelsea=data.chelsea, rocket=data.rocket,
                   motorcycle=lambda: data.stereo_motorcycle()[0])
    return loaders


def write_photo_voc(out: str) -> List[str]:
    """Write ``out/VOC2007`` with the photographs that are installed; returns their ids.

    Raises:
        FileExistsError: ``out`` exists, is not empty and was not made by this function.
    """
    if os.path.isdir(out) and os.listdir(out) and not os.path.isfile(os.path.join(out, MARKER)):
        raise FileExistsError(f"{out} is not empty and was not made by write_photo_voc; choose another folder")
    root = os.path.join(out, "VOC2007")
    for sub in ("JPEGImages", "Annotations", os.path.join("ImageSets", "Main")):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    written = []
    loaders = _loaders()
    for name, objects in PHOTO_OBJECTS.items():
        try:
            pixels = loaders[name]()
        except (KeyError, OSError, ValueError):  # not installed, or a sample that would need a download
            continue
        height, width = pixels.shape[:2]
        Image.fromarray(np.ascontiguousarray(pixels[..., :3])).save(
            os.path.join(root, "JPEGImages", f"{name}.jpg"), quality=95)
        with open(os.path.join(root, "Annotations", f"{name}.xml"), "w") as f:
            f.write(annotation_xml("VOC2007", name, width, height, objects))
        written.append(name)
    with open(os.path.join(root, "ImageSets", "Main", "trainval.txt"), "w") as f:
        f.write("\n".join(written) + "\n")
    with open(os.path.join(out, MARKER), "w") as f:
        f.write("made by smix_lab.data.photo_voc.write_photo_voc\n")
    return written
