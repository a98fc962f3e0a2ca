"""RESULTS.md, the one page of measurements, is what tools/results_page.py makes of
benchmarks/results/*.csv: up to date, every CSV on it, seeds aggregated and small groups
labelled, and --check fails on a stale page."""
import importlib.util
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def _tool():
    spec = importlib.util.spec_from_file_location("results_page", ROOT / "tools" / "results_page.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


results_page = _tool()


def test_results_md_is_what_the_csvs_give():
    page = (ROOT / "RESULTS.md").read_text()
    assert page == results_page.render(RESULTS), \
        "RESULTS.md is out of date with benchmarks/results/*.csv: run `make results`"


def test_every_csv_is_on_the_page():
    page = (ROOT / "RESULTS.md").read_text()
    for path in sorted(RESULTS.glob("*.csv")):
        assert f"`benchmarks/results/{path.name}`" in page, f"{path.name} is not on RESULTS.md"


def test_a_csv_without_a_section_is_an_error(tmp_path):
    shutil.copy(RESULTS / "tiling.csv", tmp_path / "tiling.csv")
    (tmp_path / "new_bench.csv").write_text("a,b\n1,2\n")
    with pytest.raises(SystemExit, match="no section for new_bench.csv"):
        results_page.render(tmp_path)


def test_check_fails_on_a_stale_page_and_passes_on_a_fresh_one(tmp_path, capsys):
    shutil.copy(RESULTS / "tiling.csv", tmp_path / "tiling.csv")
    page = tmp_path / "RESULTS.md"
    assert results_page.main(["--check"], directory=tmp_path, page=page) == 1     # missing
    assert results_page.main([], directory=tmp_path, page=page) == 0
    assert results_page.main(["--check"], directory=tmp_path, page=page) == 0
    page.write_text(page.read_text().replace("1.02-1.07", "1.01-1.07"))
    assert results_page.main(["--check"], directory=tmp_path, page=page) == 1
    assert "make results" in capsys.readouterr().err


def _runs(settings_and_scores):
    hardware = "CPU Test, 2 cores, 1 thread(s), no native bfloat16"
    return [{"date": f"2026-12-0{k + 1} 00:00", "kind": "synthetic_3min", "settings": s,
             "steps": "100", "train_seconds": "180", "steps_per_s": "0.5", "ratio": "",
             "val_iou": iou, "val_separated": sep,
             "val_pixel_error": "0.1", "threads": "1", "load_avg": "1.00", "hardware": hardware,
             "preset": "p"} for k, (s, iou, sep) in enumerate(settings_and_scores)]


def test_seeds_are_aggregated_and_small_groups_are_not_ranked():
    rows = _runs([("--minutes 3.0 --seed 0", "0.90", "0.90"), ("--minutes 3.0 --seed 1", "0.92", "0.94"),
                  ("--minutes 3.0 --seed 2", "0.91", "0.92"), ("--minutes 3.0 --lr 0.1", "0.95", "0.99")])
    text = results_page.synthetic_table(rows)
    three, single = [line for line in text.splitlines() if line.startswith("| --minutes")]
    assert "3 (seeds 0, 1, 2)" in three and "0.910 (0.900-0.920)" in three and "92.0 (90.0-94.0)" in three
    assert "met (mean)" in three
    assert "single run" in single and "not judged" in single and "met (mean)" not in single


def test_every_timed_row_names_its_cpu():
    """A figure without its CPU is what this page exists to prevent."""
    import csv
    columns = {"course_times.csv": "cpu", "tiling.csv": "cpu", "train_reported.csv": "cpu",
               "bench_train.csv": "hardware", "isbi.csv": "hardware", "transfer.csv": "machine",
               "models.csv": "machine"}
    for name, column in columns.items():
        with open(RESULTS / name, newline="") as f:
            for row in csv.DictReader(f):
                assert row[column].strip(), f"{name}: a row without its CPU: {row}"
