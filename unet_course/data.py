"""The data: synthetic touching cells, the ISBI 2012 EM slices, and a mirror-padding tile sampler.

Paper, Sec. 1 and 3: biomedical segmentation has few training images, and the hard part is
*touching objects of the same class*: a plain foreground mask merges touching cells, and only
thin background borders tell them apart (Fig. 3, and the weight map of Eq. 2). The network is
trained on tiles; pixels near the image border get their missing context by *mirroring* the
image (Fig. 2: "the missing context is extrapolated by mirroring the input image").

Three parts, read top to bottom:

1. ``synthetic_cells``: a fast, deterministic generator of microscopy-like images of touching
   cells, with instance labels. It is the course's default data set (no download, any size).
2. ``load_isbi2012``: the paper's EM data set (ISBI 2012 challenge, 30 training slices),
   downloaded once, every file checked against the SHA-256 sums committed in ``data/``.
3. ``TileDataset``: a torch ``Dataset`` of random training tiles: input tile mirror-extended at
   the image border, target and weight cropped to the valid output window.

Conventions (CONTRIBUTING.md): images float32 in [0, 1], shape (H, W); instances int, 0 =
background; semantic targets int64, 1 = cell, 0 = background / membrane; ISBI labels uint8,
255 = cell interior, 0 = membrane.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
from scipy import ndimage as ndi

from .sizes import output_size

__all__ = [
    "SyntheticCells", "synthetic_cells", "synthetic_dataset", "touching_pairs",
    "ISBI2012", "load_isbi2012", "isbi_instances", "isbi_targets", "ChecksumError",
    "DownloadError", "ISBI2012_URL", "ISBI2012_ENV", "REPO_DATA_DIR", "sha256_file",
    "mirror_indices", "mirror_pad", "TileDataset", "training_targets",
]


def _rng(seed) -> np.random.Generator:
    """A numpy Generator from an int seed (or a list of ints), or the Generator itself."""
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


# ---------------------------------------------------------------------------------------------
# 1. Synthetic touching cells
# ---------------------------------------------------------------------------------------------

class SyntheticCells(NamedTuple):
    """One synthetic image (or a stack of them, from ``synthetic_dataset``)."""

    image: np.ndarray      # float32 in [0, 1], (H, W) or (N, H, W)
    instances: np.ndarray  # int32, 0 = background, 1..K = cells (ids per image)
    mask: np.ndarray       # int64, 1 = cell, 0 = background: the plain foreground (instances > 0)


def _smooth_noise(rng: np.random.Generator, shape, sigma: float) -> np.ndarray:
    """Gaussian-smoothed white noise, rescaled to zero mean and unit standard deviation."""
    field = ndi.gaussian_filter(rng.standard_normal(shape), sigma)
    return (field - field.mean()) / (field.std() + 1e-12)


def _cell_seeds(rng: np.random.Generator, shape, n_cells: int, min_dist: float,
                clustering: float) -> np.ndarray:
    """Up to n_cells points (row, col), at least min_dist apart, denser where a smooth random
    field is high (clustering in [0, 1]: 0 = uniform, 1 = strong clusters with empty space)."""
    h, w = shape
    density = _smooth_noise(rng, (max(h // 8, 2), max(w // 8, 2)), 3.0)  # coarse: cheap
    candidates = rng.uniform((0, 0), (h, w), size=(20 * n_cells, 2))
    cell = density[(candidates[:, 0] // 8).astype(int).clip(0, density.shape[0] - 1),
                   (candidates[:, 1] // 8).astype(int).clip(0, density.shape[1] - 1)]
    keep = rng.uniform(size=len(candidates)) < 1 / (1 + np.exp(-4 * clustering * cell))
    candidates = candidates[keep]
    accepted = np.empty((n_cells, 2))
    count = 0
    for point in candidates:  # dart throwing: accept a point far enough from all accepted ones
        if count == 0 or np.min(np.sum((accepted[:count] - point) ** 2, axis=1)) >= min_dist ** 2:
            accepted[count] = point
            count += 1
            if count == n_cells:
                break
    return accepted[:count]


def _contacts(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cell pixels 4-adjacent to a *different* cell: (only the side with the higher id, both sides)."""
    high = np.zeros(labels.shape, bool)
    both = np.zeros(labels.shape, bool)
    for axis in (0, 1):
        for step in (1, -1):  # compare each pixel with its neighbour before / after it
            here, there = [slice(None)] * 2, [slice(None)] * 2
            here[axis] = slice(1, None) if step == 1 else slice(None, -1)
            there[axis] = slice(None, -1) if step == 1 else slice(1, None)
            a, b = labels[tuple(here)], labels[tuple(there)]
            touching = (a > 0) & (b > 0) & (a != b)
            both[tuple(here)] |= touching
            high[tuple(here)] |= touching & (a > b)
    return high, both


def synthetic_cells(size: int | tuple[int, int] = 512, n_cells: int | None = None, seed=0, *,
                    touching: float = 0.6, clustering: float = 0.6, irregularity: float = 1.0,
                    contact_contrast: float = 0.35, illumination: float = 0.3,
                    noise: float = 0.04, blur: float = 1.0, min_area: int = 40) -> SyntheticCells:
    """A microscopy-like image of many cells that touch each other, with instance labels.

    The paper's hard case made common: neighbouring cells share long borders, so the plain
    foreground mask (``mask``) merges them; in other places they are separated by a gap of
    1-3 background pixels. Recipe: random seed points (clustered), a noisy Voronoi partition
    grown by watershed, each cell cut to a noisy radius, gaps opened along a random part of the
    shared borders; then rendered with bright cell borders (fainter where cells touch),
    darker nuclei, texture, uneven illumination, blur and noise.

    Args:
        size: image side (int) or (height, width).
        n_cells: number of seed points (default: one per 40x40 px). Some may end up merged
            into their neighbour's area or dropped when smaller than ``min_area``.
        seed: int (or Generator): the same seed gives the same image.
        touching: fraction of shared cell borders left touching (0 = always a gap, 1 = never).
        clustering: 0 = cells spread evenly, 1 = clusters with empty space between them.
        irregularity: how wavy the cell outlines are (0 = polygons).
        contact_contrast: brightness of the border between touching cells relative to the
            outer border (0 = invisible: only the shape tells cells apart).
        illumination: strength of the smooth multiplicative shading (0 = flat).
        noise: standard deviation of the additive Gaussian noise.
        blur: sigma (px) of the Gaussian blur of the optics.
        min_area: cell fragments smaller than this (px) become background.

    Returns:
        SyntheticCells(image float32 (H, W) in [0, 1], instances int32 (H, W) with ids 1..K
        numbered consecutively, mask int64 (H, W) = instances > 0).

    Deviation: the paper uses real light-microscopy and EM images; this generator exists so
    the course runs offline, fast and at any size, with exact instance labels.
    """
    h, w = (size, size) if np.ndim(size) == 0 else tuple(size)
    if h < 16 or w < 16:
        raise ValueError(f"size must be at least 16 px per side, got {size!r}")
    if not 0 <= touching <= 1:
        raise ValueError(f"touching must be a fraction in [0, 1], got {touching!r}")
    rng = _rng(seed)
    n_cells = max(1, round(h * w / 1600)) if n_cells is None else int(n_cells)
    if n_cells < 1:
        raise ValueError(f"n_cells must be >= 1, got {n_cells}")
    spacing = np.sqrt(h * w / n_cells)  # mean distance between neighbouring seeds

    # Seeds and a noisy Voronoi partition: watershed of (distance to nearest seed + noise).
    seeds = _cell_seeds(rng, (h, w), n_cells, 0.55 * spacing, clustering)
    k = len(seeds)
    markers = np.zeros((h, w), np.int32)
    rows, cols = seeds.astype(int).T
    markers[rows, cols] = np.arange(1, k + 1)
    from skimage.segmentation import watershed  # a heavy import, only needed here
    distance = ndi.distance_transform_edt(markers == 0)
    wobble = irregularity * 0.12 * spacing * _smooth_noise(rng, (h, w), 0.08 * spacing)
    labels = watershed(distance + wobble, markers)

    # Cut each cell to a noisy radius around its own seed: cells with close neighbours touch.
    radius = spacing * rng.uniform(0.45, 0.8, k + 1)
    yy, xx = np.mgrid[:h, :w]
    sy, sx = np.r_[0, seeds[:, 0]], np.r_[0, seeds[:, 1]]
    own = np.hypot(yy - sy[labels], xx - sx[labels])  # distance to the cell's own seed
    outline = 1 + irregularity * 0.1 * _smooth_noise(rng, (h, w), 0.15 * spacing)
    labels[own > radius[labels] * outline] = 0

    # Open gaps of 1, 2 or 3 px along part of the shared borders (a smooth random field
    # decides where), so some neighbours touch and others are separated by thin background.
    high, both = _contacts(labels)
    gap_field = _smooth_noise(rng, (h, w), 0.25 * spacing)
    if high.any():
        cut = np.quantile(gap_field[high], [touching, touching + (1 - touching) / 3,
                                            touching + 2 * (1 - touching) / 3])
        cut[0] = -np.inf if touching == 0 else cut[0]  # no pixel left touching
        wide = ndi.binary_dilation(high) & (labels > 0)
        remove = ((gap_field > cut[0]) & high) | ((gap_field > cut[1]) & both) | \
                 ((gap_field > cut[2]) & wide)
        labels[remove] = 0

    # Connected pieces become separate instances; small fragments become background.
    from skimage.measure import label as connected
    labels = connected(labels, background=0, connectivity=1)
    area = np.bincount(labels.ravel())
    keep = area >= min_area
    keep[0] = False
    new_id = np.zeros(len(area), np.int32)
    new_id[keep] = np.arange(1, keep.sum() + 1)
    labels = new_id[labels]
    image = _render(rng, labels, own, spacing, contact_contrast, illumination, noise, blur)
    return SyntheticCells(image, labels, (labels > 0).astype(np.int64))


def _render(rng, labels, own, spacing, contact_contrast, illumination, noise, blur):
    """Draw cells: bright outer border, faint contact border, darker nucleus, texture, shading.

    `own`: each pixel's distance to the seed point of the cell it was grown from."""
    h, w = labels.shape
    k = int(labels.max())
    cells = labels > 0
    _, contact = _contacts(labels)
    to_background = ndi.distance_transform_edt(cells)      # 0 on background
    to_contact = ndi.distance_transform_edt(~contact)      # 0 on contact pixels
    base = np.r_[0.0, rng.uniform(0.3, 0.55, k)]             # per-cell brightness
    texture = _smooth_noise(rng, (h, w), 1.5)
    image = np.where(cells, base[labels] + 0.05 * texture, 0.12 + 0.02 * texture)
    image += cells * (0.35 * np.exp(-0.5 * ((to_background - 1) / 1.5) ** 2)
                      + 0.35 * contact_contrast * np.exp(-0.5 * (to_contact / 1.2) ** 2))
    # nucleus: a darker, slightly irregular disk around the cell's seed point
    nucleus_r = 0.3 * spacing * (1 + 0.15 * _smooth_noise(rng, (h, w), 3.0))
    image -= cells * 0.12 * (own < nucleus_r)
    # uneven illumination: a smooth multiplicative field from a coarse random grid
    coarse = rng.uniform(-1, 1, (4, 4))
    shading = ndi.zoom(coarse, (h / 4, w / 4), order=3, mode="nearest", grid_mode=True)[:h, :w]
    image *= 1 + illumination * np.clip(shading, -1, 1)
    image = ndi.gaussian_filter(image, blur) if blur > 0 else image
    image += noise * rng.standard_normal((h, w))
    return np.clip(image, 0, 1).astype(np.float32)


def synthetic_dataset(n_images: int, size: int | tuple[int, int] = 256, seed=0,
                      progress: bool = False, **kwargs) -> SyntheticCells:
    """A stack of ``n_images`` synthetic images: image (N, H, W), instances (N, H, W), mask.

    Image i uses the seed sequence [seed, i], so image i is the same whatever n_images is.
    ``kwargs`` go to ``synthetic_cells`` (e.g. ``n_cells``, ``touching``).
    """
    if int(n_images) < 1:
        raise ValueError(f"n_images must be >= 1, got {n_images!r}")
    if not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an int for a data set (image i uses [seed, i]), got {seed!r}")
    indices = range(int(n_images))
    if progress:
        from tqdm.auto import tqdm
        indices = tqdm(indices, desc="synthetic images")
    samples = [synthetic_cells(size, seed=[int(seed), i], **kwargs) for i in indices]
    return SyntheticCells(*(np.stack(parts) for parts in zip(*samples)))


def touching_pairs(instances: np.ndarray, gap: int = 0) -> set[tuple[int, int]]:
    """Pairs (a, b), a < b, of distinct instances that touch (4-adjacent) when gap = 0, or are
    separated along a row or column by at most ``gap`` background pixels."""
    labels = np.asarray(instances)
    if labels.ndim != 2 or int(gap) < 0:
        raise ValueError(f"need a 2-D label image and gap >= 0, got shape {labels.shape}, gap {gap!r}")
    pairs: set[tuple[int, int]] = set()
    for arr in (labels, labels.T):
        for step in range(1, min(int(gap) + 2, arr.shape[1])):
            a, b = arr[:, :-step], arr[:, step:]
            ok = (a > 0) & (b > 0) & (a != b)
            for middle in range(1, step):  # everything in between must be background
                ok &= arr[:, middle:arr.shape[1] - step + middle] == 0
            lo, hi = np.minimum(a[ok], b[ok]), np.maximum(a[ok], b[ok])
            pairs.update(zip(lo.tolist(), hi.tolist()))
    return pairs


# ---------------------------------------------------------------------------------------------
# 2. ISBI 2012: the paper's EM data set, downloaded and verified
# ---------------------------------------------------------------------------------------------

#: Where the files come from: the PNG conversion of the challenge's training stacks in the
#: public repository zhixuhao/unet (upstream names 0.png..29.png, here train/image/00.png ...).
ISBI2012_URL = "https://github.com/zhixuhao/unet/raw/master/data/membrane/train"
#: Environment variable naming a folder that already holds a copy (train/image, train/label).
ISBI2012_ENV = "UNET_COURSE_ISBI2012"
#: The repository's data/ folder: downloads go to data/isbi2012, checksums live here.
REPO_DATA_DIR = Path(__file__).resolve().parents[1] / "data"
_CHECKSUMS = REPO_DATA_DIR / "isbi2012.SHA256SUMS"
_CANONICAL = "http://brainiac2.mit.edu/isbi_challenge/"
#: Where downloads go when the package is installed without the repository (e.g. on Colab).
USER_CACHE_DIR = Path.home() / ".cache" / "unet_course"


class ChecksumError(RuntimeError):
    """A file's SHA-256 does not match the checksum committed in the repository."""


class DownloadError(RuntimeError):
    """A file could not be downloaded (offline, URL gone, connection cut)."""


class ISBI2012(NamedTuple):
    """The 30 training slices of ISBI 2012 and their labels."""

    images: np.ndarray  # uint8 (30, 512, 512), EM grey values
    labels: np.ndarray  # uint8 (30, 512, 512): 255 = cell interior, 0 = membrane


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """The SHA-256 of a file, as 64 lowercase hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_checksums(path: Path | None) -> dict[str, str]:
    """{relative path: sha256} from a `sha256sum` file ("<hash>  <path>" per line).

    None: the repository's data/isbi2012.SHA256SUMS, or, when the package is installed
    without the repository (Colab), the same sums kept in this module (a test keeps them equal).
    """
    if path is None:
        text = _CHECKSUMS.read_text() if _CHECKSUMS.is_file() else _ISBI2012_SHA256SUMS
    elif not path.is_file():
        raise FileNotFoundError(f"checksum file {path} not found")
    else:
        text = path.read_text()
    sums = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split(maxsplit=1)
            sums[name.strip().lstrip("*")] = digest.lower()
    return sums


def _upstream_url(base_url: str, name: str) -> str:
    """train/image/07.png -> <base_url>/image/7.png (upstream files are numbered 0..29)."""
    parts = Path(name).parts  # ("train", "image", "07.png")
    number = int(Path(name).stem)
    return f"{base_url.rstrip('/')}/{parts[-2]}/{number}.png"


def _offline_help(root: Path, base_url: str) -> str:
    return (f"To get the data another way: download the 60 PNG files by hand from {base_url}/image/"
            f"0.png ... 29.png and {base_url}/label/0.png ... 29.png into {root}/train/image/NN.png "
            f"and {root}/train/label/NN.png (NN = 00..29), or set the environment variable "
            f"{ISBI2012_ENV} to a folder that already holds them (the canonical source is the "
            f"challenge site {_CANONICAL}).")


def _download(url: str, target: Path, expected: str, timeout: float, root: Path,
              base_url: str) -> None:
    """Download url to target through a temporary file, check its SHA-256, then os.replace.

    An interrupted or corrupt download never appears under the final name: the temporary file
    (in the same folder, so os.replace is atomic) is deleted on any failure.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        digest = hashlib.sha256()
        received = 0
        with os.fdopen(handle, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    length = response.headers.get("Content-Length")
                    while block := response.read(1 << 16):
                        out.write(block)
                        digest.update(block)
                        received += len(block)
            except urllib.error.HTTPError as error:  # the server answered, but not the file
                raise DownloadError(f"could not download {url}: the server answered HTTP "
                                    f"{error.code} ({error.reason}); the file may have moved "
                                    f"upstream. " + _offline_help(root, base_url)) from error
            except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
                raise DownloadError(f"could not download {url}: {error}. Are you offline? "
                                    + _offline_help(root, base_url)) from error
        if length is not None and received != int(length):
            raise DownloadError(f"download of {url} was cut short: got {received} of {length} "
                                f"bytes; run again to retry. " + _offline_help(root, base_url))
        actual = digest.hexdigest()
        if actual != expected:
            raise ChecksumError(
                f"checksum mismatch for {target} downloaded from {url}: expected SHA-256 "
                f"{expected}, got {actual}; the file was not saved. The upstream file may have "
                f"changed or the download was corrupted; run again, or " + _offline_help(root, base_url))
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _default_root() -> tuple[Path, bool]:
    """(folder, managed): the env var's folder, else the repo's data/isbi2012 (managed = ours)."""
    env = os.environ.get(ISBI2012_ENV)
    if env:
        return Path(env).expanduser(), False
    if _CHECKSUMS.is_file():  # a clone of the course repository: its data/ folder
        return REPO_DATA_DIR / "isbi2012", True
    return USER_CACHE_DIR / "isbi2012", True


def load_isbi2012(root: str | os.PathLike | None = None, download: bool = True, *,
                  base_url: str = ISBI2012_URL, checksums: str | os.PathLike | None = None,
                  progress: bool = True, timeout: float = 60.0) -> ISBI2012:
    """The 30 ISBI 2012 training slices and membrane labels, as uint8 arrays (30, 512, 512).

    Labels: 255 = cell interior, 0 = membrane (the thin boundary class; ``isbi_targets`` turns
    them into class 1 = cell, 0 = membrane).

    Where the files are looked for: ``root`` if given, else the folder named by the
    environment variable ``UNET_COURSE_ISBI2012`` (an existing copy, e.g. for CI), else the
    repository's ``data/isbi2012`` (``~/.cache/unet_course/isbi2012`` when the package is
    installed without the repository, e.g. on Colab). Layout: ``train/image/NN.png`` and ``train/label/NN.png``,
    NN = 00..29. Every file, downloaded or already there, is checked against the SHA-256 sums
    in ``data/isbi2012.SHA256SUMS``. Missing files are downloaded (``download=True``) from
    ``base_url`` (zhixuhao/unet on GitHub, upstream names 0.png..29.png) through a temporary
    file that is renamed into place only once its checksum matches.

    Raises:
        FileNotFoundError: a file is missing and ``download=False``.
        DownloadError: offline or the download failed (the message says what to do).
        ChecksumError: a file does not match its checksum (the message names the file and both
            hashes). A corrupt file in the repository's own data/isbi2012 is deleted and
            downloaded again; in a folder you gave (``root`` or the environment variable) it
            is left alone and reported.

    Terms: free to use for developing and testing non-commercial image segmentation software;
    publications must cite Cardona et al. 2010 (PLoS Biol 8(10): e1000502) and
    Arganda-Carreras et al. 2015 (Front. Neuroanat. 9:142). See data/README.md.
    """
    if root is None:
        root, managed = _default_root()
    else:
        root, managed = Path(root).expanduser(), False
    sums = _read_checksums(Path(checksums) if checksums is not None else None)
    todo = []
    for name, expected in sums.items():
        path = root / name
        if path.is_file():
            actual = sha256_file(path)
            if actual == expected:
                continue
            if not (managed and download):
                raise ChecksumError(
                    f"checksum mismatch for {path}: expected SHA-256 {expected}, got {actual}. "
                    f"The file is corrupt or not the ISBI 2012 file; delete it and run again to "
                    f"download a fresh copy (or point {ISBI2012_ENV} / root= at a good copy).")
            os.remove(path)  # our own cache: drop the corrupt file and download it again
        elif not download:
            raise FileNotFoundError(
                f"{path} is missing and download=False. Call load_isbi2012(download=True), or "
                + _offline_help(root, base_url))
        todo.append((name, expected))
    if todo:
        names = todo
        if progress:
            from tqdm.auto import tqdm
            names = tqdm(todo, desc="Downloading ISBI 2012", unit="file")
        for name, expected in names:
            _download(_upstream_url(base_url, name), root / name, expected, timeout, root, base_url)
    from PIL import Image

    def read(kind: str) -> np.ndarray:
        files = sorted(n for n in sums if Path(n).parts[-2] == kind)
        return np.stack([np.asarray(Image.open(root / n).convert("L")) for n in files])

    return ISBI2012(read("image"), read("label"))


def isbi_targets(labels: np.ndarray) -> np.ndarray:
    """ISBI labels (255 = cell interior, 0 = membrane) -> int64 classes (1 = cell, 0 = membrane)."""
    return (np.asarray(labels) > 127).astype(np.int64)


def isbi_instances(label: np.ndarray) -> np.ndarray:
    """Cell instances of one ISBI label slice: the 4-connected components of the cell-interior
    class (255), numbered 1..K; 0 = membrane. (4-connectivity, so two cells that meet only at
    a corner of the membrane stay apart.) Used to compute the weight map of Eq. 2."""
    from skimage.measure import label as connected
    label = np.asarray(label)
    if label.ndim != 2:
        raise ValueError(f"isbi_instances takes one 2-D label slice, got shape {label.shape}")
    return connected(label > 127, background=0, connectivity=1).astype(np.int32)


# ---------------------------------------------------------------------------------------------
# 3. Tiles with mirror extrapolation
# ---------------------------------------------------------------------------------------------

def mirror_indices(start: int, length: int, n: int) -> np.ndarray:
    """Indices into an axis of n pixels for positions start .. start+length-1, mirrored about
    the edge pixels outside 0..n-1 (numpy.pad mode "reflect": ... 2 1 | 0 1 2 ... n-1 | n-2 ...),
    repeating the reflection as often as needed."""
    if n < 1:
        raise ValueError(f"cannot mirror an empty axis (n = {n})")
    positions = np.arange(start, start + length)
    if n == 1:
        return np.zeros(length, dtype=np.intp)
    period = 2 * (n - 1)
    positions = np.mod(positions, period)
    return np.where(positions < n, positions, period - positions).astype(np.intp)


def mirror_pad(image: np.ndarray, pad: int) -> np.ndarray:
    """Extend a 2-D image by ``pad`` pixels on every side by mirroring (Fig. 2 of the paper).

    The same as ``numpy.pad(image, pad, mode="reflect")``: mirrored about the edge pixel, which
    is not repeated."""
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"mirror_pad takes a 2-D image, got shape {image.shape}")
    if int(pad) < 0:
        raise ValueError(f"pad must be >= 0, got {pad!r}")
    h, w = image.shape
    return image[np.ix_(mirror_indices(-pad, h + 2 * pad, h), mirror_indices(-pad, w + 2 * pad, w))]


def _mirrored_window(array: np.ndarray, top: int, left: int, size: int) -> np.ndarray:
    """array[top:top+size, left:left+size], mirrored where the window leaves the array."""
    h, w = array.shape
    if top >= 0 and left >= 0 and top + size <= h and left + size <= w:
        return array[top:top + size, left:left + size].copy()  # inside: a plain copy
    rows = mirror_indices(top, size, h)
    cols = mirror_indices(left, size, w)
    return np.take(np.take(array, rows, axis=0), cols, axis=1)


def _as_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255
    return image.astype(np.float32, copy=False)


class TileDataset:
    """Random training tiles: a mirror-extended input tile, and the target and weight in the
    valid output window that the U-Net predicts from it (Sec. 2 and 3, Fig. 2).

    ``dataset[i]`` returns ``(image, target, weight)`` as torch tensors: image float32
    (1, input_size, input_size), target int64 (out, out), weight float32 (out, out), with
    out = ``output_size(input_size, depth)`` (572 -> 388). An invalid ``input_size`` raises
    the ValueError of ``unet_course.sizes`` naming the nearest valid sizes.

    How a tile is drawn: an image at random, then the output window's corner uniformly among
    the positions that keep the window inside the image, so every labelled pixel can be an
    output pixel. The input window reaches (input - out) / 2 pixels (92 for 572) beyond it on
    every side; where that falls outside the image it is filled by mirroring the image about
    its edge pixel (numpy.pad mode "reflect"). If an image is smaller than the output window,
    the window is placed so that it covers the image's pixels, and its pixels outside the
    image get weight 0 (the loss ignores them).

    ``augment(image, target, weight, rng) -> (image, target, weight)`` (optional) gets the
    three input-sized arrays (target and weight mirrored like the image) and a numpy Generator;
    target and weight are cropped to the output window after it (e.g. elastic deformation,
    ``unet_course.augment``).

    Randomness: tile i is drawn with the generator ``default_rng([seed, epoch, i])``, so it
    does not depend on the order of access, on global random state or on which DataLoader
    worker draws it: several workers give the same tiles as one, without repeats. Call
    ``set_epoch(e)`` before each epoch for new tiles (``len`` tiles per epoch); a DataLoader
    copies the data set into its workers when an epoch's iteration starts (unless
    ``persistent_workers=True``, which keeps the first copy).

    Deviation: the paper trains on a batch of one large tile per step; batches of smaller
    tiles (e.g. 252 -> 68) train faster on a CPU.
    """

    def __init__(self, images, targets, weights=None, input_size: int = 572, depth: int = 4,
                 tiles_per_epoch: int | None = None,
                 augment: Callable | None = None, seed: int = 0):
        self.out_size = output_size(input_size, depth)  # ValueError for an invalid size
        self.input_size = int(input_size)
        self.depth = depth
        self.margin = (self.input_size - self.out_size) // 2
        self.images = [_as_image(im) for im in images]
        self.targets = [np.asarray(t).astype(np.int64, copy=False) for t in targets]
        if weights is None:
            self.weights = [np.ones(t.shape, np.float32) for t in self.targets]
        else:
            self.weights = [np.asarray(wt).astype(np.float32, copy=False) for wt in weights]
        if not self.images or not len(self.images) == len(self.targets) == len(self.weights):
            raise ValueError(f"need as many images as targets (and weights), at least one: got "
                             f"{len(self.images)} images, {len(self.targets)} targets, "
                             f"{len(self.weights)} weights")
        for i, (im, t, wt) in enumerate(zip(self.images, self.targets, self.weights)):
            if im.ndim != 2 or im.shape != t.shape or im.shape != wt.shape:
                raise ValueError(f"image {i}: image, target and weight must be 2-D arrays of the "
                                 f"same shape, got {im.shape}, {t.shape}, {wt.shape}")
        if tiles_per_epoch is None:  # about enough output windows to cover every image once
            tiles_per_epoch = sum(-(-im.shape[0] // self.out_size) * -(-im.shape[1] // self.out_size)
                                  for im in self.images)
        if int(tiles_per_epoch) < 1:
            raise ValueError(f"tiles_per_epoch must be >= 1, got {tiles_per_epoch!r}")
        self.tiles_per_epoch = int(tiles_per_epoch)
        self.augment = augment
        self.seed = int(seed)
        self.epoch = 0

    def __len__(self) -> int:
        return self.tiles_per_epoch

    def set_epoch(self, epoch: int) -> None:
        """Draw other tiles from now on (call it before each epoch; tile i of an epoch is fixed)."""
        self.epoch = int(epoch)

    def position(self, index: int) -> tuple[int, int, int]:
        """(image number, row, column) of the output window's top-left corner for tile `index`."""
        return self._draw(index)[1:]

    def _draw(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(f"tile index {index} out of range 0..{len(self) - 1}")
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        k = int(rng.integers(len(self.images)))
        h, w = self.images[k].shape
        # corner range: inside the image, or (image smaller than the window) covering it
        y = int(rng.integers(min(0, h - self.out_size), max(0, h - self.out_size) + 1))
        x = int(rng.integers(min(0, w - self.out_size), max(0, w - self.out_size) + 1))
        return rng, k, y, x

    def tile(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Tile `index` as numpy arrays (image (S, S), target (s, s), weight (s, s))."""
        rng, k, y, x = self._draw(index)
        image, target, weight = self.images[k], self.targets[k], self.weights[k]
        top, left = y - self.margin, x - self.margin  # input window, in image coordinates
        tile_image = _mirrored_window(image, top, left, self.input_size)
        if self.augment is None:  # only the output window of target and weight is needed
            top, left, size = y, x, self.out_size
        else:  # the hook gets input-sized arrays, mirrored like the image
            size = self.input_size
        tile_target = _mirrored_window(target, top, left, size)
        tile_weight = _mirrored_window(weight, top, left, size)
        h, w = image.shape
        if top < 0 or left < 0 or top + size > h or left + size > w:
            rows, cols = np.arange(top, top + size), np.arange(left, left + size)
            inside = np.outer((rows >= 0) & (rows < h), (cols >= 0) & (cols < w))
            tile_weight = tile_weight * inside  # pixels outside the image do not count
        if self.augment is not None:
            tile_image, tile_target, tile_weight = self.augment(tile_image, tile_target,
                                                                tile_weight, rng)
            crop = slice(self.margin, self.margin + self.out_size)
            tile_target, tile_weight = tile_target[crop, crop], tile_weight[crop, crop]
        return (np.ascontiguousarray(tile_image, dtype=np.float32),
                np.ascontiguousarray(tile_target, dtype=np.int64),
                np.ascontiguousarray(tile_weight, dtype=np.float32))

    def __getitem__(self, index: int):
        import torch
        image, target, weight = self.tile(index)
        return torch.from_numpy(image)[None], torch.from_numpy(target), torch.from_numpy(weight)


def training_targets(instances: np.ndarray, w0: float = 10.0, sigma: float = 5.0
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Instances -> (target int64, weight float32) for training, as in the paper (Sec. 3):
    target = 1 on cells except the separation borders between touching cells (class 0, so the
    network learns to draw them), weight = Eq. 2's weight map (``unet_course.weights``).

    Works on one (H, W) label image or a stack (N, H, W)."""
    from . import weights  # written in the weight-map lesson; imported only when needed
    instances = np.asarray(instances)
    if instances.ndim == 3:
        pairs = [training_targets(one, w0, sigma) for one in instances]
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
    border = np.asarray(weights.separation_border(instances), bool)
    target = ((instances > 0) & ~border).astype(np.int64)
    return target, np.asarray(weights.weight_map(instances, w0=w0, sigma=sigma), np.float32)


# The committed data/isbi2012.SHA256SUMS, for installs without the repository (tests check
# that both agree). Upstream 0.png..29.png are stored as NN.png.
_ISBI2012_SHA256SUMS = """\
12c0ed6f42fc09f512abf6b354f217c950e4c8223b57a0315449b62a14556523  train/image/00.png
2cfc7ee635a6f85d5faf5c82a71d3a37bf5af4784b554964e3e07193e3ee2166  train/image/01.png
fe60d8d4f93102666a23a18d718b4b59fab8e616987d11c5072f4a87fac7301f  train/image/02.png
636d16cbb02f99dda4c9fb6db98dfba066142afa981ffdcfaf54453982e8250c  train/image/03.png
991fb3a8e4abc73da1d6159ca28fa4397f0a8351f30a8ba3669c86414d2ce239  train/image/04.png
7e9d9fb787664336d6f2cd68b23986f04527e7f8f494410983b4d70c6de1de3b  train/image/05.png
7c0a87933ffc72f4ff02f5996d9c3f69fe9a0b5277507415743ad8afb5e5d308  train/image/06.png
19f2c25716107d41008c83ba8a814ae47a090e00dea766dde38dce1f00899270  train/image/07.png
a8979e4abd1a10af9ca75e614d97875659adbd8ee3a68eba483bf556cfe3023d  train/image/08.png
730ebf435ab0f6e625d342552ad03736799fd660d0c6af744674c61a46aa082a  train/image/09.png
7c3717bcd48c4b7e5c878d7f0b809b8687a4e6fac471f3863de320a82ee72b8a  train/image/10.png
dd7857b25ca1417f87c282750e22c50947f75e81fa032d4e0c96b902c9dc9757  train/image/11.png
9f8eff9239bb764d51524a998387a7babcff9f62161804651b030b81aabd5ab8  train/image/12.png
377e5cdbcd7f0ac7336f482fc7ead7446887863f26769b3841fe98aadca77dad  train/image/13.png
f50d2d77acd2df564c5f0f40b1b24cd929f5944460aa4cd90c422cb5cef33a59  train/image/14.png
3e13fdea09accc14f46fb2f3ffa1e882cdd9c53b28a6842c4c10229692c7d1a4  train/image/15.png
ffc951c12450f94129582c16fd0d4b165c4a31469b0c42d966f07c183d3132e2  train/image/16.png
0f4f7e8e0619e4c7d517ac68d3789a3b6248253747717eac418bb7d32bef4de3  train/image/17.png
1bb1edd50595861743d14e1955dfa5d3c9395fb87563eca6dc81433bf9df49de  train/image/18.png
999b55633f8d7082add72082656e9532c5c3d97203b376eb317f09ba88a5a5b7  train/image/19.png
9153d14bfd15955fab576ea23281c4f23104b45dceed6e03e0b254607f50a1b2  train/image/20.png
9ad07cf4f67984f17a08aa63e6d92d395ce55f5132e6ff4fa6d95d6890ea7f97  train/image/21.png
6278609b4c42a7cb43212de0e2e2ceded758bafe0856fb56214ce658a61668e4  train/image/22.png
9ef4e9fbc838b9791af83a36918d729a0ea2e90ebc71c4a3c4554059f9379756  train/image/23.png
f0f917b9c3e9c96d16ea287aff9b05ecf4de88bc61d478e4aefcb64932fba70c  train/image/24.png
e0154737e76392e8bf94fb2c0dfa5ddad4b53aeec942a0a8cdd8ba63443e6072  train/image/25.png
d0ff11e09b0ee0c817334946e746a38ab621161d5f9c46af95c68b851f8d9a1a  train/image/26.png
eed8e8bee1db8fe7af39b5b43ecf14282c5c33eca0959726eea06f662027eacc  train/image/27.png
974df4b51e8905bdaabe61e80496cbf331f5c9aa9ddc2cb94113f58c2b7d2837  train/image/28.png
d9ae868509c610a69acbf3d69cde4f36a8e344cbbc444f93c917bf7b9f3e784f  train/image/29.png
13b67edd7607a1f284c09170c96a27d38422b0ffaf88024ea5b689acb5e1b4b0  train/label/00.png
cff60a00de2901e67165c91d7708d784e4c5bcc9d1c8c677922c905d63bbc3d1  train/label/01.png
a578af998c017f56763b81941c4dc612dde5731809b2cea0e8ebc37aecb84dbb  train/label/02.png
c8ae3b843fed02e09411a24c10850160922c331041b17c2674025f05a99b8834  train/label/03.png
a2f19c01b5d982a97923a0d29e64127a05e3f496731480ac9d9d302b5427f7ff  train/label/04.png
2dd5779118f6f4d87f88ec112f1cea20663b50acb8c748b0db1f23eda82b5118  train/label/05.png
2b0984e9f31fb41d4c5f4a754a3e080036b7321a0cbd9591a62010d20a574ce7  train/label/06.png
2ebc8c835999589bfd7d80d81f83d24e5c41138362b0faafef0f009e1ce82144  train/label/07.png
db979010ca4fbdb38c8b32d455aed0da90d598153f2a0046b63d02a6efa32b9e  train/label/08.png
8ee6c79adbb740595c4d61776e065e7164c00d52c7dd7562b5279041e7f3567b  train/label/09.png
b0156cc8186b0ee521927ac95645b406a42d27564607a6fea3a59c34add78f7c  train/label/10.png
e47b3aa0cfb3106476af1666e631d45bd16dbf2aff88260ee65d16e4134332db  train/label/11.png
85a7a899c0b72b81633ad122887ba5161d650385d7775a5b3074eb00131b3620  train/label/12.png
88549c22fd647312d6b37e17d33e90800d347d60ccb1156a8dde5e67394f9f3d  train/label/13.png
bcd775017eb4fdbdfe7ad6cc6420b2f16aa9d0576894d08370edcf564b46680a  train/label/14.png
59a854887b504ff00a5b4b93b2299bbc0bf0cbe54dea58d2b31969229b28b369  train/label/15.png
b34eb88cdc3313a6f4190f5753465df7f69d8f3c243a5c25427b1b99ecfe2499  train/label/16.png
4fa076cbeb744803d987dc46cf308dc3026408e7a5188838e30e25fe3ea67dbe  train/label/17.png
bd009dda57f204804732f592ed1d41ba18961d83c492413fe71548efa4a288d9  train/label/18.png
bf38407c55b6033c1677230228ecb100a11294aa74a7b92e5edfdc4abadcfef9  train/label/19.png
7af7296f2e892866669d4e4f9c0d4178987e6ec6e7d0751ec238d1bbe2da9c55  train/label/20.png
772c722acb2eac01769b53fa5037a3d62745e53102398bf9b2202df605cadda4  train/label/21.png
b19f5533ec24077a2395a085fe53af75dd350ef03798c4ff40ba9ebecb2ee0ad  train/label/22.png
2d8f1df5c9ee83e59eb2d709eb153b0570f12e726690f586154b01b0a88bb540  train/label/23.png
6ab02d922b5c937ecfe2a479be87a5d3e5ef950dc48da09d31f37b47d899ca9c  train/label/24.png
c5ea59aca7789dd507ac31c4a82bbd4c172f9e3544f8e040442c20d1dfa9e16d  train/label/25.png
b056fae9f358111b6c9e2494bdba645f206be581959b8d3763e97d62a65dd961  train/label/26.png
5be3823a57c82b632cead6eb09f438c6010a244dc0975f2a3e466f45d2c06840  train/label/27.png
c0b0e2a2b7aad46919d1afc980f7d5e39101fb07948ce65d9cac802d8b47682e  train/label/28.png
1e8839a97178914171defd6a97158f06fcac1fc3f0d45f2acdff9c49ab3fced9  train/label/29.png
"""
