"""``python -m unet_course.evaluate PRED LABELS``: the paper's metrics (Sec. 4) on your files.

    python -m unet_course.evaluate predictions/ labels/                 # folders, matched by name
    python -m unet_course.evaluate 07_prob.png 07.png --csv scores.csv  # one pair of files
    python -m unet_course.evaluate predictions/ labels/ --pred-kind labels   # predict's NAME_labels
    python -m unet_course.evaluate predictions/ data/labels/ --model runs/x/model.pt

PRED holds cell probability maps or instance labellings; each file's kind is decided on its
own (``prediction_kind``), in this order:

1. ``--pred-kind prob`` or ``labels`` decides for every file;
2. the name: ``NAME_prob`` (``python -m unet_course.predict``'s p(cell)) is a probability map,
   ``NAME_labels`` (its instances, e.g. with ``--split-borders``) an instance labelling;
3. the pixels: float in [0, 1] or bool is a probability map; an integer image with one
   non-zero value is a mask (that value = cell); an integer image with two or more ids, each
   id one connected region (at most 10 % more regions than ids) and the median id at least 4
   pixels, is an instance labelling; any other 8/16-bit image is a probability map scaled by
   255/65535, unless it looks like a raw microscope image: more than half of its pixels
   between 0.1 and 0.9, or none above 0.1 (a model's p(cell) is mostly near 0 or 1);
4. anything else (colour images, float outside [0, 1], raw-looking images, other integer
   types) is refused with one line naming the file and what was expected.

In a folder with both of predict's files, ``NAME_prob`` is scored, or ``NAME_labels`` with
``--pred-kind labels``; either is matched to the label ``NAME``. LABELS are read by the ONE rule
of ``train`` too (``unet_course.data.read_label``): a binary mask of any two values (the larger
= cell, as the ISBI labels' 255; ``{1, 2}`` with a printed note) or instance ids (0 =
background); cells of binary labels are their 4-connected components, and touching instances
are cut apart by a one-pixel line for the ISBI metrics. A one-valued label other than all 0
(no cells) could mean all cell or none and is refused, naming the file.

Scores (CSV columns, one row per image, an ``overall`` row for all images):

- pixel_error, rand_error, warping_error: the ISBI 2012 errors (``unet_course.metrics``), each
  at its best threshold of 0.0, 0.1, ..., 0.9 (pixel_threshold, rand_threshold,
  warping_threshold); ``overall`` uses one threshold for all images, as the challenge did;
- seg: the cell tracking challenge's SEG (Table 2), over all reference cells in ``overall``;
- foreground_iou (in the ``overall`` and ``held-out`` rows the mean of the images' IoUs, not
  their pixels pooled as in training's val_iou), misclassification_rate (the share of wrong
  pixels; not the ISBI pixel error) and the cell matching
  (precision, recall, f1, merged, split; IoU > 0.5) at ``--threshold``: a probability map's
  cells are the 4-connected components of p > threshold; an instance labelling is scored as
  it is (its ISBI errors on its foreground, cut between touching cells), whatever the threshold;
- kind (prob or labels); trained_on (yes/no, with ``--model``): whether the image was one the
  model trained on; then a ``held-out`` row scores the others alone.

One unreadable or mismatched file is reported and skipped (exit status 1); bad options or
unusable folders end with one line ``error: <reason>`` (exit status 2).
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

import numpy as np

from .cli import Parser

__all__ = ["COLUMNS", "evaluate_pairs", "find_pairs", "prediction_kind", "training_names",
           "main"]

COLUMNS = ("image", "kind", "pixel_error", "rand_error", "warping_error", "seg",
           "foreground_iou", "misclassification_rate", "precision", "recall", "f1", "merged",
           "split", "pixel_threshold", "rand_threshold", "warping_threshold",
           "classic_warping_error", "trained_on")
SHOWN = ("image", "kind", "pixel_error", "rand_error", "warping_error", "seg", "foreground_iou",
         "f1", "merged", "split", "trained_on")
SUFFIXES = {"prob": "_prob", "labels": "_labels"}


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m unet_course.evaluate",
                description="Score cell probability maps or instance labellings against labels "
                            "with the ISBI 2012 challenge's pixel, Rand and warping errors, the "
                            "cell tracking challenge's SEG, IoU and cell matching (precision, "
                            "recall, F1, merged and split cells).",
                epilog="Kinds of PRED files (--pred-kind auto): NAME_prob = probabilities and "
                       "NAME_labels = instances (predict's files); else float or bool = "
                       "probabilities; integer ids that each form one region = instances; one "
                       "non-zero value = a mask; other 8/16-bit images = probabilities scaled by "
                       "255/65535, refused as raw images when most pixels lie between 0.1 and "
                       "0.9 or none is above 0.1.")
    p.add_argument("pred", help="prediction file (probability map or instance labelling), or a "
                                "folder of them")
    p.add_argument("labels", help="label file, or a folder with the same names")
    p.add_argument("--csv", default="evaluation.csv", help="CSV to write (default evaluation.csv)")
    p.add_argument("--threshold", type=float, default=0.5,
                   help="p(cell) above which a pixel is a cell for IoU, misclassification rate "
                        "and cell matching (default 0.5); the pixel, Rand and warping errors "
                        "take the best of 0.0, 0.1, ..., 0.9")
    p.add_argument("--pred-kind", choices=("auto", "prob", "labels"), default="auto",
                   help="what the predictions are: probability maps, instance labellings, or "
                        "auto (default: by name, then by pixels; see below)")
    p.add_argument("--model", metavar="MODEL.pt",
                   help="the model that made the predictions: images it trained on are marked "
                        "(trained_on) and a held-out row scores the others")
    return p


def find_pairs(pred: Path, labels: Path, kind: str = "auto") -> list[tuple[Path, Path]]:
    """(prediction, label) files: two files, or two folders matched by name (``NAME_prob`` or,
    with ``kind="labels"``, ``NAME_labels`` -> ``NAME`` for ``python -m unet_course.predict``'s
    files)."""
    from .data import list_images, pair_by_name
    if pred.is_file() and labels.is_file():
        return [(pred, labels)]
    if pred.is_dir() and labels.is_dir():
        suffix = SUFFIXES["labels" if kind == "labels" else "prob"]
        preds = list_images(pred)
        named = {p.stem[:-len(suffix)]: p for p in preds if p.stem.endswith(suffix)}
        if not named:
            return pair_by_name(pred, labels)
        truth = {p.stem: p for p in list_images(labels)}
        missing = sorted(named.keys() - truth.keys())
        if missing:
            raise ValueError(f"{len(missing)} predictions in {pred} without a label in {labels} "
                             f"({', '.join(missing[:5])}); files are matched by name")
        return [(named[k], truth[k]) for k in sorted(named)]
    for path in (pred, labels):
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or folder")
    raise ValueError(f"give two files or two folders; got {pred} and {labels}")


def prediction_kind(image: np.ndarray, path: Path, kind: str = "auto"):
    """("prob", float32 p(cell) in [0, 1]) or ("labels", int64 instances) for one prediction
    file's pixels, by the rule of the module's docstring; ValueError naming the file else."""
    from .data import as_float_image, instance_like
    expected = ("expected a probability map (float in [0, 1], or 8/16-bit scaled) or an "
                "instance labelling (integer ids, 0 = background)")
    if image.ndim != 2:
        raise ValueError(f"{path}: {image.shape[-1]} channels (a colour image: the raw image or "
                         f"an overlay?); {expected}")
    if kind == "auto":  # predict's names first
        kind = next((k for k, end in SUFFIXES.items() if path.stem.endswith(end)), "auto")
    if kind == "labels" or (kind == "auto" and np.issubdtype(image.dtype, np.integer)
                            and instance_like(image)):
        if not np.issubdtype(image.dtype, np.integer) or image.min() < 0:
            raise ValueError(f"{path}: an instance labelling must hold non-negative integer "
                             f"ids, got {image.dtype} values in [{image.min():g}, "
                             f"{image.max():g}]")
        return "labels", image.astype(np.int64)
    if kind == "auto" and np.issubdtype(image.dtype, np.integer) and image.min() >= 0 \
            and np.unique(image[image > 0]).size <= 1:
        return "prob", (image > 0).astype(np.float32)          # a mask, whatever its value
    if np.issubdtype(image.dtype, np.integer) and image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"{path}: {image.dtype} pixels that are not an instance labelling "
                         f"(ids that each form one region); {expected}")
    try:
        prob = as_float_image(image, str(path))
    except ValueError as error:
        raise ValueError(f"{error}; {expected}") from None
    if prob.size and (prob.min() < 0 or prob.max() > 1):  # raw intensities, not p(cell)
        raise ValueError(f"{path}: float images must lie in [0, 1] to be probabilities, got "
                         f"values in [{prob.min():.4g}, {prob.max():.4g}]; {expected}")
    if kind == "auto":
        _refuse_raw(prob, path)
    return "prob", prob


def _refuse_raw(prob: np.ndarray, path: Path) -> None:
    undecided = float(np.mean((prob > 0.1) & (prob < 0.9)))
    if undecided > 0.5 or prob.max() <= 0.1:
        why = (f"{undecided:.0%} of its pixels lie between 0.1 and 0.9" if undecided > 0.5 else
               f"no pixel is above 0.1 of full scale (max {prob.max():.3g})")
        raise ValueError(f"{path}: looks like a raw microscope image, not a probability map: "
                         f"{why}, while a model's p(cell) is mostly near 0 or 1. Give "
                         f"predict's NAME_prob files, or --pred-kind prob to score it anyway")


def _score_one(pred_path: Path, label_path: Path, threshold: float, kind: str):
    """(row, ISBI counts, InstanceMatch, SEG Jaccards) of one pair of files."""
    from scipy import ndimage as ndi
    from .data import cut_touching, read_image, read_label
    from .metrics import match_instances, seg_jaccards
    from .metrics.isbi import slice_counts, stack_scores
    kind, pred = prediction_kind(read_image(pred_path), pred_path, kind)
    mask, truth, note = read_label(label_path)
    if note:
        print(f"note: {note}", flush=True)
    if pred.shape != mask.shape:
        raise ValueError(f"prediction {pred.shape} and label {mask.shape} differ in size")
    if kind == "labels":
        found, prob = pred, cut_touching(pred).astype(np.float32)
    else:
        found = ndi.label(pred > threshold, structure=ndi.generate_binary_structure(2, 1))[0]
        prob = pred
    counts = slice_counts(prob, mask, threshold=threshold)
    match, jaccards = match_instances(found, truth), seg_jaccards(found, truth)
    row = {"image": label_path.stem, "kind": kind, **stack_scores([counts]),
           **_instance_columns([match], [jaccards])}
    return row, counts, match, jaccards


def evaluate_pairs(pairs, threshold: float = 0.5, errors=None, kind: str = "auto",
                   trained=None) -> list[dict]:
    """Score each (pred, label) file pair; failures go to ``errors`` as (name, reason).
    ``trained``: names of training images (``training_names``) to mark, or None."""
    from .metrics.isbi import stack_scores
    rows, scored = [], []
    for pred_path, label_path in pairs:
        try:
            row, *parts = _score_one(pred_path, label_path, threshold, kind)
        except (ValueError, FileNotFoundError) as error:
            if errors is None:
                raise
            errors.append((label_path.stem, str(error)))
            continue
        row["trained_on"] = "" if trained is None else ("yes" if row["image"] in trained else "no")
        rows.append(row)
        scored.append((row, *parts))
    groups = [("overall", scored)]
    held_out = [s for s in scored if s[0]["trained_on"] == "no"]
    if trained is not None and held_out and len(held_out) < len(scored):
        groups.append(("held-out", held_out))
    for name, group in groups if scored else []:
        kinds = sorted({r["kind"] for r, *_ in group})
        marked = sum(r["trained_on"] == "yes" for r, *_ in group)
        rows.append({"image": name, "kind": "+".join(kinds),
                     **stack_scores([c for _, c, _, _ in group]),
                     **_instance_columns([m for *_, m, _ in group], [j for *_, j in group]),
                     "trained_on": "" if trained is None else f"{marked} of {len(group)}"})
    return rows


def _instance_columns(matches, jaccards) -> dict:
    matched = sum(m.matched for m in matches)
    n_pred, n_true = sum(m.predicted for m in matches), sum(m.true for m in matches)
    precision = matched / n_pred if n_pred else float(n_true == 0)
    recall = matched / n_true if n_true else float(n_pred == 0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    j = np.concatenate(jaccards)
    return {"seg": float(j.mean()) if j.size else float("nan"), "precision": precision,
            "recall": recall, "f1": f1, "merged": sum(m.merged for m in matches),
            "split": sum(m.split for m in matches)}


def training_names(model_path) -> set[str]:
    """Names (file stems) of the images a model trained on, from its config: ``train_names``
    if the model has it; else the split of ``python -m unet_course.train`` (ISBI 2012: slices
    00-24; a folder: all pairs but the ``val_fraction`` drawn from the seed, as
    ``train.sources`` draws them; synthetic cells: none of your files)."""
    from .checkpoint import load_model
    config = load_model(model_path).config
    if "train_names" in config:
        return set(config["train_names"])
    data = config.get("data")
    if data == "synthetic":
        return set()
    if data == "isbi2012":
        return {f"{i:02d}" for i in range(25)}
    if data is None or not (Path(data) / "images").is_dir():
        raise ValueError(f"{model_path}: cannot tell which images the model trained on (its "
                         f"config names the data {data!r}, which is not a folder with images/ "
                         f"from here; run from where it was trained, or leave out --model)")
    from .data import pair_by_name
    pairs = pair_by_name(Path(data) / "images", Path(data) / "labels")
    order = np.random.default_rng(config.get("seed", 0)).permutation(len(pairs))
    n_val = max(1, int(round(config.get("val_fraction", 0.2) * len(pairs))))
    return {pairs[i][0].stem for i in order[n_val:]}


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
    shown = [k for k in SHOWN if k != "trained_on" or any(r["trained_on"] for r in rows)]
    cells = [[_fmt(r[k]) if k in ("image", "trained_on") else _fmt(r[k])[:9] for k in shown]
             for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(shown)]
    line = lambda items: "  ".join(s.ljust(w) for s, w in zip(items, widths))  # noqa: E731
    return "\n".join([line(shown)] + [line(c) for c in cells])


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if not 0 <= args.threshold < 1:
        parser().error(f"--threshold must be in [0, 1), got {args.threshold}")
    try:
        pairs = find_pairs(Path(args.pred), Path(args.labels), args.pred_kind)
        trained = training_names(args.model) if args.model else None
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    errors: list[tuple[str, str]] = []
    rows = evaluate_pairs(pairs, args.threshold, errors, args.pred_kind, trained)
    if rows:
        print(table(rows))
        marked = [r["image"] for r in rows if r["trained_on"] == "yes"]
        if marked:
            print(f"note: {len(marked)} image(s) were training images of {args.model} "
                  f"(trained_on = yes): {', '.join(marked[:8])}{', ...' if len(marked) > 8 else ''}"
                  f"; their scores say little about new images")
        print(f"wrote {write_csv(Path(args.csv), rows)}")
    for name, reason in errors:
        print(f"error: {name}: {reason}", file=sys.stderr)
    if not rows:
        print("error: no image could be scored", file=sys.stderr)
        return 2
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
