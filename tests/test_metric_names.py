"""One meaning per metric name: "pixel error" is the ISBI challenge's (1 - the best F-score of
the cell pixels, ``unet_course.metrics.pixel_error``); the share of wrong pixels at 0.5 is the
"misclassification rate" in every output, label and column of the training code."""
import ast
import csv
from pathlib import Path

import pytest

from unet_course.train import __main__ as train_cli
from unet_course.train import log, plot

ROOT = Path(__file__).resolve().parents[1]
OLD_NAMES = set(log.RENAMED)  # the old column names, kept only to read old files


def _strings(path: Path):
    """The string constants of a module, docstrings left out (they may say what a name is not)."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
            and isinstance(n.value, str) and id(n) not in docstrings and n.value not in OLD_NAMES]


@pytest.mark.parametrize("path", sorted((ROOT / "unet_course" / "train").glob("*.py"))
                         + [ROOT / "benchmarks" / "bench_train.py"], ids=lambda p: p.name)
def test_training_code_never_names_its_misclassification_rate_pixel_error(path):
    """Training validates with the share of wrong pixels at 0.5 only: no printed line, label
    or column of it may say pixel error."""
    said = [s for s in _strings(path) if "pixel error" in s.lower() or "pixel_error" in s]
    assert not said, said


def test_columns_labels_and_keys_name_the_misclassification_rate():
    assert "val_misclassification_rate" in log.COLUMNS
    assert dict(plot.SCORES)["val_misclassification_rate"].startswith("misclassification rate")
    assert not [c for c in log.COLUMNS if "pixel_error" in c]
    with open(ROOT / "benchmarks" / "results" / "bench_train.csv", newline="") as f:
        header = next(csv.reader(f))
    assert "val_misclassification_rate" in header and "val_pixel_error" not in header


def test_the_train_commands_last_line_and_plot_say_misclassification_rate(tmp_path, capsys):
    assert train_cli.main(["--steps", "2", "--base", "4", "--tile", "188", "--train-images", "2",
                           "--val-images", "1", "--image-size", "96", "--no-progress",
                           "--threads", "1", "--out", str(tmp_path)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert "misclassification rate" in last and "pixel error" not in last, last
    assert "foreground IoU (pixels pooled)" in last, last
    fig = plot.draw(plot.read_metrics(tmp_path / "metrics.csv"))
    legend = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("misclassification rate") for t in legend), legend
    assert not [t for t in legend if "pixel error" in t], legend

