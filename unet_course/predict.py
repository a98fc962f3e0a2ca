"""``python -m unet_course.predict MODEL INPUT OUTPUT``: overlap-tile prediction on your images.

    python -m unet_course.predict runs/unet/model.pt my_images/ predictions/
    python -m unet_course.predict model.pt slice.tif out/ --tta --overlay --split-borders

For every PNG/TIFF image in INPUT (a file or a folder) it writes to OUTPUT:

- ``NAME_prob.png``: p(cell), the foreground (class 1) probability, as a 16-bit PNG
  (0..65535 = 0..1); ``--float`` writes ``NAME_prob.tif`` (float32) instead;
- ``NAME_labels.png`` (16-bit; ``.tif`` beyond 65,535 cells): instances
  (``instances_from_probability``): the 4-connected components of p(cell) > --threshold
  without specks under --min-size pixels and with holes under --min-size filled; with
  ``--split-borders`` touching cells are split by a watershed from robust seeds;
- ``NAME_overlay.png`` with ``--overlay``: the image in grey, stretched to its own 1 / 99.8
  percentiles, with the instances' outlines.

Images are read as stored (uint8, uint16 of any range, float raw intensities): the model's
own rule normalises them (``unet_course.normalize``). An RGB(A) image for a grey model is
converted to grey as ``train`` does (``unet_course.data.as_grey``), with a printed note.
MODEL may be a training run's folder: its ``model.pt`` is used (a note says so).

Unreadable images, images with the wrong number of channels and a model file from elsewhere
give one-line errors; one bad image never loses the others' results: they are listed at the
end and the exit status is 1. Bad options or an unusable model: ``error: <reason>``, status 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .cli import Parser

__all__ = ["MIN_SIZE", "SEED_DEPTH", "instances_from_probability", "overlay", "model_path",
           "predict_file", "main"]

# Default --min-size in pixels. Fixed, not learned: a model file does not record its cells'
# sizes. 30 px is below the smallest cell of the course's data (synthetic cells >= 194 px,
# ISBI 2012 cell profiles far larger) and of nuclei of >= 6 px diameter, and above the specks
# a model leaves (the quadrant: 88 of 120 labels under 20 px). Set it for your cells.
MIN_SIZE = 30
# Seeds of --split-borders: maxima of the relief (distance to the background x p(cell),
# smoothed) that rise at least SEED_DEPTH (about pixels) above the pass to a higher maximum
# (h-maxima). Chosen on the two models of benchmarks/bench_instances.py (held-out synthetic
# cells): depth 2 left more fragments, 4 merged more cells of the under-trained model.
SEED_DEPTH = 3.0


def _components(mask: np.ndarray) -> np.ndarray:
    from scipy import ndimage
    return ndimage.label(mask, structure=ndimage.generate_binary_structure(2, 1))[0]


def _clean(mask: np.ndarray, min_size: int) -> np.ndarray:
    """The mask without components under min_size px and with its holes under min_size px
    filled (background regions enclosed by the mask, not touching the image border)."""
    labels = _components(mask)
    keep = np.bincount(labels.ravel()) >= min_size
    keep[0] = False
    mask = keep[labels]
    holes = _components(~mask)
    small = np.bincount(holes.ravel()) < min_size
    small[0] = False
    small[np.unique(np.concatenate([holes[0], holes[-1], holes[:, 0], holes[:, -1]]))] = False
    return mask | small[holes]


def _split(prob: np.ndarray, mask: np.ndarray, min_size: int, depth: float) -> np.ndarray:
    """Watershed of the mask from h-maxima seeds; regions under min_size give up their seed."""
    from scipy import ndimage
    from skimage.morphology import h_maxima
    from skimage.segmentation import watershed
    relief = ndimage.gaussian_filter(ndimage.distance_transform_edt(mask) * prob, 1.0)
    maxima = h_maxima(relief, depth).astype(bool) & mask  # 8-connected plateaus, as h_maxima's
    seeds = ndimage.label(maxima, structure=np.ones((3, 3)))[0]
    labels = watershed(-relief, markers=seeds, mask=mask, connectivity=1)
    small = np.bincount(labels.ravel(), minlength=seeds.max() + 1) < min_size
    small[0] = False
    if small.any():  # a fragment too small for a cell: its pixels go to its neighbours
        seeds[small[seeds]] = 0
        labels = watershed(-relief, markers=seeds, mask=mask, connectivity=1)
    # a component whose relief peaks outside it (smoothing spills over from a bigger
    # neighbour) has no seed: it stays one cell of its own
    rest = _components(mask & (labels == 0))
    labels[rest > 0] = rest[rest > 0] + labels.max()
    return labels


def instances_from_probability(prob: np.ndarray, threshold: float = 0.5,
                               min_size: int = MIN_SIZE, split_borders: bool = False,
                               seed_depth: float = SEED_DEPTH) -> np.ndarray:
    """Instance labels (int32, 0 = background, ids 1..n) from a p(cell) map (H, W).

    Foreground: p > threshold (the rule of ``unet_course.metrics`` and ``evaluate``); then
    components under ``min_size`` pixels are removed and holes under ``min_size`` pixels
    filled. Plain: the 4-connected components. ``split_borders``: touching cells are split by
    a watershed (``skimage.segmentation.watershed``) of the relief distance-to-background x
    p(cell), Gaussian-smoothed (sigma 1 px), from one seed per h-maximum of depth
    ``seed_depth`` (``skimage.morphology.h_maxima``): a neck, or a dip of p between two cells,
    makes two seeds, while specks and noise inside a cell do not (the former seeds, every
    component of p >= (1 + threshold) / 2, cut noisy cells into specks); a region under
    ``min_size`` gives its pixels to its neighbours. Course choice: the paper stops at the
    pixel classes (its Fig. 3 shows touching cells split by the predicted borders)."""
    prob = np.asarray(prob)
    if prob.ndim != 2 or not np.issubdtype(prob.dtype, np.floating):
        raise ValueError(f"prob must be a float map (H, W), got dtype {prob.dtype} and shape "
                         f"{prob.shape}")
    if isinstance(min_size, bool) or not isinstance(min_size, (int, np.integer)) or min_size < 1:
        raise ValueError(f"min_size must be a whole number of pixels >= 1, got {min_size!r}")
    if not seed_depth > 0:
        raise ValueError(f"seed_depth must be > 0, got {seed_depth!r}")
    mask = _clean(prob > threshold, int(min_size))
    labels = _split(prob, mask, int(min_size), seed_depth) if split_borders else _components(mask)
    return _renumber(labels)


def _renumber(labels: np.ndarray) -> np.ndarray:
    ids = np.unique(labels)
    ids = ids[ids > 0]
    lookup = np.zeros(int(labels.max()) + 1, np.int32)
    lookup[ids] = np.arange(1, ids.size + 1, dtype=np.int32)
    return lookup[labels]


def overlay(image: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """RGB uint8: the image (first channel) in grey, stretched to its own 1 / 99.8
    percentiles (the model's input rule, ``unet_course.normalize``) and clipped to [0, 1] for
    display, each instance outlined in colour."""
    from skimage.color import label2rgb
    from skimage.segmentation import find_boundaries
    from .normalize import PERCENTILES, percentile_normalize
    grey = np.asarray(image)
    grey = grey[0] if grey.ndim == 3 else grey
    grey = np.clip(percentile_normalize(grey, *PERCENTILES), 0, 1)
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    edges = find_boundaries(labels, mode="inner")
    colours = label2rgb(labels, bg_label=0)
    rgb[edges] = colours[edges]
    return (np.clip(rgb, 0, 1) * 255).round().astype(np.uint8)


def _load_image(path: Path, model) -> tuple[np.ndarray, str | None]:
    """((H, W) or (C, H, W) pixels as stored, note or None): a colour image for a grey model
    becomes grey by the rule ``train`` uses (``as_grey``, the note says so). No scaling here:
    ``predict_tiled`` normalises the whole image by the model's stored rule."""
    from .data import as_grey, read_image
    image = read_image(path)  # (H, W) or (H, W, C)
    if model.in_channels == 1:
        return as_grey(image, str(path))
    have = 1 if image.ndim == 2 else image.shape[-1]
    if have != model.in_channels:
        raise ValueError(f"{path}: the image has {have} channel(s), the model takes "
                         f"{model.in_channels}")
    return np.moveaxis(image, -1, 0), None


def model_path(path: str | Path) -> tuple[Path, str | None]:
    """(model file, note or None): a run folder (``train --out DIR``) stands for its
    ``model.pt``; a folder without one is a FileNotFoundError listing what it holds."""
    path = Path(path)
    if not path.is_dir():
        return path, None
    if (path / "model.pt").is_file():
        return path / "model.pt", f"{path} is a folder: using its model.pt ({path / 'model.pt'})"
    held = sorted(p.name + ("/" if p.is_dir() else "") for p in path.iterdir())
    shown = ", ".join(held[:10]) + (f" and {len(held) - 10} more" if len(held) > 10 else "")
    raise FileNotFoundError(f"{path} is a folder without a model.pt (it holds: "
                            f"{shown or 'nothing'}); give the model file, e.g. a training "
                            f"run's DIR/model.pt or DIR/checkpoint.pt")


def predict_file(model, path: Path, out_dir: Path, args) -> list[Path]:
    """Predict one image and write its files; returns the paths written."""
    from .data import write_image
    from .tiling import predict_tiled
    image, note = _load_image(path, model)
    if note:
        print(f"note: {note}", flush=True)
    probs = predict_tiled(model, image, tile_size=args.tile, batch_size=args.batch, tta=args.tta,
                          progress=None if not args.quiet else False)
    prob = probs[1] if probs.shape[0] > 1 else probs[0]
    labels = instances_from_probability(prob, args.threshold, args.min_size, args.split_borders,
                                        args.seed_depth)
    stem, written = path.stem, []
    if args.float:
        written.append(write_image(out_dir / f"{stem}_prob.tif", prob.astype(np.float32)))
    else:
        written.append(write_image(out_dir / f"{stem}_prob.png",
                                   np.round(prob * 65535).astype(np.uint16)))
    if labels.max() <= 65535:
        written.append(write_image(out_dir / f"{stem}_labels.png", labels.astype(np.uint16)))
    else:
        written.append(write_image(out_dir / f"{stem}_labels.tif", labels))
    if args.overlay:
        written.append(write_image(out_dir / f"{stem}_overlay.png", overlay(image, labels)))
    return written


def _probability(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a probability between 0 and 1, got {text}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m unet_course.predict",
                description="Overlap-tile prediction (U-Net paper, Sec. 2, Fig. 2) of every "
                            "PNG/TIFF image in INPUT with a model saved by unet_course; writes "
                            "NAME_prob.png (p(cell), 16-bit), NAME_labels.png (instances) and "
                            "optionally NAME_overlay.png to OUTPUT.")
    p.add_argument("model", metavar="MODEL", help="model file (unet_course save_model or a "
                                                   "training checkpoint), or the run folder holding model.pt")
    p.add_argument("input", metavar="INPUT", help="an image file or a folder of PNG/TIFF images")
    p.add_argument("output", metavar="OUTPUT", help="output folder (created)")
    p.add_argument("--tile", type=_positive, default=None,
                   help="input tile side, e.g. 572 (default: chosen per image, the paper's "
                        "572 at width 64, wider for narrower nets)")
    p.add_argument("--batch", type=_positive, default=4, help="tiles per forward pass (4)")
    p.add_argument("--tta", action="store_const", const="d4", default=False,
                   help="test-time augmentation: average the 8 flips and 90-degree rotations "
                        "(the paper averaged rotated inputs for ISBI 2012; 8x slower)")
    p.add_argument("--tta-flips", action="store_const", const="flips", dest="tta",
                   help="average the 4 flips only (a cheaper course option; 4x slower)")
    p.add_argument("--device", default="auto", help="auto (GPU if any), cpu, cuda, cuda:1, mps")
    p.add_argument("--threshold", type=_probability, default=0.5,
                   help="p(cell) above which a pixel is a cell (0.5; p > threshold, as in "
                        "evaluate and the metrics)")
    p.add_argument("--min-size", type=_positive, default=MIN_SIZE,
                   help=f"cells under this many pixels are removed and holes under it filled "
                        f"({MIN_SIZE}; set it below your smallest cell)")
    p.add_argument("--split-borders", action="store_true",
                   help="split touching cells: watershed from one seed per h-maximum of "
                        "distance-to-background x p(cell), at necks and dips of p")
    p.add_argument("--seed-depth", type=_positive_float, default=SEED_DEPTH,
                   help=f"with --split-borders: how far (about pixels) a cell's centre must "
                        f"rise above the neck to a neighbour to become a cell of its own "
                        f"({SEED_DEPTH:g}; smaller splits more)")
    p.add_argument("--overlay", action="store_true", help="also write NAME_overlay.png")
    p.add_argument("--float", action="store_true", help="write p(cell) as float32 TIFF")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def _device(name: str):
    import torch
    if name == "auto":
        from .device import get_device
        return get_device(verbose=False)
    try:
        device = torch.device(name)
        torch.empty(0, device=device)
    except (RuntimeError, AssertionError) as error:
        raise ValueError(f"device {name!r} is not usable here ({str(error).splitlines()[0]})") from None
    return device


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    from .checkpoint import load_model
    from .data import list_images
    try:
        source = Path(args.input)
        paths = list_images(source) if source.is_dir() else [source]
        if not source.exists():
            raise FileNotFoundError(f"{source}: no such file or folder")
        path, note = model_path(args.model)
        if note:
            print(f"note: {note}")
        model = load_model(path, device=_device(args.device))
        if args.tile is not None:
            from .tiling import plan_tiles
            plan_tiles(model, (1, 1), args.tile)  # a tile this model cannot take: stop here
    except (ValueError, FileNotFoundError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out_dir, failed = Path(args.output), []
    for path in paths:
        try:
            written = predict_file(model, path, out_dir, args)
        except Exception as error:  # noqa: BLE001 (one bad image must not stop the others)
            if not isinstance(error, (ValueError, FileNotFoundError, OSError)):
                error = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            failed.append((path, error))
            print(f"failed: {error}" if str(path) in str(error) else f"failed: {path}: {error}",
                  file=sys.stderr)
            continue
        if not args.quiet:
            print(f"{path.name}: {', '.join(p.name for p in written)}")
    done = len(paths) - len(failed)
    print(f"done: {done} of {len(paths)} image(s) predicted into {out_dir}")
    if failed:
        names = ", ".join(path.name for path, _ in failed)
        print(f"{len(failed)} image(s) failed (reasons above): {names}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
