"""ISBI 2012: the paper's EM data set (Sec. 4), downloaded once and verified.

30 training slices (512 x 512) of the Drosophila first instar larva ventral nerve cord and
their membrane labels. Every file, downloaded or already on disk, is checked against the
SHA-256 sums committed in ``data/isbi2012.SHA256SUMS``; a download goes to a temporary file
that is renamed into place only once its checksum matches.

Labels: uint8, 255 = cell interior, 0 = membrane.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .files import temp_file

__all__ = ["ISBI2012", "load_isbi2012", "isbi_instances", "isbi_targets", "ChecksumError",
           "DownloadError", "ISBI2012_URL", "ISBI2012_ENV", "REPO_DATA_DIR", "sha256_file"]


#: Where the files come from: the PNG conversion of the challenge's training stacks in the
#: public repository zhixuhao/unet (upstream names 0.png..29.png, here train/image/00.png ...).
ISBI2012_URL = "https://github.com/zhixuhao/unet/raw/master/data/membrane/train"
#: Environment variable naming a folder that already holds a copy (train/image, train/label).
ISBI2012_ENV = "UNET_COURSE_ISBI2012"
#: The repository's data/ folder: downloads go to data/isbi2012, checksums live here.
REPO_DATA_DIR = Path(__file__).resolve().parents[2] / "data"
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
    handle, tmp = temp_file(target, suffix=".part")
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
                f"changed or the download was corrupted; run again. " + _offline_help(root, base_url))
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
                f"{path} is missing and download=False. Call load_isbi2012(download=True) to fetch it. "
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


def _cell_interior(labels, name: str) -> np.ndarray:
    """Boolean cell-interior mask of ISBI labels, in any of the scales they come in: as read
    (0 membrane / 255 cell), scaled to [0, 1] (floats after / 255, or 0/1 integers), or bool.
    Each slice is read by the course's one label rule (``labels.as_label``: of two values the
    larger is cell), after a check that the values lie in ISBI's range."""
    labels = np.asarray(labels)
    if labels.dtype == bool:
        return labels
    if labels.dtype.kind not in "iuf":
        raise ValueError(f"{name}: ISBI labels are numbers (0 membrane, 255 cell), got dtype {labels.dtype}")
    if labels.size == 0:
        return labels > 0
    lo, hi = float(np.min(labels)), float(np.max(labels))
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0 or hi > 255:
        raise ValueError(f"{name}: ISBI labels lie in [0, 255] (0 membrane, 255 cell) or [0, 1], "
                         f"got values in [{lo:g}, {hi:g}]")
    from .labels import as_label
    slices = labels.reshape(-1, *labels.shape[-2:]) if labels.ndim > 2 else labels[None]
    return np.stack([as_label(one, name).mask for one in slices]).reshape(labels.shape)


def isbi_targets(labels: np.ndarray) -> np.ndarray:
    """ISBI labels (255 = cell interior, 0 = membrane) -> int64 classes (1 = cell, 0 = membrane).

    Labels scaled to [0, 1] (floats, 0/1 integers) or bool work too: each slice is read by the
    one label rule (``labels.as_label``: the larger of two values is cell). Values outside
    [0, 255]: ValueError."""
    return _cell_interior(labels, "isbi_targets").astype(np.int64)


def isbi_instances(label: np.ndarray) -> np.ndarray:
    """Cell instances of one ISBI label slice: the 4-connected components of the cell-interior
    class (255; labels in [0, 1] as for `isbi_targets`), numbered 1..K; 0 = membrane. (4-connectivity, so two cells that meet only at
    a corner of the membrane stay apart.) Used to compute the weight map of Eq. 2."""
    from .labels import as_label
    label = np.asarray(label)
    if label.ndim != 2:
        raise ValueError(f"isbi_instances takes one 2-D label slice, got shape {label.shape}")
    return as_label(_cell_interior(label, "isbi_instances"), "isbi_instances").instances



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
