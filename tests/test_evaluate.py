"""python -m unet_course.evaluate on temporary folders: table, CSV, bad files, bad options."""
import csv
import subprocess
import sys

import numpy as np
import pytest
from scipy import ndimage as ndi

from unet_course.data import write_image
from unet_course.evaluate import main
from unet_course.metrics import (foreground_iou, isbi_scores, misclassification_rate,
                                 pixel_error, seg_score)


def label_image(seed):
    """Cells (255) separated by membranes (0), like an ISBI label."""
    rng = np.random.default_rng(seed)
    seeds = np.zeros((48, 48), int)
    seeds[rng.integers(0, 48, 9), rng.integers(0, 48, 9)] = np.arange(1, 10)
    from skimage.segmentation import find_boundaries, watershed
    regions = watershed(np.zeros((48, 48)), seeds)
    return np.where(find_boundaries(regions, mode="thick"), 0, 255).astype(np.uint8)


@pytest.fixture
def folders(tmp_path):
    pred, lab = tmp_path / "pred", tmp_path / "lab"
    for i in range(2):
        label = label_image(i)
        prob = ndi.gaussian_filter(label / 255.0, 1.0)
        write_image(pred / f"{i:02d}_prob.png", (prob * 65535).astype(np.uint16))
        write_image(lab / f"{i:02d}.png", label)
    return pred, lab


def rows_of(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_folders_give_a_table_and_csv_per_image_and_overall(folders, tmp_path, capsys):
    pred, lab = folders
    out = tmp_path / "scores.csv"
    assert main([str(pred), str(lab), "--csv", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "warping_error" in printed and "overall" in printed
    rows = rows_of(out)
    assert [r["image"] for r in rows] == ["00", "01", "overall"]
    labels = [np.asarray(label_image(i)) for i in range(2)]
    probs = [ndi.gaussian_filter(t / 255.0, 1.0) for t in labels]
    _, overall = isbi_scores([np.round(p * 65535) / 65535 for p in probs], labels)
    assert float(rows[-1]["warping_error"]) == pytest.approx(overall["warping_error"], rel=1e-5)
    assert float(rows[-1]["rand_error"]) == pytest.approx(overall["rand_error"], rel=1e-5)
    assert float(rows[-1]["pixel_error"]) == pytest.approx(overall["pixel_error"], rel=1e-5)
    assert float(rows[-1]["pixel_threshold"]) == pytest.approx(overall["pixel_threshold"])
    assert [r["kind"] for r in rows] == ["prob", "prob", "prob"]


def test_one_bad_file_does_not_lose_the_others(folders, tmp_path, capsys):
    pred, lab = folders
    (pred / "02_prob.png").write_bytes(b"not a png")
    write_image(lab / "02.png", label_image(2))
    out = tmp_path / "scores.csv"
    assert main([str(pred), str(lab), "--csv", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: 02:") and "02_prob.png" in err[0]
    assert [r["image"] for r in rows_of(out)] == ["00", "01", "overall"]


def test_a_pair_of_files_and_instance_labels(tmp_path):
    label = label_image(3)
    instances = ndi.label(label > 0)[0].astype(np.uint16)
    write_image(tmp_path / "p.tif", (label / 255.0).astype(np.float32))
    write_image(tmp_path / "t.png", instances)
    assert main([str(tmp_path / "p.tif"), str(tmp_path / "t.png"), "--csv", str(tmp_path / "s.csv")]) == 0
    row = rows_of(tmp_path / "s.csv")[0]
    assert float(row["warping_error"]) == 0 and float(row["f1"]) == 1


@pytest.mark.parametrize("args, message", [
    (["--threshold", "1.5"], "--threshold"),
    (["--nonsense"], "unrecognized"),
])
def test_bad_options_are_one_line(folders, capsys, args, message):
    pred, lab = folders
    with pytest.raises(SystemExit) as exit_:
        main([str(pred), str(lab)] + args)
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and message in err[0]


def test_unmatched_names_and_missing_paths(folders, tmp_path, capsys):
    pred, lab = folders
    (lab / "00.png").rename(lab / "zz.png")
    assert main([str(pred), str(lab), "--csv", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "00" in err[0] and "matched by name" in err[0]
    assert main([str(tmp_path / "nope"), str(lab)]) == 2
    assert "no such file" in capsys.readouterr().err


def test_command_line_help_runs():
    result = subprocess.run([sys.executable, "-m", "unet_course.evaluate", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "ISBI 2012" in result.stdout


# --- every thresholded column uses --threshold ----------------------------------------------

@pytest.mark.parametrize("threshold", [0.3, 0.7])
def test_the_threshold_applies_to_iou_misclassification_and_matching(folders, tmp_path, threshold):
    pred, lab = folders
    out = tmp_path / "s.csv"
    assert main([str(pred), str(lab), "--csv", str(out), "--threshold", str(threshold)]) == 0
    row = rows_of(out)[0]
    label = label_image(0)
    prob = np.round(ndi.gaussian_filter(label / 255.0, 1.0) * 65535) / 65535
    assert float(row["foreground_iou"]) == pytest.approx(foreground_iou(prob, label, threshold),
                                                         rel=1e-5)
    assert float(row["misclassification_rate"]) == pytest.approx(
        misclassification_rate(prob, label, threshold), rel=1e-5)
    assert float(row["pixel_error"]) == pytest.approx(pixel_error(prob, label), rel=1e-5)


def test_iou_differs_between_thresholds(folders, tmp_path):
    pred, lab = folders
    ious = []
    for th in ("0.2", "0.8"):
        assert main([str(pred), str(lab), "--csv", str(tmp_path / f"{th}.csv"), "--threshold", th]) == 0
        ious.append(rows_of(tmp_path / f"{th}.csv")[0]["foreground_iou"])
    assert ious[0] != ious[1]


# --- what was given: probabilities, instances, or neither ----------------------------------

def touching_cells():
    """Two square cells that touch along an edge, and a third apart (instances 1, 2, 3)."""
    inst = np.zeros((40, 40), np.uint16)
    inst[5:20, 5:15], inst[5:20, 15:25], inst[28:36, 28:36] = 1, 2, 3
    return inst


def test_an_instance_labelling_as_prediction_is_scored_as_instances(tmp_path):
    truth = touching_cells()
    write_image(tmp_path / "pred.png", truth)              # no _labels suffix: by its pixels
    write_image(tmp_path / "truth.png", truth)
    out = tmp_path / "s.csv"
    assert main([str(tmp_path / "pred.png"), str(tmp_path / "truth.png"), "--csv", str(out)]) == 0
    row = rows_of(out)[0]
    assert row["kind"] == "labels"
    assert (float(row["f1"]), float(row["seg"]), float(row["foreground_iou"])) == (1, 1, 1)
    assert float(row["pixel_error"]) == 0 and float(row["warping_error"]) == 0


def test_predicts_label_files_are_taken_with_pred_kind_labels(tmp_path):
    pred, lab = tmp_path / "pred", tmp_path / "lab"
    truth = touching_cells()
    write_image(lab / "a.png", truth)
    write_image(pred / "a_prob.png", np.where(truth > 0, 65535, 0).astype(np.uint16))
    write_image(pred / "a_labels.png", truth)              # e.g. predict --split-borders
    assert main([str(pred), str(lab), "--csv", str(tmp_path / "p.csv")]) == 0
    prob_row = rows_of(tmp_path / "p.csv")[0]
    assert prob_row["kind"] == "prob" and int(prob_row["merged"]) == 2   # p >= 0.5 joins 1 and 2
    assert main([str(pred), str(lab), "--csv", str(tmp_path / "l.csv"), "--pred-kind", "labels"]) == 0
    label_row = rows_of(tmp_path / "l.csv")[0]
    assert label_row["image"] == "a" and label_row["kind"] == "labels"
    assert int(label_row["merged"]) == 0 and float(label_row["f1"]) == 1
    assert float(label_row["seg"]) == 1 > float(prob_row["seg"])


def test_a_0_1_mask_is_a_mask_not_a_dark_probability_map(tmp_path):
    truth = touching_cells()
    mask = np.isin(truth, (1, 3)).astype(np.uint8)         # values 0 and 1
    write_image(tmp_path / "m.png", mask)
    write_image(tmp_path / "t.png", truth)
    assert main([str(tmp_path / "m.png"), str(tmp_path / "t.png"), "--csv", str(tmp_path / "s.csv")]) == 0
    row = rows_of(tmp_path / "s.csv")[0]
    assert row["kind"] == "prob" and float(row["recall"]) == pytest.approx(2 / 3)
    assert float(row["seg"]) == pytest.approx(seg_score(ndi.label(mask)[0], truth))


@pytest.mark.parametrize("make, message", [
    (lambda rng: (96 + 64 * ndi.gaussian_filter(rng.normal(size=(40, 40)), 2)).astype(np.uint8),
     "raw microscope image"),                                       # mid-grey EM-like
    (lambda rng: (rng.random((40, 40)) * 4000).astype(np.uint16), "no pixel is above 0.1"),
    (lambda rng: (rng.random((40, 40, 3)) * 255).astype(np.uint8), "3 channels"),
    (lambda rng: (rng.random((40, 40)) * 9 - 3).astype(np.float32), "float images must lie"),
])
def test_raw_images_and_other_files_are_refused_by_name(tmp_path, capsys, make, message):
    path = tmp_path / ("raw.tif" if make(np.random.default_rng(0)).dtype == np.float32 else "raw.png")
    write_image(path, make(np.random.default_rng(0)))
    write_image(tmp_path / "t.png", touching_cells())
    assert main([str(path), str(tmp_path / "t.png"), "--csv", str(tmp_path / "s.csv")]) == 2
    err = capsys.readouterr().err
    assert message in err and str(path) in err, err
    assert "expected" in err or "--pred-kind prob" in err, err
    assert not (tmp_path / "s.csv").exists()


def test_a_raw_image_can_still_be_scored_when_asked(tmp_path):
    raw = (96 + 64 * ndi.gaussian_filter(np.random.default_rng(0).normal(size=(40, 40)), 2))
    write_image(tmp_path / "raw.png", raw.astype(np.uint8))
    write_image(tmp_path / "t.png", touching_cells())
    assert main([str(tmp_path / "raw.png"), str(tmp_path / "t.png"), "--pred-kind", "prob",
                 "--csv", str(tmp_path / "s.csv")]) == 0


def test_a_raw_image_as_label_is_refused(tmp_path, capsys):
    raw = (96 + 64 * ndi.gaussian_filter(np.random.default_rng(0).normal(size=(40, 40)), 2))
    write_image(tmp_path / "p.png", touching_cells())
    write_image(tmp_path / "raw.png", raw.astype(np.uint8))
    assert main([str(tmp_path / "p.png"), str(tmp_path / "raw.png"), "--csv", str(tmp_path / "s.csv")]) == 2
    assert "raw.png" in capsys.readouterr().err


# --- images the model trained on are marked ------------------------------------------------

@pytest.fixture
def trained_folder(tmp_path, folders):
    """A training folder of five pairs, a model whose config names it, predictions of all."""
    from unet_course.checkpoint import save_model
    from unet_course.model import UNet
    data, pred = tmp_path / "data", tmp_path / "preds"
    for i in range(5):
        label = label_image(i)
        write_image(data / "images" / f"s{i}.png", label)
        write_image(data / "labels" / f"s{i}.png", label)
        write_image(pred / f"s{i}_prob.png", (ndi.gaussian_filter(label / 255.0, 1) * 65535).astype(np.uint16))
    model = save_model(UNet(base_channels=2, depth=1), tmp_path / "model.pt",
                       {"data": str(data), "seed": 3, "val_fraction": 0.4})
    return data, pred, model


def test_evaluate_marks_the_images_the_model_trained_on(trained_folder, tmp_path, capsys):
    from types import SimpleNamespace
    from unet_course.train.sources import _folder
    data, pred, model = trained_folder
    out = tmp_path / "s.csv"
    assert main([str(pred), str(data / "labels"), "--model", str(model), "--csv", str(out)]) == 0
    rows = rows_of(out)
    marks = {r["image"]: r["trained_on"] for r in rows[:5]}
    # the same split as python -m unet_course.train draws
    description = _folder(SimpleNamespace(data=str(data), seed=3, val_fraction=0.4))[4]
    validation = description.split("validation: ")[1].split(";")[0].split(", ")
    assert sorted(k for k, v in marks.items() if v == "no") == sorted(validation)
    assert len(validation) == 2 and rows[5]["image"] == "overall" and rows[5]["trained_on"] == "3 of 5"
    assert rows[6]["image"] == "held-out" and rows[6]["trained_on"] == "0 of 2"
    assert "3 image(s) were training images" in capsys.readouterr().out


def test_a_model_trained_elsewhere_is_an_error_not_a_silent_guess(trained_folder, tmp_path, capsys):
    import shutil
    data, pred, model = trained_folder
    shutil.move(str(data), str(tmp_path / "moved"))
    assert main([str(pred), str(tmp_path / "moved" / "labels"), "--model", str(model)]) == 2
    assert "cannot tell which images the model trained on" in capsys.readouterr().err
