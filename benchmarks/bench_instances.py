"""Instances from p(cell): the old rules of ``predict`` against the new one, on held-out images.

    python benchmarks/bench_instances.py                      # the course model (cached)
    python benchmarks/bench_instances.py --train-minutes 1    # a 1-minute cpu-preset run
    python benchmarks/bench_instances.py --model runs/mine/model.pt --name mine

A trained model predicts 8 synthetic images it never saw (``synthetic_dataset(8, 256,
seed=777)``; training uses seeds 0 and 10**6 + 0), then each rule turns p(cell) into cells,
scored against the true cells with ``unet_course.metrics.match_instances`` (IoU >= 0.5):

- ``components (old)``: 4-connected components of p >= 0.5, nothing removed;
- ``split-borders (old)``: seeds = components of p >= 0.75, watershed of 1 - p;
- ``components``: ``instances_from_probability`` (p > 0.5, specks under --min-size removed,
  small holes filled);
- ``split-borders``: the same with ``split_borders=True`` (h-maxima seeds, watershed).

The default model is the course's (``unet_course.train.course_model``: the cpu preset,
100 steps, about a minute on one thread the first time, then cached); ``--train-minutes M``
trains one with ``python -m unet_course.train --preset cpu --minutes M --threads 1`` (an
under-trained model: the speckled case). Each run replaces the rows of its model name in
``benchmarks/results/instances.csv``. 15 s of CPU once the model exists (OMP_NUM_THREADS=1).
"""
from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "instances.csv"
FIELDS = ("model", "rule", "images", "true_cells", "labels", "specks_lt20", "precision",
          "recall", "f1", "merged", "split", "seconds")
HELD_OUT_SEED = 777


def old_instances(prob, threshold=0.5, split_borders=False):
    """predict.instances before this benchmark (kept here as the reference)."""
    from scipy import ndimage
    from skimage.segmentation import watershed
    four = ndimage.generate_binary_structure(2, 1)
    mask = prob >= threshold
    if not split_borders:
        return ndimage.label(mask, structure=four)[0].astype(np.int32)
    seeds = ndimage.label(prob >= (1 + threshold) / 2, structure=four)[0]
    labels = watershed(1 - prob, markers=seeds, mask=mask, connectivity=1)
    rest = ndimage.label(mask & (labels == 0), structure=four)[0]
    labels[rest > 0] = rest[rest > 0] + labels.max()
    return labels.astype(np.int32)


def rules(min_size):
    from unet_course.predict import instances_from_probability as new
    return {"components (old)": lambda p: old_instances(p),
            "split-borders (old)": lambda p: old_instances(p, split_borders=True),
            "components": lambda p: new(p, min_size=min_size),
            "split-borders": lambda p: new(p, min_size=min_size, split_borders=True)}


def score(rule, probs, truths) -> dict:
    from unet_course.metrics import match_instances
    start, labelings = time.process_time(), [rule(p) for p in probs]
    seconds = time.process_time() - start
    total = dict(labels=0, specks_lt20=0, matched=0, predicted=0, true_cells=0, merged=0, split=0)
    for labels, truth in zip(labelings, truths):
        sizes = np.bincount(labels.ravel())[1:]
        sizes = sizes[sizes > 0]
        m = match_instances(labels, truth)
        total["labels"] += sizes.size
        total["specks_lt20"] += int((sizes < 20).sum())
        for key in ("matched", "predicted", "merged", "split"):
            total[key] += getattr(m, key)
        total["true_cells"] += m.true
    precision = total["matched"] / max(total["predicted"], 1)
    recall = total["matched"] / max(total["true_cells"], 1)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"images": len(probs), "true_cells": total["true_cells"], "labels": total["labels"],
            "specks_lt20": total["specks_lt20"], "precision": f"{precision:.3f}",
            "recall": f"{recall:.3f}", "f1": f"{f1:.3f}", "merged": total["merged"],
            "split": total["split"], "seconds": f"{seconds:.2f}"}


def write_rows(rows: list[dict], path: Path = RESULTS) -> None:
    """Replace the rows of the same model name; atomic, readable as a plain write."""
    from unet_course.data.files import temp_file
    old = []
    if path.exists():
        with open(path) as f:
            old = list(csv.DictReader(f))
    names = {r["model"] for r in rows}
    handle, tmp = temp_file(path, suffix=".csv")
    with os.fdopen(handle, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows([r for r in old if r["model"] not in names] + rows)
    os.replace(tmp, path)


def train_minutes(minutes: float, out: Path) -> Path:
    """The course's command, cpu preset, one thread, for `minutes`; returns model.pt."""
    subprocess.run([sys.executable, "-m", "unet_course.train", "--preset", "cpu", "--minutes",
                    str(minutes), "--threads", "1", "--no-progress", "--out", str(out)],
                   check=True, cwd=ROOT)
    return out / "model.pt"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help="a model file (default: the course model, cached)")
    p.add_argument("--train-minutes", type=float, help="train a cpu-preset model this long")
    p.add_argument("--name", default=None, help="the rows' model name (default: course_model "
                                                "or the file's folder name)")
    p.add_argument("--min-size", type=int, default=None, help="default: predict.MIN_SIZE")
    p.add_argument("--out", type=Path, default=RESULTS)
    a = p.parse_args(argv)
    import torch
    from unet_course.data import synthetic_dataset
    from unet_course.predict import MIN_SIZE
    from unet_course.tiling import predict_tiled
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    if a.model or a.train_minutes:
        from unet_course.checkpoint import load_model
        with tempfile.TemporaryDirectory() as work:
            path = Path(a.model) if a.model else train_minutes(a.train_minutes, Path(work))
            model = load_model(path)
        steps = model.config.get("steps_done", "?")
        name = a.name or (f"cpu_{a.train_minutes:g}min_{steps}steps" if a.train_minutes
                          else path.parent.name)
    else:
        from unet_course.train import course_model
        model, name = course_model(progress=False), a.name or "course_model"
    data = synthetic_dataset(8, 256, seed=HELD_OUT_SEED)
    probs = [predict_tiled(model, image, progress=False)[1] for image in data.image]
    min_size = a.min_size or MIN_SIZE
    rows = []
    print(f"{name}: 8 held-out synthetic images (seed {HELD_OUT_SEED}), min_size {min_size}")
    print(f"{'rule':>20} " + " ".join(f"{k:>11}" for k in FIELDS[3:]))
    for rule, fn in rules(min_size).items():
        row = {"model": name, "rule": rule, **score(fn, probs, data.instances)}
        rows.append(row)
        print(f"{rule:>20} " + " ".join(f"{row[k]!s:>11}" for k in FIELDS[3:]))
    write_rows(rows, a.out)
    print("wrote", a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
