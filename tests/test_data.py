"""Tests for unet_course.data: synthetic cells, the ISBI 2012 loader, the tile sampler."""
from __future__ import annotations

import hashlib
import http.server
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from unet_course import data
from unet_course.data import isbi2012 as isbi2012_module
from unet_course.data import (ChecksumError, DownloadError, TileDataset, isbi_instances,
                              isbi_targets, load_isbi2012, mirror_indices, mirror_pad,
                              synthetic_cells, synthetic_dataset, touching_pairs)

REPO = Path(__file__).resolve().parents[1]
SHARED_ISBI = Path(os.environ.get("UNET_COURSE_ISBI2012") or REPO.parent / "shared" / "data" / "isbi2012")


# --------------------------------------------------------------------------- synthetic cells

@pytest.fixture(scope="module")
def cells():
    return synthetic_cells(256, seed=3)


def test_synthetic_is_deterministic_for_a_seed():
    a, b, c = synthetic_cells(128, seed=7), synthetic_cells(128, seed=7), synthetic_cells(128, seed=8)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.image, c.image)
    np.testing.assert_array_equal(synthetic_cells(96, seed=np.random.default_rng(5)).image,
                                  synthetic_cells(96, seed=np.random.default_rng(5)).image)


def test_synthetic_types_ranges_and_consistency(cells):
    image, instances, mask = cells
    assert image.shape == instances.shape == mask.shape == (256, 256)
    assert image.dtype == np.float32 and 0 <= image.min() and image.max() <= 1
    assert instances.dtype == np.int32 and mask.dtype == np.int64
    ids = np.unique(instances)
    assert ids[0] == 0 and np.array_equal(ids[1:], np.arange(1, ids[-1] + 1)), "ids 1..K consecutive"
    np.testing.assert_array_equal(mask, instances > 0)
    assert 0.3 < mask.mean() < 0.9
    # every instance is one 4-connected piece
    from skimage.measure import label
    assert label(instances, background=0, connectivity=1).max() == instances.max()
    assert image[mask == 1].mean() > image[mask == 0].mean() + 0.1, "cells brighter than background"


def test_synthetic_has_touching_and_nearly_touching_pairs(cells):
    touch = touching_pairs(cells.instances)
    near = touching_pairs(cells.instances, gap=2) - touch
    k = cells.instances.max()
    assert k >= 25
    assert len(touch) >= k // 2, f"only {len(touch)} touching pairs among {k} cells"
    assert len(near) >= 5, f"only {len(near)} pairs separated by a 1-2 px gap"
    # the plain foreground mask merges touching cells: fewer components than instances
    from skimage.measure import label
    assert label(cells.mask, connectivity=1).max() < k / 2


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_touching_zero_means_every_neighbour_is_separated(seed):
    result = synthetic_cells(96, seed=seed, touching=0.0)
    assert touching_pairs(result.instances) == set()
    assert len(touching_pairs(synthetic_cells(96, seed=seed, touching=1.0).instances)) > 0


@settings(max_examples=15, deadline=None)
@given(h=st.integers(16, 80), w=st.integers(16, 80), n_cells=st.integers(1, 30),
       touching=st.floats(0, 1), clustering=st.floats(0, 1), irregularity=st.floats(0, 2),
       seed=st.integers(0, 10_000))
def test_synthetic_any_size_and_parameters(h, w, n_cells, touching, clustering, irregularity, seed):
    image, instances, mask = synthetic_cells((h, w), n_cells, seed, touching=touching,
                                             clustering=clustering, irregularity=irregularity)
    assert image.shape == instances.shape == mask.shape == (h, w)
    assert image.dtype == np.float32 and 0 <= image.min() and image.max() <= 1
    ids = np.unique(instances[instances > 0])
    assert np.array_equal(ids, np.arange(1, len(ids) + 1))
    np.testing.assert_array_equal(mask, instances > 0)


def test_synthetic_rejects_bad_arguments():
    with pytest.raises(ValueError, match="size"):
        synthetic_cells(8)
    with pytest.raises(ValueError, match="touching"):
        synthetic_cells(64, touching=1.5)
    with pytest.raises(ValueError, match="n_cells"):
        synthetic_cells(64, n_cells=0)


def test_synthetic_dataset_stacks_and_image_i_does_not_depend_on_n():
    small, big = synthetic_dataset(2, size=(64, 80), seed=1), synthetic_dataset(3, size=(64, 80), seed=1)
    assert small.image.shape == (2, 64, 80) and big.instances.shape == (3, 64, 80)
    np.testing.assert_array_equal(small.image, big.image[:2])
    assert not np.array_equal(big.image[0], big.image[1])


def test_touching_pairs_on_a_hand_made_example():
    lab = np.array([[1, 1, 2, 0, 3],
                    [1, 0, 0, 0, 3],
                    [4, 0, 0, 0, 0],
                    [0, 0, 0, 0, 5]])
    assert touching_pairs(lab) == {(1, 2), (1, 4)}
    # 2 . 3 along row 0 and 3 . 5 down column 4 are 1 px gaps; 1 . . . 3 in row 1 is 3 px;
    # 4 and 5 share no row or column: never a pair
    assert touching_pairs(lab, gap=1) == touching_pairs(lab, gap=2) == {(1, 2), (1, 4), (2, 3), (3, 5)}
    assert touching_pairs(lab, gap=9) == {(1, 2), (1, 4), (2, 3), (3, 5), (1, 3)}


# --------------------------------------------------------------------------- mirror padding

@settings(max_examples=60, deadline=None)
@given(h=st.integers(2, 9), w=st.integers(2, 9), pad=st.integers(0, 25))
def test_mirror_pad_equals_numpy_reflect(h, w, pad):
    image = np.arange(h * w).reshape(h, w)
    np.testing.assert_array_equal(mirror_pad(image, pad), np.pad(image, pad, mode="reflect"))


def test_mirror_indices_edges():
    assert mirror_indices(-3, 10, 4).tolist() == [3, 2, 1, 0, 1, 2, 3, 2, 1, 0]
    assert mirror_indices(-2, 4, 1).tolist() == [0, 0, 0, 0]
    with pytest.raises(ValueError):
        mirror_pad(np.zeros(3), 1)


# --------------------------------------------------------------------------- tile sampler

def _ramp(h, w, k=0):
    return (np.arange(h * w, dtype=np.float32).reshape(h, w) + 1000 * k) / (h * w + 1000 * k)


def test_tile_shapes_dtypes_and_invalid_size():
    images = [_ramp(512, 512)]
    targets = [np.ones((512, 512), np.int64)]
    ds = TileDataset(images, targets, input_size=572, tiles_per_epoch=3)
    image, target, weight = ds[0]
    assert tuple(image.shape) == (1, 572, 572) and str(image.dtype) == "torch.float32"
    assert tuple(target.shape) == (388, 388) and str(target.dtype) == "torch.int64"
    assert tuple(weight.shape) == (388, 388) and str(weight.dtype) == "torch.float32"
    assert len(ds) == 3 and float(weight.min()) == 1.0
    with pytest.raises(ValueError, match="570"):
        TileDataset(images, targets, input_size=570)
    with pytest.raises(IndexError):
        ds[3]
    with pytest.raises(ValueError, match="same shape"):
        TileDataset(images, [np.ones((500, 512))])


@pytest.mark.parametrize("size, input_size", [((512, 512), 572), ((300, 420), 572), ((200, 90), 252)])
def test_tiles_are_mirror_padded_crops_of_the_image(size, input_size):
    h, w = size
    image = _ramp(h, w)
    target = (np.arange(h * w).reshape(h, w) % 7).astype(np.int64)
    weight = 1 + (np.arange(h * w).reshape(h, w) % 5).astype(np.float32)
    ds = TileDataset([image], [target], [weight], input_size=input_size, tiles_per_epoch=40, seed=4)
    out, m = ds.out_size, ds.margin
    big = 2 * input_size  # pad enough for any window position
    padded_image = np.pad(image, big, mode="reflect")
    padded_target = np.pad(target, big, mode="reflect")
    corners = set()
    for i in range(len(ds)):
        tile_image, tile_target, tile_weight = ds.tile(i)
        k, y, x = ds.position(i)
        corners.add((y, x))
        np.testing.assert_array_equal(
            tile_image, padded_image[big + y - m: big + y - m + input_size, big + x - m: big + x - m + input_size])
        np.testing.assert_array_equal(tile_target, padded_target[big + y: big + y + out, big + x: big + x + out])
        # weight: the image's weight inside the image, 0 outside it
        rows, cols = np.arange(y, y + out), np.arange(x, x + out)
        inside = np.outer((rows >= 0) & (rows < h), (cols >= 0) & (cols < w))
        np.testing.assert_array_equal(tile_weight[inside], weight[np.ix_(rows, cols)[0].clip(0, h - 1),
                                                                     np.ix_(rows, cols)[1].clip(0, w - 1)][inside])
        assert (tile_weight[~inside] == 0).all()
        # every labelled pixel of the image lies in the window's reachable range
        assert min(0, h - out) <= y <= max(0, h - out) and min(0, w - out) <= x <= max(0, w - out)
    assert len(corners) > 1


def test_tile_at_the_corner_is_mirrored_about_the_edge_pixel():
    """Fig. 2: the input tile of the top-left output window mirrors the image at its border."""
    image = _ramp(400, 400)
    ds = TileDataset([image], [np.zeros((400, 400))], input_size=252)  # out 68, margin 92
    ds._draw = lambda index: (np.random.default_rng(0), 0, 0, 0)  # force the corner (0, 0)
    tile, _, _ = ds.tile(0)
    assert tile[92, 92] == image[0, 0]                       # the window starts at the corner
    np.testing.assert_array_equal(tile[91, 92:], image[1, :160])   # row -1 mirrors row 1
    np.testing.assert_array_equal(tile[0, 92:], image[92, :160])   # row -92 mirrors row 92
    assert tile[0, 0] == image[92, 92]                       # the corner mirrors both ways
    np.testing.assert_array_equal(tile, np.pad(image, 92, mode="reflect")[:252, :252])


def test_tiles_are_deterministic_and_set_epoch_changes_them():
    images = [_ramp(600, 700), _ramp(520, 530, 1)]
    targets = [np.zeros(im.shape) for im in images]
    a = TileDataset(images, targets, input_size=252, tiles_per_epoch=10, seed=1)
    b = TileDataset(images, targets, input_size=252, tiles_per_epoch=10, seed=1)
    c = TileDataset(images, targets, input_size=252, tiles_per_epoch=10, seed=2)
    for i in reversed(range(10)):  # access order does not matter
        assert a.position(i) == b.position(i)
        np.testing.assert_array_equal(a.tile(i)[0], b.tile(i)[0])
    assert [a.position(i) for i in range(10)] != [c.position(i) for i in range(10)]
    first = [a.position(i) for i in range(10)]
    a.set_epoch(1)
    assert [a.position(i) for i in range(10)] != first
    assert {a.position(i)[0] for i in range(10)} == {0, 1}, "both images are sampled"


def test_augment_hook_gets_input_sized_arrays_and_a_generator():
    calls = []

    def flip(image, target, weight, rng):
        assert isinstance(rng, np.random.Generator)
        assert image.shape == target.shape == weight.shape == (252, 252)
        calls.append(float(rng.uniform()))
        return image[:, ::-1], target[:, ::-1], weight[:, ::-1]

    image = _ramp(300, 300)
    target = (np.arange(300 * 300).reshape(300, 300) % 11).astype(np.int64)
    plain = TileDataset([image], [target], input_size=252, tiles_per_epoch=4, seed=3)
    flipped = TileDataset([image], [target], input_size=252, tiles_per_epoch=4, seed=3, augment=flip)
    for i in range(4):
        p, f = plain.tile(i), flipped.tile(i)
        np.testing.assert_array_equal(f[0], p[0][:, ::-1])
        # the target is cropped AFTER the hook: flipping the 252 tile moves the 68 window
        full_target = plain.targets[0][np.ix_(*(mirror_indices(s - 92, 252, 300) for s in plain.position(i)[1:]))]
        np.testing.assert_array_equal(f[1], full_target[:, ::-1][92:160, 92:160])
    flipped.tile(2)
    assert calls[2] == calls[-1], "the hook's rng is deterministic per tile"


def test_dataloader_workers_give_the_same_tiles_without_repeats():
    import torch
    from torch.utils.data import DataLoader
    images = [_ramp(1000, 1000)]
    ds = TileDataset(images, [np.zeros((1000, 1000))], input_size=188, tiles_per_epoch=12, seed=5)
    serial = torch.cat([b[0] for b in DataLoader(ds, batch_size=3, num_workers=0)])
    parallel = torch.cat([b[0] for b in DataLoader(ds, batch_size=3, num_workers=2)])
    assert torch.equal(serial, parallel)
    corners = [tuple(t[0, 0, :2].tolist()) for t in parallel]
    assert len(set(corners)) == len(corners), "no tile repeats across workers"
    ds.set_epoch(3)  # a new epoch reaches the workers too
    epoch3 = torch.cat([b[0] for b in DataLoader(ds, batch_size=4, num_workers=2)])
    assert torch.equal(epoch3, torch.stack([ds[i][0] for i in range(len(ds))]))
    assert not torch.equal(epoch3, parallel)


def test_training_targets_uses_the_weight_map():
    from unet_course import weights
    instances = np.zeros((40, 40), np.int32)
    instances[5:20, 5:20], instances[5:20, 20:35] = 1, 2  # two touching squares
    target, weight = data.training_targets(instances)
    assert target.dtype == np.int64 and weight.dtype == np.float32
    assert target.shape == weight.shape == instances.shape
    border = np.asarray(weights.separation_border(instances), bool)
    assert border.any() and (target[border] == 0).all()
    assert (target[(instances > 0) & ~border] == 1).all()
    assert weight[border].mean() > weight[instances == 0].mean()


# --------------------------------------------------------------------------- ISBI 2012

requires_shared = pytest.mark.skipif(
    not (SHARED_ISBI / "train" / "image" / "00.png").is_file(),
    reason=f"no local ISBI 2012 copy at {SHARED_ISBI} (set UNET_COURSE_ISBI2012 to one)")


@requires_shared
def test_load_isbi2012_from_the_shared_copy(monkeypatch):
    monkeypatch.setenv(data.ISBI2012_ENV, str(SHARED_ISBI))
    images, labels = load_isbi2012(download=False)  # verified against data/isbi2012.SHA256SUMS
    assert images.shape == labels.shape == (30, 512, 512)
    assert images.dtype == labels.dtype == np.uint8
    assert set(np.unique(labels)) == {0, 255}
    assert 0.6 < (labels == 255).mean() < 0.9, "most pixels are cell interior, membranes are thin"
    instances = isbi_instances(labels[0])
    assert instances.max() > 50
    np.testing.assert_array_equal(instances > 0, labels[0] == 255)
    np.testing.assert_array_equal(isbi_targets(labels[:2]), labels[:2] == 255)


@requires_shared
def test_committed_checksums_match_the_shared_copy():
    ours = (REPO / "data" / "isbi2012.SHA256SUMS").read_text().split()
    theirs = (SHARED_ISBI / "SHA256SUMS").read_text().split()
    assert sorted(zip(ours[::2], ours[1::2])) == sorted(zip(theirs[::2], theirs[1::2]))


def test_isbi_instances_rejects_a_stack():
    with pytest.raises(ValueError, match="2-D"):
        isbi_instances(np.zeros((2, 4, 4), np.uint8))


# --- download, with a fake upstream on 127.0.0.1 ------------------------------------------

def _png(array) -> bytes:
    import io
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(array, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def upstream(tmp_path):
    """Two fake slices in the upstream layout (image/0.png, label/0.png, ...) and their sums."""
    rng = np.random.default_rng(0)
    site = tmp_path / "site"
    lines = []
    for kind in ("image", "label"):
        (site / kind).mkdir(parents=True)
        for n in range(2):
            content = _png(rng.integers(0, 256, (8, 8)) if kind == "image" else
                           255 * (rng.uniform(size=(8, 8)) > 0.3))
            (site / kind / f"{n}.png").write_bytes(content)
            lines.append(f"{hashlib.sha256(content).hexdigest()}  train/{kind}/{n:02d}.png")
    sums = tmp_path / "SUMS"
    sums.write_text("\n".join(lines) + "\n")
    return site, sums


class _Server:
    """A tiny HTTP server on 127.0.0.1 serving a folder; `cut` names files it truncates."""

    def __init__(self, folder: Path, cut=()):
        outer = self
        self.requests = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests += 1
                path = folder / self.path.lstrip("/")
                if not path.is_file():
                    self.send_error(404)
                    return
                body = path.read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if path.name in cut else body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def _leftovers(root: Path):
    return [p.name for p in root.rglob("*") if p.name.endswith(".part")]


def test_download_verifies_and_caches(upstream, tmp_path):
    site, sums = upstream
    root = tmp_path / "cache"
    with _Server(site) as server:
        images, labels = load_isbi2012(root, base_url=server.url, checksums=sums, progress=False)
        assert server.requests == 4
        assert images.shape == labels.shape == (2, 8, 8) and images.dtype == np.uint8
        np.testing.assert_array_equal(images[1], np.asarray(Image.open(site / "image" / "1.png")))
        assert sorted(p.name for p in (root / "train" / "label").iterdir()) == ["00.png", "01.png"]
        load_isbi2012(root, base_url=server.url, checksums=sums, progress=False)
        assert server.requests == 4, "files already there and verified are not downloaded again"
    assert not _leftovers(root)


def test_download_from_a_file_url(upstream, tmp_path):
    site, sums = upstream
    images, _ = load_isbi2012(tmp_path / "cache", base_url=site.as_uri(), checksums=sums, progress=False)
    assert images.shape == (2, 8, 8)


def test_checksum_mismatch_names_the_file_and_leaves_nothing(upstream, tmp_path):
    site, sums = upstream
    (site / "label" / "1.png").write_bytes(_png(np.zeros((8, 8))))  # upstream changed
    root = tmp_path / "cache"
    with _Server(site) as server, pytest.raises(ChecksumError) as error:
        load_isbi2012(root, base_url=server.url, checksums=sums, progress=False)
    message = str(error.value)
    expected = [l.split()[0] for l in sums.read_text().splitlines() if "label/01.png" in l][0]
    actual = hashlib.sha256((site / "label" / "1.png").read_bytes()).hexdigest()
    assert "01.png" in message and expected in message and actual in message
    assert not (root / "train" / "label" / "01.png").exists()
    assert not _leftovers(root)


def test_truncated_download_is_an_error_and_leaves_nothing(upstream, tmp_path):
    site, sums = upstream
    root = tmp_path / "cache"
    with _Server(site, cut={"0.png"}) as server, pytest.raises((DownloadError, ChecksumError)):
        load_isbi2012(root, base_url=server.url, checksums=sums, progress=False, timeout=5)
    assert not (root / "train" / "image" / "00.png").exists()
    assert not _leftovers(root)


def test_offline_error_says_what_to_do(upstream, tmp_path):
    _, sums = upstream
    with _Server(tmp_path) as server:
        dead = server.url  # the port is closed once the server is gone
    with pytest.raises(DownloadError) as error:
        load_isbi2012(tmp_path / "cache", base_url=dead, checksums=sums, progress=False, timeout=5)
    assert data.ISBI2012_ENV in str(error.value) and "offline" in str(error.value)
    assert not _leftovers(tmp_path / "cache")


def test_missing_without_download_and_corrupt_existing_copy(upstream, tmp_path, monkeypatch):
    site, sums = upstream
    root = tmp_path / "copy"
    with pytest.raises(FileNotFoundError, match="download=False"):
        load_isbi2012(root, download=False, checksums=sums)
    load_isbi2012(root, base_url=site.as_uri(), checksums=sums, progress=False)
    (root / "train" / "image" / "00.png").write_bytes(b"not a png")
    # a copy the user pointed at (env var) is verified and reported, never deleted
    monkeypatch.setenv(data.ISBI2012_ENV, str(root))
    with pytest.raises(ChecksumError, match="00.png"):
        load_isbi2012(base_url=site.as_uri(), checksums=sums)
    assert (root / "train" / "image" / "00.png").read_bytes() == b"not a png"
    # in the course's own cache, a corrupt file is replaced by a fresh download
    monkeypatch.setattr(isbi2012_module, "_default_root", lambda: (root, True))
    images, _ = load_isbi2012(base_url=site.as_uri(), checksums=sums, progress=False)
    np.testing.assert_array_equal(images[0], np.asarray(Image.open(site / "image" / "0.png")))


def test_embedded_checksums_equal_the_committed_file(monkeypatch):
    """Installs without the repository (Colab) verify against the copy kept in data/isbi2012.py."""
    assert isbi2012_module._read_checksums(REPO / "data" / "isbi2012.SHA256SUMS") == \
        isbi2012_module._read_checksums(None)
    assert len(isbi2012_module._read_checksums(None)) == 60
    monkeypatch.delenv(data.ISBI2012_ENV, raising=False)
    assert isbi2012_module._default_root() == (REPO / "data" / "isbi2012", True)
    monkeypatch.setattr(isbi2012_module, "_CHECKSUMS", REPO / "no-such-file")  # as if installed from PyPI
    assert isbi2012_module._default_root() == (data.USER_CACHE_DIR / "isbi2012", True)
    assert len(isbi2012_module._read_checksums(None)) == 60


def test_tiles_with_the_course_augment_hook():
    from unet_course import augment
    cells = synthetic_cells(200, seed=1)
    ds = TileDataset([cells.image], [cells.mask], input_size=252, tiles_per_epoch=3, seed=0,
                     augment=augment.Augment(elastic=True, flip=True))
    image, target, weight = ds.tile(1)
    assert image.shape == (252, 252) and target.shape == weight.shape == (68, 68)
    assert set(np.unique(target)) <= {0, 1} and weight.min() >= 0
    np.testing.assert_array_equal(ds.tile(1)[0], image)


# --------------------------------------------------------------------------- exercise 00 checks

def test_mirror_checks_accept_the_reference_and_reject_common_mistakes(capsys):
    from unet_course.checks import check_mirror_index, check_mirror_pad
    assert check_mirror_index(lambda i, n: int(mirror_indices(i, 1, n)[0]))
    assert check_mirror_pad(mirror_pad)
    symmetric = check_mirror_pad(lambda image, pad: np.pad(image, pad, mode="symmetric"))
    assert not symmetric and symmetric.status == "failed"     # repeats the edge pixel
    once = check_mirror_index(lambda i, n: -i if i < 0 else (2 * (n - 1) - i if i >= n else i))
    assert not once and "mirror_index(" in once.message          # reflects only once

    def todo(i, n):
        raise NotImplementedError("Exercise: write the body of mirror_index")
    assert check_mirror_index(todo).status == "not implemented"
    assert "not implemented yet" in capsys.readouterr().out


def test_mirror_checks_catch_wrong_types_and_name_the_edge_pixel(capsys):
    from unet_course.checks import check_mirror_index, check_mirror_pad

    def right(i, n):
        return int(mirror_indices(i, 1, n)[0])
    as_float = check_mirror_index(lambda i, n: float(right(i, n)))     # not a usable index
    assert not as_float and "expected the integer 1, got the float 1.0" in as_float.message
    repeated = check_mirror_index(lambda i, n: min(max(i if i >= 0 else -i - 1, 0), n - 1))
    assert not repeated and "mirror_index(-1, 4)" in repeated.message and "edge pixel" in repeated.message
    as_list = check_mirror_pad(lambda image, pad: np.pad(image, pad, mode="reflect").tolist())
    assert not as_list and "numpy array" in as_list.message
    recast = check_mirror_pad(lambda image, pad: np.pad(image, pad, mode="reflect").astype(np.int64))
    assert not recast and "dtype float32" in recast.message
    capsys.readouterr()


def test_missing_upstream_file_is_reported_with_the_http_status(upstream, tmp_path):
    site, sums = upstream
    (site / "label" / "0.png").unlink()
    root = tmp_path / "cache"
    with _Server(site) as server, pytest.raises(DownloadError, match="HTTP 404") as error:
        load_isbi2012(root, base_url=server.url, checksums=sums, progress=False)
    assert "/label/0.png" in str(error.value) and data.ISBI2012_ENV in str(error.value)
    assert not (root / "train" / "label" / "00.png").exists() and not _leftovers(root)


# --------------------------------------------------------------------------- issue 12: review

def _zero_weight_share(dataset, n):
    return np.mean([np.mean(dataset.tile(i)[2] == 0) for i in range(n)])


def test_augmented_tiles_keep_the_mirrored_margins_weight():
    """Output pixels that a deformation pulls from the mirrored margin stay supervised: the
    mirrored target is right there (before: weight 0, up to 13% of a tile near the border)."""
    from unet_course.augment import Augment
    cells = synthetic_cells(200, seed=1)
    ds = TileDataset([cells.image], [cells.mask], input_size=252, tiles_per_epoch=12, seed=0,
                     augment=Augment(elastic=True, sigma=10, flip=True))
    assert _zero_weight_share(ds, 12) == 0

    def shift_down(image, target, weight, rng):  # output row r takes input row r - 20
        return tuple(np.roll(a, 20, axis=0) for a in (image, target, weight))

    # a 68x68 image is exactly one output window: the first 20 output rows come from the margin
    ds = TileDataset([_ramp(68, 68)], [np.ones((68, 68), np.int64)], input_size=252,
                     tiles_per_epoch=2, augment=shift_down)
    for i in range(2):
        assert ds.position(i)[1:] == (0, 0) and ds.tile(i)[2].min() == 1


def test_small_image_keeps_weight_zero_outside_the_image_with_augmentation():
    """An image smaller than the output window: its window pixels outside the image count for
    nothing, with or without an augmentation hook (only the margin around the window counts)."""
    image, target = _ramp(40, 50), np.ones((40, 50), np.int64)
    for hook in (None, lambda *arrays_and_rng: arrays_and_rng[:3]):
        ds = TileDataset([image], [target], input_size=252, tiles_per_epoch=3, augment=hook)
        for i in range(3):
            assert ds.tile(i)[2].sum() == 40 * 50


def test_tile_dataset_rejects_soft_float_targets_and_converts_whole_ones():
    image = _ramp(100, 100)
    with pytest.raises(ValueError, match=r"target 0.*non-integer value 0.5.*target > 0.5"):
        TileDataset([image], [np.full((100, 100), 0.5)], input_size=252)
    with pytest.raises(ValueError, match="dtype"):
        TileDataset([image], [np.full((100, 100), "a")], input_size=252)
    ds = TileDataset([image], [np.ones((100, 100), np.float32)], input_size=252, tiles_per_epoch=1)
    assert ds.tile(0)[1].dtype == np.int64 and ds.tile(0)[1].min() == 1


@pytest.mark.parametrize("kwargs, words", [
    ({"size": 64.5}, "size must be a whole number of pixels, got 64.5"),
    ({"size": (64, 80, 3)}, "size must be an int or (height, width)"),
    ({"size": 64, "seed": "a"}, "seed must be an integer >= 0"),
    ({"size": 64, "seed": -1}, "seed must be an integer >= 0, a list of them or a numpy Generator, got -1"),
    ({"size": 64, "seed": 1.5}, "seed must be an integer"),
    ({"size": 64, "n_cells": 2.5}, "n_cells must be a whole number"),
])
def test_synthetic_cells_names_a_bad_argument(kwargs, words):
    with pytest.raises(ValueError) as error:
        synthetic_cells(**kwargs)
    assert words in str(error.value)


def test_touching_pairs_wants_integer_ids():
    """Float labels gave {(1.5, 2.5)} before."""
    lab = np.array([[1.5, 2.5], [0, 0]])
    with pytest.raises(ValueError, match="integer .*cell ids, got dtype float64"):
        touching_pairs(lab)
    with pytest.raises(ValueError, match="integer gap"):
        touching_pairs(lab.astype(int), gap=1.5)
    assert touching_pairs(np.array([[1, 2]])) == {(1, 2)}


@pytest.mark.parametrize("scale", [255, 1.0, "bool"])
def test_isbi_labels_in_any_scale_give_the_same_classes(scale):
    """Labels already scaled to [0, 1] gave all membrane and 0 cells before."""
    label = np.zeros((6, 7), np.uint8)
    label[1:3, 1:3], label[4:, 4:] = 255, 255
    scaled = label > 0 if scale == "bool" else (label / 255 * scale).astype(np.float64 if scale == 1.0 else np.uint8)
    np.testing.assert_array_equal(isbi_targets(scaled), label > 0)
    assert isbi_instances(scaled).max() == 2
    np.testing.assert_array_equal(isbi_targets((label > 0).astype(np.int64)), label > 0)  # 0/1 integers


def test_isbi_labels_outside_the_range_are_an_error():
    with pytest.raises(ValueError, match=r"\[0, 255\].*got values in \[-1, 3\]"):
        isbi_targets(np.array([[-1.0, 3.0]]))
    with pytest.raises(ValueError, match="isbi_instances"):
        isbi_instances(np.array([[300, 0]]))


def test_offline_messages_read_as_sentences(upstream, tmp_path):
    _, sums = upstream
    with pytest.raises(FileNotFoundError) as error:
        load_isbi2012(tmp_path / "none", download=False, checksums=sums)
    text = str(error.value)
    assert "or To get" not in text and "load_isbi2012(download=True) to fetch it. To get the data" in text
