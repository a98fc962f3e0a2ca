"""``python -m unet_course.predict MODEL INPUT OUTPUT``: overlap-tile prediction on your images.

    python -m unet_course.predict runs/unet/model.pt my_images/ predictions/
    python -m unet_course.predict model.pt slice.tif out/ --tta --overlay --split-borders

For every PNG/TIFF image in INPUT (a file or a folder) it writes to OUTPUT:

- ``NAME_prob.png``: p(cell), the foreground (class 1) probability, as a 16-bit PNG
  (0..65535 = 0..1); ``--float`` writes ``NAME_prob.tif`` (float32) instead;
- ``NAME_labels.png`` (16-bit; ``.tif`` beyond 65,535 cells): instances, the connected
  components (4-connected) of p(cell) >= --threshold; with ``--split-borders`` the
  components are split at the predicted separation borders: seeds are the components of
  p(cell) >= (1 + threshold) / 2 (the confident cell cores) and a watershed on 1 - p(cell),
  restricted to p(cell) >= threshold, grows them until they meet where p dips between cells;
- ``NAME_overlay.png`` with ``--overlay``: the image in grey with the instances' outlines.

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

__all__ = ["instances", "overlay", "predict_file", "main"]


def instances(prob: np.ndarray, threshold: float = 0.5, split_borders: bool = False) -> np.ndarray:
    """Instance labels (int32, 0 = background) from a foreground probability map."""
    from scipy import ndimage
    mask = prob >= threshold
    four = ndimage.generate_binary_structure(2, 1)
    if not split_borders:
        return ndimage.label(mask, structure=four)[0].astype(np.int32)
    from skimage.segmentation import watershed
    seeds = ndimage.label(prob >= (1 + threshold) / 2, structure=four)[0]
    labels = watershed(1 - prob, markers=seeds, mask=mask, connectivity=1)
    # components without a confident core keep a label of their own
    rest = ndimage.label(mask & (labels == 0), structure=four)[0]
    labels[rest > 0] = rest[rest > 0] + labels.max()
    return labels.astype(np.int32)


def overlay(image: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """RGB uint8: the image (first channel) in grey, each instance outlined in colour."""
    from skimage.color import label2rgb
    from skimage.segmentation import find_boundaries
    grey = np.asarray(image, np.float32)
    grey = grey[0] if grey.ndim == 3 else grey
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    edges = find_boundaries(labels, mode="inner")
    colours = label2rgb(labels, bg_label=0)
    rgb[edges] = colours[edges]
    return (np.clip(rgb, 0, 1) * 255).round().astype(np.uint8)


def _load_image(path: Path, model) -> np.ndarray:
    """(H, W) or (C, H, W) float in [0, 1] for the model, or a ValueError naming the file."""
    from .data import as_float_image, read_image
    image = read_image(path)  # (H, W) or (H, W, C)
    c, have = model.in_channels, 1 if image.ndim == 2 else image.shape[-1]
    if have != c:
        raise ValueError(f"{path}: the image has {have} channel(s), the model takes {c}"
                         + (" (convert it to grey first)" if c == 1 else ""))
    image = image if image.ndim == 2 else np.moveaxis(image, -1, 0)
    return as_float_image(image, str(path))


def predict_file(model, path: Path, out_dir: Path, args) -> list[Path]:
    """Predict one image and write its files; returns the paths written."""
    from .data import write_image
    from .tiling import predict_tiled
    image = _load_image(path, model)
    probs = predict_tiled(model, image, tile_size=args.tile, batch_size=args.batch, tta=args.tta,
                          progress=None if not args.quiet else False)
    prob = probs[1] if probs.shape[0] > 1 else probs[0]
    labels = instances(prob, args.threshold, args.split_borders)
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


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m unet_course.predict",
                description="Overlap-tile prediction (U-Net paper, Sec. 2, Fig. 2) of every "
                            "PNG/TIFF image in INPUT with a model saved by unet_course; writes "
                            "NAME_prob.png (p(cell), 16-bit), NAME_labels.png (instances) and "
                            "optionally NAME_overlay.png to OUTPUT.")
    p.add_argument("model", metavar="MODEL", help="model file (unet_course save_model or a "
                                                   "training checkpoint)")
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
                   help="average the 4 flips instead, as the authors' release does (4x slower)")
    p.add_argument("--device", default="auto", help="auto (GPU if any), cpu, cuda, cuda:1, mps")
    p.add_argument("--threshold", type=_probability, default=0.5,
                   help="p(cell) at or above which a pixel is a cell (0.5)")
    p.add_argument("--split-borders", action="store_true",
                   help="split touching cells at predicted borders: watershed of 1 - p(cell) "
                        "from the confident cores p >= (1 + threshold) / 2")
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
        model = load_model(args.model, device=_device(args.device))
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
