"""benchmarks/bench_isbi.py's file handling and scoring: rows keyed by what they measure and
where, old rows readable, the --wide thresholds never changing the challenge's columns."""
import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage as ndi

from unet_course.metrics import isbi_scores

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("bench_isbi", ROOT / "benchmarks" / "bench_isbi.py")
bench_isbi = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_isbi)


def test_the_committed_file_has_every_column_and_one_row_per_key():
    rows = bench_isbi.read_rows(bench_isbi.RESULTS)
    with open(bench_isbi.RESULTS, newline="") as f:
        assert tuple(next(csv.reader(f))) == bench_isbi.FIELDS
    keys = [bench_isbi.row_key(r) for r in rows]
    assert len(keys) == len(set(keys)), keys
    assert {r["batch_norm"] for r in rows} <= {"yes", "no"}
    for r in rows:  # every row names its machine and holds the three challenge errors
        assert r["hardware"].startswith(("CPU ", "GPU ")) and float(r["rand_error"]) > 0
        assert float(r["pixel_error"]) > 0 and float(r["warping_error"]) > 0


def test_old_rows_read_as_no_batch_norm_and_rows_of_other_machines_are_kept(tmp_path):
    path = tmp_path / "isbi.csv"
    old_fields = [f for f in bench_isbi.FIELDS if f != "batch_norm" and not f.endswith("_wide")]
    base = dict.fromkeys(old_fields, "")
    base.update(date="2026-12-04", preset="cpu", weight_map="off", minutes_budget="15.0",
                pixel_error="0.05", rand_error="0.18", warping_error="0.002",
                hardware="CPU AMD EPYC, 2 cores")
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, old_fields)
        writer.writeheader()
        writer.writerow(base)
    assert bench_isbi.read_rows(path)[0]["batch_norm"] == "no"
    new = {**base, "date": "2026-12-07", "batch_norm": "yes", "rand_error": "0.10"}
    bench_isbi.write_rows([new, {**new, "hardware": "CPU Intel(R) Xeon(R) Processor, 2 cores"}], path)
    rows = bench_isbi.read_rows(path)
    assert [(r["batch_norm"], r["hardware"][:8]) for r in rows] == [
        ("no", "CPU AMD "), ("yes", "CPU AMD "), ("yes", "CPU Inte")]
    bench_isbi.write_rows([{**new, "rand_error": "0.09"}], path)   # a rerun replaces its row
    rows = bench_isbi.read_rows(path)
    assert len(rows) == 3 and [r["rand_error"] for r in rows if r["batch_norm"] == "yes"] == ["0.10", "0.09"]


def _stack(seed):
    rng = np.random.default_rng(seed)
    label = np.ones((64, 64), bool)
    label[::16], label[:, ::16] = False, False        # a grid of cells behind 1-px membranes
    prob = ndi.gaussian_filter(label.astype(float), 1.5) + 0.2 * rng.normal(size=label.shape)
    return np.clip(prob, 0, 1).astype(np.float32), label


def test_wide_thresholds_leave_the_challenges_scores_as_isbi_scores_gives_them():
    probs, labels = zip(*(_stack(s) for s in (0, 1)))
    challenge, wide = bench_isbi.stack_scores_of(probs, labels, wide=True)
    _, reference = isbi_scores(probs, labels)
    assert challenge == pytest.approx(reference)
    assert wide["rand_error"] <= challenge["rand_error"]          # a superset of thresholds
    assert wide["warping_error"] <= challenge["warping_error"]
    assert bench_isbi.stack_scores_of(probs, labels)[1] is None
