"""Lesson 10's comparison: every network on the SAME touching-cells task with ONE budget.

    python benchmarks/bench_models.py [--budget 150] [--jobs 2] [--out benchmarks/results/models.csv]

Trains, with the same data, tiles, augmentation (flips + the paper's elastic deformation),
optimiser (Adam, lr 1e-3, batches of 4 tiles) and the same CPU-time budget per model:

- U-Net (Fig. 1, valid convs, base 16, 252 -> 68 tiles), Eq. 1 WITH the weight map of Eq. 2;
- the same U-Net WITHOUT the weight map (every pixel weight 1; same separation-border targets);
- U-Net++ L4 (base 16, BCE + Dice with the weight map in its BCE term, deep supervision),
  evaluated full (L4) and pruned (L1-L3, the same weights);
- DeepLabV3+ (small, base 16, output stride 16, Eq. 1 with the weight map);
- Mask R-CNN (torchvision) only where torchvision works; otherwise the reason is printed.

Padded networks train on 128 tiles (loss on the central 112 px; a 256 tile costs U-Net++
about 4 s per step on one thread). Data: 24 synthetic 256x256 training images (seed 0), 8
held-out images (seed 10**6), as ``python -m unet_course.train`` splits them. Scores on the
held-out images from ``unet_course.metrics``: foreground IoU (p > 0.5, cell pixels pooled per
image), SEG (the cell tracking challenge's score of the paper's Table 2, over all held-out
cells), instance precision, recall and F1 at IoU > 0.5 with merged and split counts (cells =
4-connected components of the prediction). Times: process CPU time with ONE torch thread per model (``--jobs`` models run in
parallel processes), per training step and per whole 512x512 prediction (median of 3).
Written to a CSV (temp file + rename) that lesson 10 reads; never typed into the lesson.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

COLUMNS = ["model", "level", "params", "train_steps", "budget_cpu_s", "cpu_s_per_step",
           "cpu_s_per_512", "foreground_iou", "seg", "precision", "recall", "f1", "merged", "split",
           "cells", "threads", "torch", "machine"]
MODELS = ["unet_weight_map", "unet_no_weight_map", "unetpp", "deeplabv3plus", "maskrcnn"]


def data(train_images: int, val_images: int):
    from unet_course.data import synthetic_dataset
    train = synthetic_dataset(train_images, 256, seed=0)
    val = synthetic_dataset(val_images, 256, seed=10 ** 6)
    return list(train.image), list(train.instances), list(val.image), list(val.instances)


def build(name: str, mean: float, std: float):
    """(model, fit keyword arguments, weight map?) for one entry of MODELS."""
    from unet_course.after import DeepLabV3Plus, UNetPlusPlus
    from unet_course.model import he_init_
    from unet_course.normalize import StandardizedUNet
    if name.startswith("unet_"):
        model = StandardizedUNet(base_channels=16, depth=4, input_mean=mean, input_std=std)
        he_init_(model, 0)
        return model, dict(tile=252), name == "unet_weight_map"
    if name == "unetpp":
        return (UNetPlusPlus(base_channels=16, depth=4, input_mean=mean, input_std=std),
                dict(tile=128, loss="bce_dice", deep_supervision=True), True)
    return DeepLabV3Plus(base_channels=16, input_mean=mean, input_std=std), dict(tile=128), True


def scores(pred_instances, val_instances) -> dict:
    """Mean foreground IoU per image, SEG over all held-out cells, and instance matching
    (IoU > 0.5) summed over the held-out images; all from unet_course.metrics."""
    from unet_course.metrics import foreground_iou, match_instances, seg_jaccards
    ious, jaccards, matched, predicted, true, merged, split = [], [], 0, 0, 0, 0, 0
    for pred, label in zip(pred_instances, val_instances):
        ious.append(foreground_iou((pred > 0).astype(np.float32), (label > 0).astype(np.uint8)))
        jaccards.append(seg_jaccards(pred, label))
        m = match_instances(pred, label)
        matched, predicted, true = matched + m.matched, predicted + m.predicted, true + m.true
        merged, split = merged + m.merged, split + m.split
    precision, recall = matched / max(predicted, 1), matched / max(true, 1)
    return {"foreground_iou": float(np.mean(ious)), "seg": float(np.concatenate(jaccards).mean()),
            "precision": precision, "recall": recall,
            "f1": 2 * precision * recall / max(precision + recall, 1e-12),
            "merged": merged, "split": split, "cells": true}


def time_prediction(model, repeat: int = 3) -> float:
    from unet_course.after import predict_probabilities
    image = np.random.default_rng(0).random((512, 512), dtype=np.float32)
    predict_probabilities(model, image)  # warm-up
    times = []
    for _ in range(repeat):
        start = time.process_time()
        predict_probabilities(model, image)
        times.append(time.process_time() - start)
    return float(np.median(times))


def run_one(name: str, budget: float, n_train: int, n_val: int) -> list[dict]:
    """Train one model for `budget` CPU seconds on one thread; its CSV rows."""
    import torch
    torch.set_num_threads(1)
    from unet_course.after import fit, predict_instances, targets_for
    from unet_course.device import describe_hardware
    from unet_course.model import count_parameters
    from unet_course.normalize import input_statistics
    images, instances, val_images, val_instances = data(n_train, n_val)
    common = {"threads": 1, "torch": torch.__version__, "budget_cpu_s": budget,
              "machine": describe_hardware(1)}
    if name == "maskrcnn":
        return run_maskrcnn(images, instances, val_images, val_instances, budget, common)
    model, kwargs, weight_map = build(name, *input_statistics(images))
    targets, weights = targets_for(instances, weight_map=weight_map)
    result = fit(model, images, targets, weights, seconds=budget, batch=4, lr=1e-3, seed=0, **kwargs)
    per_step = result.seconds / max(result.steps, 1)
    variants = [(result.model, "")]
    if name == "unetpp":
        variants = [(result.model.pruned(level), f"L{level}") for level in (4, 3, 2, 1)]
    rows = []
    for model, level in variants:
        preds = [predict_instances(model, im) for im in val_images]
        rows.append({"model": name, "level": level, "params": count_parameters(model),
                     "train_steps": result.steps, "cpu_s_per_step": per_step,
                     "cpu_s_per_512": time_prediction(model), **scores(preds, val_instances), **common})
    return rows


def run_maskrcnn(images, instances, val_images, val_instances, budget, common) -> list[dict]:
    from unet_course.after import maskrcnn
    from unet_course.model import count_parameters
    ok, message = maskrcnn.torchvision_status()
    if not ok:
        print(message, file=sys.stderr)
        return []
    model = maskrcnn.maskrcnn_model(image_size=256)
    losses = maskrcnn.train_maskrcnn(model, images, instances, seconds=budget)
    start = time.process_time()
    preds = [maskrcnn.predict_instances(model, im) for im in val_images]
    per_256 = (time.process_time() - start) / len(val_images)
    return [{"model": "maskrcnn", "level": "", "params": count_parameters(model),
             "train_steps": len(losses), "cpu_s_per_step": budget / max(len(losses), 1),
             "cpu_s_per_512": 4 * per_256, **scores(preds, val_instances), **common}]


def write_csv(rows: list[dict], path: Path) -> None:
    from unet_course.data.files import temp_file
    handle, tmp = temp_file(path)
    with os.fdopen(handle, "w", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in row.items()})
    os.replace(tmp, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=150.0, help="CPU seconds of training per model")
    parser.add_argument("--jobs", type=int, default=2, help="models trained in parallel (1 thread each)")
    parser.add_argument("--train-images", type=int, default=24)
    parser.add_argument("--val-images", type=int, default=8)
    parser.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "models.csv")
    args = parser.parse_args(argv)
    if args.budget <= 0 or args.jobs < 1:
        print(f"error: need --budget > 0 and --jobs >= 1, got {args.budget}, {args.jobs}", file=sys.stderr)
        return 2
    os.environ["OMP_NUM_THREADS"] = "1"
    start = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(run_one, name, args.budget, args.train_images, args.val_images)
                   for name in args.models]
        rows = [row for future in futures for row in future.result()]
    write_csv(rows, args.out)
    print(f"{'model':<20}{'level':>6}{'params':>10}{'steps':>7}{'s/step':>8}{'s/512':>8}"
          f"{'IoU':>7}{'SEG':>7}{'F1':>7}{'merged':>8}{'split':>7}")
    for r in rows:
        print(f"{r['model']:<20}{r['level']:>6}{r['params']:>10}{r['train_steps']:>7}"
              f"{r['cpu_s_per_step']:>8.3f}{r['cpu_s_per_512']:>8.3f}{r['foreground_iou']:>7.3f}"
              f"{r['seg']:>7.3f}"
              f"{r['f1']:>7.3f}{r['merged']:>8}{r['split']:>7}")
    print(f"wrote {args.out} ({len(rows)} rows, {time.perf_counter() - start:.0f} s wall, "
          f"{args.jobs} parallel jobs of 1 thread, budget {args.budget:g} CPU s per model)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
