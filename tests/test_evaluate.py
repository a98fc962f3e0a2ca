"""python -m unet_course.evaluate on temporary folders: table, CSV, bad files, bad options."""
import csv
import subprocess
import sys

import numpy as np
import pytest
from scipy import ndimage as ndi

from unet_course.data import write_image
from unet_course.evaluate import main
from unet_course.metrics import isbi_scores


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
