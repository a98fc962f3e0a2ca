"""A researcher's own images on disk: read, write and pair PNG and TIFF files.

Used by the commands (``python -m unet_course.train`` on a folder, ``.predict``, ``.evaluate``)
so that all three read the same files the same way and fail with the same clear messages.
PNG goes through Pillow (8- and 16-bit grey, RGB), TIFF through tifffile (any dtype, float
included). Writing is atomic: a temporary file in the target folder, renamed into place; the
temporary file gets the permissions a plain ``open(path, "w")`` would give (``0o666`` minus
the umask), not ``mkstemp``'s private 0600, so colleagues on a shared server can read the
results (``temp_file``, used by every atomic write of the package). Colour images: the ONE
rule of both ``train`` and ``predict`` is ``as_grey``.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["IMAGE_SUFFIXES", "read_image", "write_image", "list_images", "pair_by_name",
           "as_float_image", "as_grey", "temp_file"]

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
    handle, tmp = temp_file(path, suffix=path.suffix)
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


def _umask() -> int:
    """The process's umask (os.umask can only be read by setting it: set, then restore)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def temp_file(path: str | os.PathLike, suffix: str = "") -> tuple[int, str]:
    """(open handle, name) of a new temporary file next to ``path`` (its folder created) for
    an atomic write: write it, then ``os.replace`` it onto ``path``. Its mode is ``0o666 &
    ~umask``, what a plain ``open(path, "w")`` gives, instead of ``tempfile.mkstemp``'s 0600."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
    except BaseException:
        os.close(handle)
        os.remove(tmp)
        raise
    return handle, tmp


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


def as_grey(image, name="image") -> tuple[np.ndarray, str | None]:
    """(grey image (H, W), note or None): the ONE colour rule of ``train`` and ``predict``.

    A grey image (H, W) or (H, W, 1) comes back as (H, W), with no note. RGB (H, W, 3)
    becomes its luminance (``skimage.color.rgb2gray``: 0.2125 R + 0.7154 G + 0.0721 B, as
    float); RGBA (H, W, 4) the same, its alpha channel ignored (a microscope's RGBA files are
    opaque, and ``rgba2rgb``'s compositing would clip raw float intensities to [0, 1]). The
    note says so, naming the file, and the commands print it. Any other channel count: a
    ValueError."""
    image = np.asarray(image)
    if image.ndim == 2 or (image.ndim == 3 and image.shape[-1] == 1):  # (H, W, 1): grey too
        return image.reshape(image.shape[:2]), None
    channels = image.shape[-1] if image.ndim == 3 else None
    if channels not in (3, 4) or not (np.issubdtype(image.dtype, np.number)
                                      and not np.issubdtype(image.dtype, np.complexfloating)):
        raise ValueError(f"{name}: expected a grey (H, W), RGB or RGBA (H, W, 3 or 4) image "
                         f"of integer or float pixels, got shape {image.shape} and dtype "
                         f"{image.dtype}; save the channel to segment as a grey image")
    from skimage.color import rgb2gray
    if np.issubdtype(image.dtype, np.floating) and image.size and not np.isfinite(image).all():
        raise ValueError(f"{name}: the image holds NaN or infinite pixels; replace them first")
    kind = "RGB" if channels == 3 else "RGBA"
    grey = rgb2gray(image[..., :3]).astype(np.float32)
    return grey, (f"{name}: {kind} image converted to grey (0.2125 R + 0.7154 G + 0.0721 B"
                  f"{', alpha ignored' if channels == 4 else ''}; skimage.color.rgb2gray)")
