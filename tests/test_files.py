"""unet_course.data.files and unet_course.data.mirror: the image files the commands read and
write, and the one mirror extrapolation."""
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from unet_course.data import (as_float_image, as_grey, list_images, mirror_pad, mirrored_window,
                              pair_by_name, read_image, temp_file, write_image)


@pytest.mark.parametrize("name, array", [
    ("a.png", np.arange(12, dtype=np.uint8).reshape(3, 4)),
    ("b.png", (np.arange(12, dtype=np.uint16) * 5000).reshape(3, 4)),
    ("c.tif", np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)),
    ("d.tiff", np.arange(12, dtype=np.int32).reshape(3, 4)),
    ("e.png", np.zeros((3, 4, 3), np.uint8)),
])
def test_write_then_read_gives_the_same_pixels(tmp_path, name, array):
    write_image(tmp_path / name, array)
    back = read_image(tmp_path / name)
    assert back.dtype == array.dtype and np.array_equal(back, array)
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left behind


def test_unreadable_and_unwritable_files_name_the_file(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(ValueError, match="broken.png: cannot read"):
        read_image(tmp_path / "broken.png")
    with pytest.raises(FileNotFoundError, match="nope.png"):
        read_image(tmp_path / "nope.png")
    (tmp_path / "x.jpg").write_bytes(b"")
    with pytest.raises(ValueError, match="not a PNG or TIFF"):
        read_image(tmp_path / "x.jpg")
    with pytest.raises(ValueError, match="write a .tif"):
        write_image(tmp_path / "p.png", np.zeros((2, 2), np.float32))
    assert not (tmp_path / "p.png").exists()


def test_pair_by_name_lists_the_unmatched(tmp_path):
    for d, names in (("img", ["01.png", "02.png", "03.tif"]), ("lab", ["01.png", "03.png", "04.png"])):
        (tmp_path / d).mkdir()
        for n in names:
            write_image(tmp_path / d / n, np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match=r"1 in .*img without a partner .*\(02\).*1 in .*lab .*\(04\)"):
        pair_by_name(tmp_path / "img", tmp_path / "lab")
    (tmp_path / "img" / "02.png").unlink()
    (tmp_path / "lab" / "04.png").unlink()
    assert [(a.name, b.name) for a, b in pair_by_name(tmp_path / "img", tmp_path / "lab")] == \
        [("01.png", "01.png"), ("03.tif", "03.png")]
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no PNG or TIFF"):
        list_images(tmp_path / "empty")


def test_as_float_image_scales_by_dtype_and_rejects_the_rest():
    assert as_float_image(np.array([[255]], np.uint8))[0, 0] == 1
    assert as_float_image(np.array([[65535]], np.uint16))[0, 0] == 1
    assert as_float_image(np.array([[251.9]]))[0, 0] == np.float32(251.9)  # floats as they are
    with pytest.raises(ValueError, match="NaN"):
        as_float_image(np.array([[np.nan]]))
    with pytest.raises(ValueError, match="int64"):
        as_float_image(np.array([[3]], np.int64))


def test_mirror_pad_is_numpy_reflect_on_images_and_stacks():
    image = np.arange(20.0).reshape(4, 5)
    assert np.array_equal(mirror_pad(image, 3), np.pad(image, 3, mode="reflect"))
    stack = np.stack([image, -image])
    assert np.array_equal(mirror_pad(stack, 2), np.pad(stack, ((0, 0), (2, 2), (2, 2)), mode="reflect"))
    assert mirror_pad(image, 9).shape == (22, 23)  # wider than the image: the reflection repeats
    for bad in (2.5, True, "2"):
        with pytest.raises(ValueError, match="whole number"):
            mirror_pad(image, bad)


def test_mirrored_window_inside_is_a_copy_and_outside_is_mirrored():
    image = np.arange(30).reshape(5, 6)
    inside = mirrored_window(image, 1, 1, 3, 4)
    assert np.array_equal(inside, image[1:4, 1:5]) and not np.shares_memory(inside, image)
    padded = np.pad(image, 4, mode="reflect")
    assert np.array_equal(mirrored_window(image, -4, -2, 9, 7), padded[0:9, 2:9])


def test_a_broken_tiff_is_one_clear_reason(tmp_path, caplog):
    (tmp_path / "broken.tif").write_bytes(b"II*\x00garbage")
    with pytest.raises(ValueError, match="broken.tif: cannot read the image"):
        read_image(tmp_path / "broken.tif")
    assert not [r for r in caplog.records if r.name == "tifffile"]  # no extra log line


@pytest.fixture
def umask():
    """Set the process umask for one test, then restore it."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


def test_every_atomic_write_honours_the_umask_like_a_plain_write(tmp_path, umask):
    import torch
    from unet_course.checkpoint import atomic_save
    from unet_course.evaluate import COLUMNS, write_csv
    from unet_course.train.log import write_json
    writers = {"a.png": lambda p: write_image(p, np.zeros((2, 2), np.uint8)),
               "m.pt": lambda p: atomic_save({"x": torch.zeros(1)}, p),
               "c.json": lambda p: write_json(p, {"a": 1}),
               "e.csv": lambda p: write_csv(p, [dict.fromkeys(COLUMNS, 0)])}
    for mask, mode in ((0o022, 0o644), (0o077, 0o600), (0o002, 0o664)):
        umask(mask)
        for name, write in writers.items():
            path = tmp_path / f"{mask:o}" / name
            path.parent.mkdir(exist_ok=True)
            write(path)
            assert stat.S_IMODE(path.stat().st_mode) == mode, (name, oct(mask))
            (path.parent / "plain").write_bytes(b"")  # what a plain write gives
            assert stat.S_IMODE((path.parent / "plain").stat().st_mode) == mode
        assert sorted(p.name for p in path.parent.iterdir()) == sorted([*writers, "plain"])
    assert os.umask(0o022) == 0o002  # the umask is left as it was found


def test_temp_file_is_next_to_the_target_and_readable_by_the_group(tmp_path, umask):
    handle, tmp = temp_file(tmp_path / "new" / "x.csv", suffix=".csv")
    os.close(handle)
    assert Path(tmp).parent == tmp_path / "new" and tmp.endswith(".csv")
    assert stat.S_IMODE(os.stat(tmp).st_mode) == 0o644


def test_as_grey_is_one_rule_for_rgb_and_rgba_and_names_the_file():
    grey = np.arange(6, dtype=np.uint16).reshape(2, 3)
    same, note = as_grey(grey, "g.png")
    assert np.array_equal(same, grey) and same.dtype == grey.dtype and note is None
    assert np.array_equal(as_grey(grey[..., None])[0], grey) and as_grey(grey[..., None])[1] is None
    rgb = np.random.default_rng(0).integers(0, 256, (4, 5, 3), dtype=np.uint8)
    out, note = as_grey(rgb, "cells.png")
    expected = (rgb.astype(np.float64) / 255) @ np.array([0.2125, 0.7154, 0.0721])
    assert out.shape == (4, 5) and np.allclose(out, expected, atol=1e-6)
    assert note.startswith("cells.png: RGB image converted to grey") and "alpha" not in note
    rgba = np.concatenate([rgb, np.full((4, 5, 1), 7, np.uint8)], axis=2)
    out4, note4 = as_grey(rgba, "cells.png")
    assert np.array_equal(out4, out) and "RGBA" in note4 and "alpha ignored" in note4
    raw = np.random.default_rng(1).random((4, 5, 3)) * 4000  # raw float intensities: no clipping
    assert np.allclose(as_grey(raw)[0], raw @ np.array([0.2125, 0.7154, 0.0721]), rtol=1e-5)
    with pytest.raises(ValueError, match=r"two.tif: expected a grey .* shape \(4, 5, 2\)"):
        as_grey(np.zeros((4, 5, 2), np.uint8), "two.tif")
