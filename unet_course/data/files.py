"""A researcher's own images on disk: read, write and pair PNG and TIFF files.

Used by the commands (``python -m unet_course.train`` on a folder, ``.predict``, ``.evaluate``)
so that all three read the same files the same way and fail with the same clear messages.
PNG goes through Pillow (8- and 16-bit grey, RGB), TIFF through tifffile (any dtype, float
included). Writing is atomic: a temporary file in the target folder, renamed into place.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["IMAGE_SUFFIXES", "read_image", "write_image", "list_images", "pair_by_name",
           "as_float_image"]

IMAGE_SUFFIXES = (".png", ".tif", ".tiff")


def _is_tiff(path: Path) -> bool:
    return path.suffix.lower() in (".tif", ".tiff")


def read_image(path: str | os.PathLike) -> np.ndarray:
    """The pixels of one PNG or TIFF file as stored: (H, W) or (H, W, C), its own dtype.

    Raises FileNotFoundError for a missing file and ValueError, naming the file, for anything
    that is not a readable PNG/TIFF image."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise ValueError(f"{path}: not a PNG or TIFF file (suffix {path.suffix or 'none'}; "
                         f"expected one of {', '.join(IMAGE_SUFFIXES)})")
    try:
        if _is_tiff(path):
            import logging
            import tifffile
            quiet = logging.getLogger("tifffile")  # it logs, then fails, on broken files
            level, quiet.level = quiet.level, logging.CRITICAL
            try:
                array = tifffile.imread(path)
            finally:
                quiet.setLevel(level)
        else:
            from PIL import Image
            with Image.open(path) as image:
                image.load()
                array = np.asarray(image)
    except Exception as error:  # truncated, wrong format, ...: one clear reason
        raise ValueError(f"{path}: cannot read the image ({type(error).__name__}: {error})") from None
    if array.size == 0:
        raise ValueError(f"{path}: cannot read the image (no pixel data: truncated or not an image)")
    if array.ndim not in (2, 3) or min(array.shape[:2]) < 1:
        raise ValueError(f"{path}: expected a 2-D image (H, W) or (H, W, channels), "
                         f"got shape {array.shape}")
    return array


def write_image(path: str | os.PathLike, array) -> Path:
    """Write an image atomically: PNG for uint8 / uint16 (grey) and uint8 RGB(A); TIFF for
    any dtype (float32 probabilities, int32 labels). Returns the path."""
    path, array = Path(path), np.asarray(array)
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    if not _is_tiff(path):
        if path.suffix.lower() != ".png":
            raise ValueError(f"{path}: write .png or .tif/.tiff files")
        grey16 = array.dtype == np.uint16 and array.ndim == 2
        if array.dtype != np.uint8 and not grey16:
            raise ValueError(f"{path}: PNG holds uint8 or 16-bit grey images, got {array.dtype} "
                             f"{array.shape}; scale it (e.g. probabilities * 65535 as uint16) or "
                             f"write a .tif")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(handle)
    try:
        if _is_tiff(path):
            import tifffile
            tifffile.imwrite(tmp, array)
        else:
            from PIL import Image
            Image.fromarray(array).save(tmp, format="PNG")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def list_images(folder: str | os.PathLike) -> list[Path]:
    """The PNG/TIFF files in a folder (not its subfolders), sorted by name; hidden files skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                   and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"{folder}: no PNG or TIFF images in this folder")
    return files


def pair_by_name(dir_a: str | os.PathLike, dir_b: str | os.PathLike) -> list[tuple[Path, Path]]:
    """Pair the images of two folders by file name without suffix (``07.png`` with ``07.tif``).

    Every image must have a partner: otherwise a ValueError lists the names missing on each side."""
    a = {p.stem: p for p in list_images(dir_a)}
    b = {p.stem: p for p in list_images(dir_b)}
    only_a, only_b = sorted(a.keys() - b.keys()), sorted(b.keys() - a.keys())
    if only_a or only_b:
        def names(keys):
            return ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
        parts = [f"{len(k)} in {d} without a partner in {o} ({names(k)})"
                 for k, d, o in ((only_a, dir_a, dir_b), (only_b, dir_b, dir_a)) if k]
        raise ValueError("images are matched by name; " + "; ".join(parts))
    return [(a[k], b[k]) for k in sorted(a)]


def as_float_image(image, name: str = "image") -> np.ndarray:
    """An image as float32: uint8 / 255, uint16 / 65535, bool as 0/1, floats as they are
    (finite, any range: the trainer's percentile-normalised images lie a little outside
    [0, 1]). Other dtypes: a ValueError. The commands do not use the dtype's scale at all:
    they normalise each image by its own percentiles (``unet_course.normalize``)."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255
    if image.dtype == np.uint16:
        return image.astype(np.float32) / 65535
    if image.dtype == bool:
        return image.astype(np.float32)
    if np.issubdtype(image.dtype, np.floating):
        image = image.astype(np.float32, copy=False)
        if image.size and not np.isfinite(image).all():
            raise ValueError(f"{name}: the image holds {np.count_nonzero(~np.isfinite(image))} "
                             f"NaN or infinite pixel(s); replace them first (np.nan_to_num)")
        return image
    raise ValueError(f"{name}: expected uint8, uint16, bool or float pixels, got dtype "
                     f"{image.dtype} (for raw intensities of any dtype use "
                     f"unet_course.normalize.percentile_normalize)")
