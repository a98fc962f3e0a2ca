"""unet_course.data.files and unet_course.data.mirror: the image files the commands read and
write, and the one mirror extrapolation."""
import numpy as np
import pytest

from unet_course.data import (as_float_image, list_images, mirror_pad, mirrored_window,
                              pair_by_name, read_image, write_image)


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
