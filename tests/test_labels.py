"""The ONE label rule (unet_course.data.labels) and that train and evaluate both follow it."""
import csv

import numpy as np
import pytest

from unet_course.data import as_label, read_label, write_image
from unet_course.evaluate import main as evaluate


def two_cells(cell=1, background=0, dtype=np.uint8):
    """Two 4-separated squares of value ``cell`` on ``background``."""
    label = np.full((32, 32), background, dtype)
    label[4:14, 4:14] = cell
    label[18:28, 16:30] = cell
    return label


@pytest.mark.parametrize("background, cell", [(0, 1), (0, 255), (1, 2), (3, 7)])
def test_any_two_values_are_a_mask_with_the_larger_value_cell(background, cell):
    got = as_label(two_cells(cell, background))
    truth = two_cells() == 1
    assert np.array_equal(got.mask, truth)
    assert got.instances.max() == 2 and np.array_equal(got.instances > 0, truth)
    assert (got.note is None) == (background == 0)
    if background:  # {1, 2} could be two instance ids: the note says how it was read
        assert f"{cell} = cell" in got.note and f"{background} = background" in got.note


def test_bool_and_whole_float_labels_follow_the_same_rule():
    truth = two_cells() == 1
    assert np.array_equal(as_label(truth).mask, truth)
    assert np.array_equal(as_label(two_cells(255.0, 0.0, np.float32)).mask, truth)
    with pytest.raises(ValueError, match="whole numbers"):
        as_label(two_cells(0.5, 0.0, np.float32))


def test_all_zero_is_no_cell_and_any_other_one_valued_label_is_refused():
    empty = as_label(np.zeros((8, 8), np.uint8))
    assert not empty.mask.any() and empty.instances.max() == 0
    for value in (1, 255):
        with pytest.raises(ValueError, match=f"every pixel has the value {value}, which could "
                                             f"mean all cell or no cell"):
            as_label(np.full((8, 8), value, np.uint8), "x.png")


def test_instance_ids_are_cells_and_touching_ones_are_cut_apart_in_the_mask():
    inst = np.zeros((40, 40), np.uint16)
    inst[5:20, 5:15], inst[5:20, 15:25], inst[28:36, 28:36] = 1, 2, 3
    got = as_label(inst)
    assert np.array_equal(got.instances, inst) and got.note is None
    assert got.mask.sum() == (inst > 0).sum() - 15   # one column of the touching pair cut
    assert not got.mask[5:20, 14].any()


def test_raw_images_and_negative_values_are_refused_naming_what_is_valid():
    raw = np.random.default_rng(0).integers(0, 256, (32, 32)).astype(np.uint8)
    with pytest.raises(ValueError, match="do not form cells.*binary mask of two values"):
        as_label(raw, "raw.png")
    with pytest.raises(ValueError, match="negative"):
        as_label(two_cells(1, -1, np.int16))


def _csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_evaluate_scores_a_perfect_prediction_of_a_1_2_label_as_perfect(tmp_path, capsys):
    """The issue's case: a {1, 2} label (2 = cell) with a perfect prediction scored IoU 0.195,
    SEG 0 and F1 0 when evaluate read labels as label > 0."""
    label = two_cells(2, 1)
    write_image(tmp_path / "pred.tif", (label == 2).astype(np.float32))
    write_image(tmp_path / "label.png", label)
    out = tmp_path / "s.csv"
    assert evaluate([str(tmp_path / "pred.tif"), str(tmp_path / "label.png"), "--csv", str(out)]) == 0
    row = _csv(out)[0]
    for column in ("foreground_iou", "seg", "f1", "precision", "recall"):
        assert float(row[column]) == 1.0, column
    assert float(row["pixel_error"]) == 0 and float(row["misclassification_rate"]) == 0
    assert "2 = cell and 1 = background" in capsys.readouterr().out


def test_train_and_evaluate_read_and_refuse_the_same_files_the_same_way(tmp_path, capsys):
    from unet_course.data import synthetic_dataset
    from unet_course.train import make_config
    from unet_course.train.sources import load_split
    data = synthetic_dataset(2, 96, seed=5)
    for i in range(2):
        write_image(tmp_path / "images" / f"im{i}.png", (data.image[i] * 255).astype(np.uint8))
        write_image(tmp_path / "labels" / f"im{i}.png", (data.mask[i] + 1).astype(np.uint8))
    cfg = make_config("cpu", data=str(tmp_path), base_channels=4, tile=188, batch=2, val_fraction=0.5)
    split = load_split(cfg)
    val = int(split.description.split("validation: im")[1][0])
    assert np.array_equal(split.val_instances[0], read_label(tmp_path / "labels" / f"im{val}.png").instances)
    assert np.array_equal(split.val_instances[0] > 0, data.mask[val])   # 2 = cell, as evaluate
    assert "2 = cell and 1 = background" in capsys.readouterr().out
    one_valued = tmp_path / "labels" / "im0.png"
    write_image(one_valued, np.full((96, 96), 255, np.uint8))
    message = f"{one_valued}: every pixel has the value 255"
    with pytest.raises(ValueError, match=message):
        load_split(cfg)
    write_image(tmp_path / "im0_prob.tif", np.ones((96, 96), np.float32))
    assert evaluate([str(tmp_path / "im0_prob.tif"), str(one_valued),
                     "--csv", str(tmp_path / "s.csv")]) == 2
    assert message in capsys.readouterr().err


def test_the_metrics_refuse_a_label_without_0_that_label_gt_0_would_read_as_all_cell():
    from unet_course.metrics import pixel_error
    label = two_cells(2, 1)
    with pytest.raises(ValueError, match="1 and 2, none of them 0.*as_label"):
        pixel_error((label == 2).astype(np.float32), label)
    assert pixel_error((label == 2).astype(np.float32), as_label(label).mask) == 0
