"""What to draw in pictures of SaliencyMix at work (paper Fig. 2, sec. 3.1-3.4), and a light grid renderer.

Three jobs: find and load images (an image list, a timm-layout data folder, or the
photographs shipped with matplotlib), and compute, for one source/target pair,
what each mixing method does: the source's saliency map and peak, the source
and target boxes, the label weight and the mixed image, for the five placement
schemes (sec. 3.4), CutMix (timm's random box) and the official-code preset;
and draw grids of such panels fast (``Mosaic``: one picture, one matplotlib
axes). ``tools/analysis/visualize_mix.py`` and ``tools/analysis/cam.py`` use them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from PIL import Image

from smix_lab.analysis.images import normalise
from smix_timm._inputs import to_uint8
from smix_timm.mix import SaliencyMix
from smix_timm.params import CUTMIX, SALIENCYMIX, MixParams, random_cutmix_box
from smix_timm.placement import SCHEMES, Box, BoxPairs, check_scheme, peak_positions
from smix_timm.saliency import saliency_map

# timm's ImageNet constants: the mixers see the normalised float batch, as on timm's batch path
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
METHODS = tuple(SCHEMES) + ("cutmix", "official")
DETECTORS = ("fine_grained", "spectral_residual", "frequency_tuned")
DEFAULT_PHOTOS = ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png")
Point = Tuple[int, int]


# ------------------------------------------------------------------ images
def image_extensions() -> Tuple[str, ...]:
    from timm.data.readers.img_extensions import get_img_extensions
    return tuple(get_img_extensions())


def default_photo_paths() -> List[str]:
    """The photographs matplotlib ships (grace_hopper.jpg and a gift-box picture)."""
    import matplotlib
    folder = os.path.join(matplotlib.get_data_path(), "sample_data")
    paths = [os.path.join(folder, name) for name in DEFAULT_PHOTOS]
    found = [p for p in paths if os.path.isfile(p)]
    if not found:
        raise FileNotFoundError(f"no sample photographs in {folder}; pass --images or --data-dir")
    return found


def image_files(paths: Sequence[str]) -> List[str]:
    """Files as given; a directory contributes its image files (recursively, sorted)."""
    exts = image_extensions()
    out: List[str] = []
    for path in paths:
        if os.path.isdir(path):
            found = sorted(os.path.join(root, f) for root, _, files in os.walk(path)
                           for f in files if f.lower().endswith(exts))
            if not found:
                raise FileNotFoundError(f"{path!r} holds no image files ({', '.join(exts)})")
            out.extend(found)
        elif os.path.isfile(path):
            out.append(path)
        else:
            raise FileNotFoundError(f"image {path!r} does not exist")
    if not out:
        raise FileNotFoundError("no images given")
    return out


def data_dir_images(data_dir: str, count: int, seed: int = 0, split: str = "validation",
                    ) -> List[Tuple[str, str]]:
    """``count`` (path, class name) picks from a timm-layout folder, one class after another (seeded).

    Reads ``data_dir/<split>`` (else validation/, val/, train/, else ``data_dir`` itself) as class folders.
    """
    from timm.data import create_dataset
    if not os.path.isdir(data_dir):
        raise FileNotFoundError(f"data dir {data_dir!r} does not exist")
    root = next((os.path.join(data_dir, s) for s in (split, "validation", "val", "train")
                 if os.path.isdir(os.path.join(data_dir, s))), data_dir)
    try:
        dataset = create_dataset("", root=root, search_split=False)
    except Exception as err:  # timm raises on an empty / badly laid out folder
        raise FileNotFoundError(f"{data_dir!r} is not an image folder in timm's layout "
                                f"(<split>/<class>/<image>): {err}") from err
    names = {idx: name for name, idx in dataset.reader.class_to_idx.items()}
    by_class: Dict[int, List[str]] = {}
    for path, label in dataset.reader.samples:
        by_class.setdefault(int(label), []).append(path)
    if not by_class:
        raise FileNotFoundError(f"{data_dir!r} holds no images")
    rng = np.random.default_rng(seed)
    classes = [int(c) for c in rng.permutation(sorted(by_class))]
    order = {c: [by_class[c][i] for i in rng.permutation(len(by_class[c]))] for c in classes}
    picks: List[Tuple[str, str]] = []
    round_ = 0
    while len(picks) < count and round_ < max(len(v) for v in order.values()):
        for c in classes:
            if round_ < len(order[c]) and len(picks) < count:
                picks.append((order[c][round_], names.get(c, str(c))))
        round_ += 1
    return picks


def load_image(path: str, size: Optional[int] = None) -> np.ndarray:
    """RGB uint8 (H, W, 3); transparency composited on white; ``size``: shorter side resized, centre crop."""
    with Image.open(path) as img:
        if img.mode in ("RGBA", "LA", "P"):
            img = img.convert("RGBA")
            canvas = Image.new("RGBA", img.size, (255, 255, 255, 255))
            img = Image.alpha_composite(canvas, img)
        img = img.convert("RGB")
        if size is not None:
            w, h = img.size
            scale = size / min(w, h)
            nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
            img = img.resize((nw, nh), Image.BICUBIC)
            left, top = (nw - size) // 2, (nh - size) // 2
            img = img.crop((left, top, left + size, top + size))
        return np.array(img, dtype=np.uint8)


def common_square_size(paths: Sequence[str]) -> Optional[int]:
    """The side length when all images are square and of one size, else None."""
    sizes = set()
    for path in paths:
        with Image.open(path) as img:
            sizes.add(img.size)
    if len(sizes) == 1:
        w, h = sizes.pop()
        if w == h:
            return w
    return None


# ------------------------------------------------------------------ panels
@dataclass
class MixPanel:
    """One method on one pair: boxes are (y0, y1, x0, x1), points (y, x)."""
    method: str
    lam: float                     # drawn combination ratio (share of the target kept, eq. 4)
    label_weight: float            # the target's weight in the soft label (timm correct_lam: from the box)
    source_box: Box
    target_box: Box
    mixed: np.ndarray              # (H, W, 3) uint8
    source_point: Optional[Point]  # the point the source box was placed around (None: random box)
    target_point: Optional[Point]  # the target point the patch was moved to (None: same place)
    note: str = ""


@dataclass
class PairPanels:
    """A source/target pair, its saliency maps and every method's panel."""
    source_name: str
    target_name: str
    source: np.ndarray
    target: np.ndarray
    source_map: np.ndarray
    target_map: np.ndarray
    source_peak: Point             # first maximum of the source's map
    source_least: Point            # first minimum (the 'non-salient' point of sec. 3.4)
    target_peak: Point
    target_least: Point
    lam: float
    official_peak: Optional[Point] = None
    panels: List[MixPanel] = field(default_factory=list)
    skipped: Dict[str, str] = field(default_factory=dict)  # method -> why it is not shown


def box_contains(box: Box, point: Point) -> bool:
    y0, y1, x0, x1 = box
    return y0 <= point[0] < y1 and x0 <= point[1] < x1


def timm_batch(images: np.ndarray) -> torch.Tensor:
    """(B, H, W, 3) uint8 images -> the (B, 3, H, W) float batch timm feeds a model (ImageNet mean/std)."""
    return normalise(torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0, MEAN, STD)


def _to_image(x: torch.Tensor) -> np.ndarray:
    return to_uint8(x.unsqueeze(0), mean=MEAN, std=STD)[0].permute(1, 2, 0).numpy()


def draw_params(count: int, size: Tuple[int, int], alpha: float = 1.0, seed: int = 0,
              lam: Optional[float] = None) -> List[MixParams]:
    """Per pair, SaliencyMix params for a batch of 2 ([target, source]); lam ~ Beta(alpha, alpha) or fixed."""
    if lam is not None:
        if not 0.0 < lam < 1.0:
            raise ValueError(f"lam must be in (0, 1), got {lam}")
        return [MixParams(kind=np.full(2, SALIENCYMIX, np.int8), lam=np.full(2, float(lam)),
                          cutmix_box=[None, None]) for _ in range(count)]
    mixer = SaliencyMix(mixup_alpha=0.0, saliencymix_alpha=alpha, num_classes=2, seed=seed)
    return [mixer.sample_params(2, size) for _ in range(count)]


def _mixer(**kw) -> SaliencyMix:
    return SaliencyMix(mixup_alpha=0.0, label_smoothing=0.0, num_classes=2, mean=MEAN, std=STD, **kw)


def _run(mixer: SaliencyMix, x: torch.Tensor, params: MixParams, pairs: BoxPairs) -> Tuple[np.ndarray, float]:
    """Mix a copy of x with the boxes already found (the maps are not computed again)."""
    mixed, soft = mixer.mix_with_params(x.clone(), torch.tensor([0, 1]), params, saliency_pairs=pairs)
    return _to_image(mixed[0]), float(soft[0, 0])


def _point(t: torch.Tensor) -> Point:
    return int(t[0]), int(t[1])


def mix_pair(source: np.ndarray, target: np.ndarray, params: MixParams, *, method: str = "fine_grained",
             border: str = "shift", cutmix_seed: int = 0, official: bool = True,
             names: Tuple[str, str] = ("source", "target")) -> PairPanels:
    """Every method of ``METHODS`` on one pair, with one shared lambda (``params`` for a batch of 2).

    The batch is [target, source]: sample 0 (the target) takes its patch from
    sample 1 (the source), as SaliencyMix pairs i with B-1-i. Each image's saliency map is
    computed once: every scheme's boxes come from its peaks.
    """
    if source.shape != target.shape:
        raise ValueError(f"source {source.shape} and target {target.shape} must have one size")
    height, width = source.shape[:2]
    x = timm_batch(np.stack([target, source]))
    maps = saliency_map(torch.from_numpy(np.stack([source, target])).permute(0, 3, 1, 2).contiguous(), method)
    maxima, minima = peak_positions(maps)
    batch_peaks = (maxima.flip(0), minima.flip(0))  # in the batch's order [target, source]
    pair = PairPanels(source_name=names[0], target_name=names[1], source=source, target=target,
                      source_map=maps[0].numpy(), target_map=maps[1].numpy(),
                      source_peak=_point(maxima[0]), source_least=_point(minima[0]),
                      target_peak=_point(maxima[1]), target_least=_point(minima[1]), lam=float(params.lam[0]))
    for scheme in SCHEMES:
        mixer = _mixer(saliencymix_alpha=1.0, method=method, scheme=scheme, border=border)
        pairs = mixer.saliency_box_pairs(x, params, peaks=batch_peaks)
        source_box, target_box = pairs[0]
        mixed, weight = _run(mixer, x, params, pairs)
        src_kind, tgt_kind = check_scheme(scheme)
        src_point = pair.source_peak if src_kind == "max" else pair.source_least
        tgt_point = None if tgt_kind == "same" else (pair.target_peak if tgt_kind == "max" else pair.target_least)
        pair.panels.append(MixPanel(scheme, pair.lam, weight, source_box, target_box, mixed, src_point, tgt_point))
    box = random_cutmix_box(np.random.default_rng(cutmix_seed), pair.lam, height, width)
    cut_params = MixParams(kind=np.full(2, CUTMIX, np.int8), lam=params.lam.copy(), cutmix_box=[box, box])
    mixed, weight = _run(_mixer(cutmix_alpha=1.0), x, cut_params, BoxPairs.empty(2))
    pair.panels.append(MixPanel("cutmix", pair.lam, weight, box, box, mixed, None, None,
                                note="random box (timm rand_bbox), same place in source and target"))
    if official:
        try:
            pair.panels.append(_official_panel(pair, x, params))
        except ImportError as err:  # cv2.saliency (opencv-contrib) missing: the official box needs OpenCV
            pair.skipped["official"] = str(err)
    return pair


def _official_panel(pair: PairPanels, x: torch.Tensor, params: MixParams) -> MixPanel:
    from smix_timm.official import official_box_pairs, official_input, official_peak
    mixer = _mixer(saliencymix_alpha=1.0, official=True)
    # the mixer's official path, its one OpenCV map computed once here (sample 0's source, x[1])
    pair.official_peak = official_peak(official_input(x[1], MEAN, STD))
    chosen = np.flatnonzero(params.kind == SALIENCYMIX)
    pairs = official_box_pairs(pair.official_peak, len(x), chosen, params.lam, x.shape[-2], x.shape[-1])
    source_box, target_box = pairs[0]
    mixed, weight = _run(mixer, x, params, pairs)
    return MixPanel("official", pair.lam, weight, source_box, target_box, mixed, pair.official_peak, None,
                    note="official code: OpenCV fed the normalised float32 image, one map per batch, "
                         "box clipped at the border")


def detector_maps(images: np.ndarray, methods: Sequence[str] = DETECTORS) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
    """Per detector: ((N, H, W) maps, (N, 2) first-maximum [y, x]) for (N, H, W, 3) uint8 images."""
    batch = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).contiguous()
    out = {}
    for name in methods:
        maps = saliency_map(batch, name)
        out[name] = (maps.numpy(), peak_positions(maps)[0].numpy())
    return out


# ------------------------------------------------------------------ drawing
class Mosaic:
    """A grid of image cells drawn as one picture on one matplotlib axes (few artists, so it is fast).

    Cells are ``cell`` pixels square, with ``title_lines`` lines of title above
    each, an optional label column on the left and an optional header above any
    row (``headers``: {row: text}). Boxes and points are given in the pixel
    coordinates of the image put in the cell, (y, x) / (y0, y1, x0, x1).
    """

    FONT = 9          # points; at dpi 100 one line is about 14 px
    LINE = 14

    def __init__(self, rows: int, cols: int, cell: int = 200, title_lines: int = 1, label_width: int = 0,
                 headers: Optional[Dict[int, str]] = None, title: str = "", gap: int = 10, dpi: int = 100):
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        self.rows, self.cols, self.cell, self.gap, self.dpi = rows, cols, cell, gap, dpi
        self.title_h = title_lines * self.LINE + 6
        self.label_w = label_width
        self.headers = headers or {}
        self.header_h = 3 * self.LINE + 14  # room for two lines of header text
        self.top = (2 * self.LINE + 8) if title else gap
        self.row_y: List[int] = []
        y = self.top
        for r in range(rows):
            if r in self.headers:
                y += self.header_h
            self.row_y.append(y + self.title_h)
            y += self.title_h + cell + gap
        self.height = y
        # wide enough for the bold title (about 10 px a character at 12 pt, dpi 100)
        needed = label_width + cols * (cell + gap) + gap
        self.width = max(needed, int(len(title) * 10.5 * dpi / 100) + 2 * gap)
        self.x0 = (self.width - needed) // 2  # cells centred under a wider title
        self.canvas = np.ones((self.height, self.width, 3), np.float32)
        self.sizes: Dict[Tuple[int, int], Tuple[int, int]] = {}
        self.fig = plt.figure(figsize=(self.width / dpi, self.height / dpi), dpi=dpi)
        self.ax = self.fig.add_axes([0, 0, 1, 1])
        self.ax.set_axis_off()
        if title:
            self.ax.text(self.width / 2, 6, title, ha="center", va="top", fontsize=self.FONT + 3, fontweight="bold")
        for r, text in self.headers.items():
            top = self.row_y[r] - self.title_h - self.header_h + 6
            self.ax.plot([gap, self.width - gap], [top - 2, top - 2], color="0.6", linewidth=1)
            self.ax.text(gap, top + 2, text, ha="left", va="top", fontsize=self.FONT + 2, fontweight="bold")

    def origin(self, r: int, c: int) -> Tuple[int, int]:
        """(x, y) of the top-left pixel of cell (r, c) in the picture."""
        return self.x0 + self.label_w + self.gap + c * (self.cell + self.gap), self.row_y[r]

    def put(self, r: int, c: int, image: np.ndarray) -> None:
        """(H, W, 3) uint8 / float in [0, 1], or (H, W) in [0, 1] (grey), scaled to the cell."""
        img = np.asarray(image)
        if img.dtype == np.uint8:
            img = img.astype(np.float32) / 255.0
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        h, w = img.shape[:2]
        self.sizes[(r, c)] = (h, w)
        pil = Image.fromarray(np.clip(np.rint(img * 255), 0, 255).astype(np.uint8))
        scale = self.cell / max(h, w)
        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
        pil = pil.resize((nw, nh), Image.NEAREST if scale >= 2 else Image.BILINEAR)
        x, y = self.origin(r, c)
        self.canvas[y:y + nh, x:x + nw] = np.asarray(pil, np.float32) / 255.0

    def _to_xy(self, r: int, c: int, y: float, x: float) -> Tuple[float, float]:
        h, w = self.sizes[(r, c)]
        scale = self.cell / max(h, w)
        ox, oy = self.origin(r, c)
        return ox + x * scale, oy + y * scale

    def title(self, r: int, c: int, text: str) -> None:
        x, y = self.origin(r, c)
        self.ax.text(x + self.cell / 2, y - 3, text, ha="center", va="bottom", fontsize=self.FONT,
                     linespacing=1.15)

    def label(self, r: int, text: str) -> None:
        """Bold text in the left column, centred on row r."""
        self.ax.text(self.x0 + self.label_w - 4, self.row_y[r] + self.cell / 2, text, ha="right", va="center",
                     fontsize=self.FONT + 1, fontweight="bold")

    def box(self, r: int, c: int, box: Box, colour: str, style: str = "-") -> None:
        from matplotlib.patches import Rectangle
        y0, y1, x0, x1 = box
        left, top = self._to_xy(r, c, y0, x0)
        right, bottom = self._to_xy(r, c, y1, x1)
        self.ax.add_patch(Rectangle((left, top), right - left, bottom - top, fill=False, edgecolor=colour,
                                    linewidth=2, linestyle=style, zorder=3))

    def mark(self, r: int, c: int, point: Optional[Point], marker: str, colour: str, size: float = 12) -> None:
        if point is None:
            return
        x, y = self._to_xy(r, c, point[0] + 0.5, point[1] + 0.5)
        self.ax.plot([x], [y], linestyle="none", marker=marker, markersize=size, markerfacecolor="none",
                     markeredgecolor=colour, markeredgewidth=2.5, zorder=4)

    def save(self, path: str) -> None:
        import matplotlib.pyplot as plt
        self.ax.imshow(self.canvas, interpolation="none", zorder=0, extent=(0, self.width, self.height, 0))
        self.ax.set_xlim(0, self.width)
        self.ax.set_ylim(self.height, 0)
        self.fig.savefig(path, dpi=self.dpi, metadata={"Software": None})
        plt.close(self.fig)


def overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.5, cmap: str = "jet") -> np.ndarray:
    """``image`` (H, W, 3) in [0, 1] blended with ``heat`` (H, W) in [0, 1] through a colour map."""
    import matplotlib
    colours = matplotlib.colormaps[cmap](np.clip(heat, 0, 1))[..., :3]
    return (1 - alpha) * np.asarray(image, np.float32) + alpha * colours.astype(np.float32)
