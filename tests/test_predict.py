"""The predict command (unet_course.predict): instances from p(cell), overlays, run folders,
raw images of any dtype, and the one colour rule it shares with train."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import ndimage

from unet_course.checkpoint import save_model
from unet_course.data import as_grey, read_image, write_image
from unet_course.model import UNet, he_init_
from unet_course.normalize import PERCENTILES, StandardizedUNet, percentile_normalize
from unet_course.predict import MIN_SIZE, instances_from_probability, main, overlay
from unet_course.tiling import predict_tiled

ROOT = Path(__file__).resolve().parents[1]
torch.set_num_threads(1)


def tiny(seed=0, percentiles=None):
    """A small untrained UNet; with percentiles, one that normalises like a trained model."""
    model = (StandardizedUNet(base_channels=4, input_mean=0.3, input_std=0.3,
                              percentiles=percentiles) if percentiles else UNet(base_channels=4))
    he_init_(model, seed)
    return model.eval()


def _disc(shape, centre, radius):
    yy, xx = np.indices(shape)
    return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius ** 2


# --------------------------------------------------------------------------- instances

def test_foreground_is_p_above_the_threshold_as_in_the_metrics():
    prob = np.zeros((12, 12), np.float32)
    prob[2:10, 2:10] = 0.5  # exactly at the threshold: background, as in evaluate
    assert instances_from_probability(prob, min_size=1).max() == 0
    prob[2:10, 2:10] = np.nextafter(np.float32(0.5), np.float32(1))
    assert (instances_from_probability(prob, min_size=1) > 0).sum() == 64


def test_specks_are_removed_and_small_holes_filled():
    prob = np.zeros((40, 40), np.float32)
    prob[5:25, 5:25] = 0.9
    prob[12:14, 12:14] = 0.1         # a 4 px hole inside the cell
    prob[30:33, 30:33] = 0.9         # a 9 px speck
    prob[0:6, 34:40] = 0.1           # background: untouched
    labels = instances_from_probability(prob, min_size=10)
    assert labels.max() == 1 and labels.dtype == np.int32
    assert (labels == 1).sum() == 400 and labels[12, 12] == 1 and labels[31, 31] == 0
    assert instances_from_probability(prob, min_size=9).max() == 2  # the speck is 9 px
    big_hole = prob.copy()
    big_hole[10:20, 10:20] = 0.1    # 100 px: a real gap, kept
    assert (instances_from_probability(big_hole, min_size=10) == 0)[15, 15]
    with pytest.raises(ValueError, match="min_size"):
        instances_from_probability(prob, min_size=0)
    with pytest.raises(ValueError, match="float map"):
        instances_from_probability(prob > 0.5)


def test_split_borders_separates_touching_cells_at_a_dip_and_at_a_neck():
    prob = np.zeros((20, 40), np.float32)
    prob[5:15, 3:19] = prob[5:15, 21:37] = 0.95
    prob[5:15, 19:21] = 0.6  # a weak bridge: above the threshold, a dip between the cells
    assert instances_from_probability(prob).max() == 1
    labels = instances_from_probability(prob, split_borders=True)
    assert labels.max() == 2 and labels[10, 5] != labels[10, 35]
    assert (labels > 0).sum() == (prob > 0.5).sum()  # splitting moves no pixel out of the cells
    neck = np.where(_disc((40, 70), (20, 20), 14) | _disc((40, 70), (20, 46), 14), 0.97, 0.02)
    two = instances_from_probability(neck.astype(np.float32), split_borders=True)
    assert two.max() == 2 and two[20, 10] != two[20, 56]


def test_split_borders_keeps_a_small_cell_next_to_a_big_one():
    """Smoothing lets the big cell's relief spill over a 1-px gap: the small cell has no
    maximum of its own, and must still come out as a cell (no pixel lost)."""
    prob = np.where(_disc((60, 80), (30, 30), 20), 0.99, 0.02).astype(np.float32)
    prob[27:34, 51:58] = 0.99  # 49 px, one background column (x = 50) from the disc
    prob[27:34, 50] = 0.02
    labels = instances_from_probability(prob, split_borders=True)
    assert labels.max() == 2 and (labels > 0).sum() == (prob > 0.5).sum()
    assert labels[30, 54] not in (0, labels[30, 30])


def test_split_borders_does_not_cut_a_noisy_cell_into_specks():
    """The old seeds (components of p >= 0.75) made a seed of every confident speck: a cell
    whose p(cell) flickers around 0.75 came out in dozens of pieces."""
    rng = np.random.default_rng(0)
    cell = _disc((60, 60), (30, 30), 22)
    prob = np.where(cell, 0.75 + 0.2 * (rng.random((60, 60)) - 0.5), 0.05).astype(np.float32)
    labels = instances_from_probability(prob, split_borders=True)
    assert labels.max() == 1 and (labels > 0).sum() == cell.sum()
    noise = np.where(rng.random((60, 60)) < 0.03, 0.9, 0.05).astype(np.float32)
    assert instances_from_probability(noise, split_borders=True).max() == 0  # specks only
    assert instances_from_probability(noise, min_size=1).max() > 50


def test_every_region_of_a_split_is_at_least_min_size():
    rng = np.random.default_rng(3)
    prob = ndimage.gaussian_filter(rng.random((120, 120)), 4)
    prob = ((prob - prob.min()) / np.ptp(prob)).astype(np.float32)
    for split in (False, True):
        labels = instances_from_probability(prob, 0.5, 25, split)
        sizes = np.bincount(labels.ravel())[1:]
        assert labels.max() >= 2 and sizes.min() >= 25 and np.array_equal(
            np.unique(labels)[1:], np.arange(1, labels.max() + 1))  # ids 1..n


# --------------------------------------------------------------------------- overlay

def test_overlay_stretches_a_dim_image_to_its_own_range():
    ramp = np.tile(np.arange(236, dtype=np.uint16), (8, 1))  # a uint16 image using 0-235
    shown = overlay(ramp, np.zeros(ramp.shape, np.int32))
    assert shown.dtype == np.uint8 and shown.shape == (8, 236, 3)
    assert shown[..., 0].max() == 255 and shown[..., 0].min() == 0  # clipped at the percentiles
    expected = np.clip(percentile_normalize(ramp, *PERCENTILES), 0, 1) * 255
    assert np.abs(shown[..., 0].astype(float) - expected).max() <= 0.5
    labels = np.zeros(ramp.shape, np.int32)
    labels[2:6, 10:20] = 1
    edged = overlay(ramp, labels)
    assert (edged[2, 10] != edged[2, 10, 0]).any() and np.array_equal(edged[0], shown[0])


# --------------------------------------------------------------------------- the command

def _run(*args):
    return subprocess.run([sys.executable, "-m", "unet_course.predict", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})


def test_command_on_a_folder_with_a_good_an_odd_and_a_broken_image(tmp_path):
    model = tiny()
    save_model(model, tmp_path / "model.pt")
    images = tmp_path / "in"
    rng = np.random.default_rng(10)
    good = (rng.random((96, 96)) * 255).astype(np.uint8)
    odd = rng.random((37, 129)).astype(np.float32)
    write_image(images / "good.png", good)
    write_image(images / "odd.tif", odd)
    (images / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    result = _run(tmp_path / "model.pt", images, tmp_path / "out", "--overlay", "--quiet")
    assert result.returncode == 1, result.stderr
    assert "broken.png" in result.stderr and "Traceback" not in result.stderr
    assert "2 of 3" in result.stdout
    prob = read_image(tmp_path / "out" / "good_prob.png")
    assert prob.dtype == np.uint16 and prob.shape == (96, 96)
    expected = predict_tiled(model, good)[1]
    assert np.abs(prob / 65535 - expected).max() <= 1 / 65535
    labels = read_image(tmp_path / "out" / "odd_labels.png")
    from unet_course.predict import instances_from_probability
    expected_labels = instances_from_probability(predict_tiled(model, odd)[1])
    assert labels.shape == (37, 129) and np.array_equal(labels > 0, expected_labels > 0)
    assert labels.max() == expected_labels.max()  # the same cells as the rule gives
    assert read_image(tmp_path / "out" / "odd_overlay.png").shape == (37, 129, 3)
    assert not list((tmp_path / "out").glob("broken*"))


def test_raw_images_of_any_dtype_give_the_same_prediction_and_a_visible_overlay(tmp_path, capsys):
    model = tiny(percentiles=PERCENTILES)
    save_model(model, tmp_path / "m.pt")
    dim = np.random.default_rng(5).integers(0, 236, (64, 80)).astype(np.uint16)  # 0-235 uint16
    write_image(tmp_path / "in" / "dim.png", dim)
    write_image(tmp_path / "in" / "wide.tif", dim.astype(np.int32) * 1000 - 7)  # int32: raw
    assert main([str(tmp_path / "m.pt"), str(tmp_path / "in"), str(tmp_path / "out"),
                 "--overlay", "--quiet", "--float"]) == 0
    a = read_image(tmp_path / "out" / "dim_prob.tif")
    b = read_image(tmp_path / "out" / "wide_prob.tif")
    np.testing.assert_allclose(a, predict_tiled(model, dim)[1], atol=1e-6)
    np.testing.assert_allclose(a, b, atol=1e-4)
    grey = read_image(tmp_path / "out" / "dim_overlay.png")[..., 0]
    assert grey.max() == 255 and np.median(grey) > 100  # not black: stretched to its range


def test_the_same_rgb_file_is_converted_alike_by_train_and_predict(tmp_path, capsys):
    from unet_course.train.config import make_config
    from unet_course.train.sources import load_split
    rng = np.random.default_rng(2)
    for name in ("a", "b", "c"):
        rgb = rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)
        write_image(tmp_path / "data" / "images" / f"{name}.png", rgb)
        write_image(tmp_path / "data" / "labels" / f"{name}.png",
                    (_disc((48, 48), (24, 24), 10) * 255).astype(np.uint8))
    split = load_split(make_config("cpu", data=str(tmp_path / "data"), val_fraction=0.34, seed=0))
    train_notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("note:")]
    assert len(train_notes) == 3 and all("RGB image converted to grey" in n for n in train_notes)
    held_out = int(np.random.default_rng(0).permutation(3)[0])  # the split's own rule
    names = ["a.png", "b.png", "c.png"]
    assert split.files == {"train": [n for i, n in enumerate(names) if i != held_out],
                           "val": [names[held_out]]}
    val_name = split.files["val"][0]
    rgb = read_image(tmp_path / "data" / "images" / val_name)
    grey, _ = as_grey(rgb)
    np.testing.assert_allclose(split.val_images[0], percentile_normalize(grey, *PERCENTILES),
                               atol=1e-6)
    model = tiny(percentiles=PERCENTILES)
    save_model(model, tmp_path / "m.pt")
    assert main([str(tmp_path / "m.pt"), str(tmp_path / "data" / "images" / val_name),
                 str(tmp_path / "out"), "--quiet", "--float"]) == 0
    predict_notes = [l for l in capsys.readouterr().out.splitlines() if l.startswith("note:")]
    assert predict_notes == [n for n in train_notes if val_name in n]  # the same note
    np.testing.assert_allclose(read_image(tmp_path / "out" / f"{Path(val_name).stem}_prob.tif"),
                               predict_tiled(model, split.val_images[0])[1], atol=1e-5)


def test_a_synthetic_split_records_no_files():
    from unet_course.train.config import make_config
    from unet_course.train.sources import Split, load_split
    split = load_split(make_config("cpu", train_images=1, val_images=1, image_size=48))
    assert split.files is None and Split._fields[-2:] == ("description", "files")


def test_a_run_folder_stands_for_its_model_file(tmp_path, capsys):
    write_image(tmp_path / "a.png", np.zeros((8, 8), np.uint8))
    (tmp_path / "run" / "sub").mkdir(parents=True)
    (tmp_path / "run" / "metrics.csv").write_text("step\n")
    assert main([str(tmp_path / "run"), str(tmp_path / "a.png"), str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "without a model.pt (it holds: metrics.csv, sub/)" in err
    save_model(tiny(), tmp_path / "run" / "model.pt")
    assert main([str(tmp_path / "run"), str(tmp_path / "a.png"), str(tmp_path / "o"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"note: {tmp_path / 'run'} is a folder: using its model.pt" in out
    assert (tmp_path / "o" / "a_prob.png").exists()


def test_command_errors_are_one_line(tmp_path, capsys):
    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign.pt")
    write_image(tmp_path / "a.png", np.zeros((8, 8), np.uint8))
    assert main([str(tmp_path / "foreign.pt"), str(tmp_path / "a.png"), str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "not a unet_course checkpoint" in err
    save_model(tiny(), tmp_path / "m.pt")
    assert main([str(tmp_path / "m.pt"), str(tmp_path / "a.png"), str(tmp_path / "o"), "--tile", "250"]) == 2
    assert "236 and 252" in capsys.readouterr().err
    write_image(tmp_path / "two.tif", np.zeros((8, 8, 2), np.uint8))
    assert main([str(tmp_path / "m.pt"), str(tmp_path / "two.tif"), str(tmp_path / "o")]) == 1
    assert "two.tif: expected a grey (H, W), RGB or RGBA" in capsys.readouterr().err
    assert main([str(tmp_path / "m.pt"), str(tmp_path / "nothing"), str(tmp_path / "o")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    for bad in (["--threshold", "2"], ["--min-size", "0"]):
        with pytest.raises(SystemExit) as stop:
            main([str(tmp_path / "m.pt"), str(tmp_path / "a.png"), str(tmp_path / "o"), *bad])
        assert stop.value.code == 2 and capsys.readouterr().err.startswith("error: ")
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0 and f"({MIN_SIZE};" in capsys.readouterr().out
