"""``python -m unet_course.evaluate PRED LABELS``: the ISBI 2012 metrics on your files.

    python -m unet_course.evaluate predictions/ labels/                 # folders, matched by name
    python -m unet_course.evaluate 07_prob.png 07.png --csv scores.csv  # one pair of files

PRED: cell probabilities (PNG 8/16-bit scaled to [0, 1], or float TIFF in [0, 1]); the
``NAME_prob`` files that ``python -m unet_course.predict`` writes are matched to ``NAME``.
LABELS: ground truth, binary (0 = membrane/background, > 0 = cell, as the ISBI labels) or
instance ids (touching cells are then separated by a one-pixel line for the ISBI metrics).

Prints a table and writes a CSV (default ``evaluation.csv``) with one row per image and an
``overall`` row: the stack scores as the challenge computed them (one threshold for all
images). One unreadable or mismatched file is reported and skipped (exit status 1); bad
options or unusable folders end with one line ``error: <reason>`` (exit status 2).
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

import numpy as np

from .cli import Parser

__all__ = ["COLUMNS", "evaluate_pairs", "find_pairs", "main"]

COLUMNS = ("image", "pixel_error", "rand_error", "warping_error", "foreground_iou",
           "precision", "recall", "f1", "merged", "split", "rand_threshold",
           "warping_threshold", "classic_warping_error")


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m unet_course.evaluate",
                description="Score cell probability maps against labels with the ISBI 2012 "
                            "challenge's pixel, Rand and warping errors, plus IoU and cell "
                            "matching (precision, recall, F1, merged and split cells).")
    p.add_argument("pred", help="probability map file, or a folder of them")
    p.add_argument("labels", help="label file, or a folder with the same names")
    p.add_argument("--csv", default="evaluation.csv", help="CSV to write (default evaluation.csv)")
    p.add_argument("--threshold", type=float, default=0.5,
                   help="threshold for pixel error, IoU and cell matching (default 0.5); the "
                        "Rand and warping errors take the best of 0.0, 0.1, ..., 0.9")
    return p


def find_pairs(pred: Path, labels: Path) -> list[tuple[Path, Path]]:
    """(prediction, label) files: two files, or two folders matched by name (NAME_prob ->
    NAME for the files ``python -m unet_course.predict`` writes)."""
    from .data import list_images, pair_by_name
    if pred.is_file() and labels.is_file():
        return [(pred, labels)]
    if pred.is_dir() and labels.is_dir():
        preds = list_images(pred)
        probs = {p.stem[:-5]: p for p in preds if p.stem.endswith("_prob")}
        if not probs:
            return pair_by_name(pred, labels)
        truth = {p.stem: p for p in list_images(labels)}
        missing = sorted(probs.keys() - truth.keys())
        if missing:
            raise ValueError(f"{len(missing)} predictions in {pred} without a label in {labels} "
                             f"({', '.join(missing[:5])}); files are matched by name")
        return [(probs[k], truth[k]) for k in sorted(probs)]
    for path in (pred, labels):
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or folder")
    raise ValueError(f"give two files or two folders; got {pred} and {labels}")


def _read_pred(path: Path) -> np.ndarray:
    from .data import as_float_image, read_image
    image = read_image(path)
    if image.ndim != 2:
        raise ValueError(f"{path}: expected a one-channel probability map, got shape {image.shape}")
    return as_float_image(image, str(path))


def _read_label(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(binary cell mask, cell instances) of a label file."""
    from scipy import ndimage as ndi
    from .data import read_image
    label = read_image(path)
    if label.ndim != 2 or not np.issubdtype(label.dtype, np.integer):
        raise ValueError(f"{path}: labels must be one-channel integer images, got "
                         f"{label.dtype} {label.shape}")
    if np.unique(label).size <= 2:
        mask = label > 0
        return mask, ndi.label(mask, structure=ndi.generate_binary_structure(2, 1))[0]
    mask = label > 0  # instances: cut a one-pixel line where two cells touch
    mask[:-1] &= ~((label[:-1] != label[1:]) & (label[1:] > 0))
    mask[:, :-1] &= ~((label[:, :-1] != label[:, 1:]) & (label[:, 1:] > 0))
    return mask, label.astype(np.int64)


def evaluate_pairs(pairs, threshold: float = 0.5, errors=None) -> list[dict]:
    """Score each (pred, label) file pair; failures go to ``errors`` as (name, reason)."""
    from scipy import ndimage as ndi
    from .metrics import match_instances
    from .metrics.isbi import _best, slice_counts
    rows, counts = [], []
    for pred_path, label_path in pairs:
        try:
            pred = _read_pred(pred_path)
            mask, truth = _read_label(label_path)
            if pred.shape != mask.shape:
                raise ValueError(f"prediction {pred.shape} and label {mask.shape} differ in size")
            c = slice_counts(pred, mask)
            c["pixel_error"] = float(np.mean((pred > threshold) != mask))
            found = ndi.label(pred > threshold, structure=ndi.generate_binary_structure(2, 1))[0]
            m = match_instances(found, truth)
        except (ValueError, FileNotFoundError) as error:
            if errors is None:
                raise
            errors.append((label_path.stem, str(error)))
            continue
        counts.append((c, m))
        rows.append({"image": label_path.stem, **_best([c]), **_instance_columns([m])})
    if counts:
        rows.append({"image": "overall", **_best([c for c, _ in counts]),
                     **_instance_columns([m for _, m in counts])})
    return rows


def _instance_columns(matches) -> dict:
    matched = sum(m.matched for m in matches)
    n_pred, n_true = sum(m.predicted for m in matches), sum(m.true for m in matches)
    precision = matched / n_pred if n_pred else float(n_true == 0)
    recall = matched / n_true if n_true else float(n_pred == 0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1,
            "merged": sum(m.merged for m in matches), "split": sum(m.split for m in matches)}


def _fmt(value) -> str:
    if isinstance(value, (int, np.integer)) or isinstance(value, str):
        return str(value)
    return f"{value:.6g}"


def write_csv(path: Path, rows) -> Path:
    from .data.files import temp_file
    handle, tmp = temp_file(path)
    with os.fdopen(handle, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({k: _fmt(r[k]) for k in COLUMNS} for r in rows)
    os.replace(tmp, path)
    return path


def table(rows) -> str:
    shown = COLUMNS[:10]
    cells = [[_fmt(r[k]) if k == "image" else _fmt(r[k])[:9] for k in shown] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(shown)]
    line = lambda items: "  ".join(s.ljust(w) for s, w in zip(items, widths))  # noqa: E731
    return "\n".join([line(shown)] + [line(c) for c in cells])


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if not 0 <= args.threshold < 1:
        parser().error(f"--threshold must be in [0, 1), got {args.threshold}")
    try:
        pairs = find_pairs(Path(args.pred), Path(args.labels))
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    errors: list[tuple[str, str]] = []
    rows = evaluate_pairs(pairs, args.threshold, errors)
    if rows:
        print(table(rows))
        print(f"wrote {write_csv(Path(args.csv), rows)}")
    for name, reason in errors:
        print(f"error: {name}: {reason}", file=sys.stderr)
    if not rows:
        print("error: no image could be scored", file=sys.stderr)
        return 2
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
