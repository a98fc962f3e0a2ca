"""Lesson 10, Sec. 5 with a longer budget: does pre-training on synthetic cells help on ISBI?

    python benchmarks/bench_transfer.py [--seconds 240] [--threads 1] [--root DIR]

The course's shared model (``course_model()``, trained once on synthetic touching cells) is
fine-tuned on ISBI 2012 slices 0-3, and the same network from He initialisation is trained on
them for the same budget (``unet_course.after.transfer.compare_transfer``: Adam lr 1e-3, batches
of four 252 tiles, class-balanced cross-entropy, elastic deformation). Held-out slices 25-29 are
scored at the end (the ISBI challenge's pixel error of the five as a stack, the share of
wrong pixels at 0.5 and the foreground IoU); slice 26 is watched every 10 steps for the curves
(its ISBI pixel error). Budget: process CPU seconds per network on ``--threads`` torch
threads. Written (temp file + rename) to benchmarks/results/transfer.csv, which lesson 10
reads: one "curve" row per watched point and one "final" row per network. Rows without a
misclassification_rate were written before pixel_error became the challenge's definition:
their pixel_error is the share of wrong pixels at 0.5.
"""
from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "transfer.csv"
COLUMNS = ["model", "kind", "seconds", "steps", "pixel_error", "misclassification_rate",
           "foreground_iou", "slices",
           "threads", "date", "machine"]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=240.0, help="CPU seconds per network")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--root", help="ISBI 2012 folder (default: the course's download cache)")
    p.add_argument("--out", type=Path, default=OUT)
    a = p.parse_args()
    import torch
    torch.set_num_threads(a.threads)
    from unet_course.after.transfer import compare_transfer
    from unet_course.device import describe_hardware
    from unet_course.train import course_model
    common = {"threads": a.threads, "date": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
              "machine": describe_hardware(a.threads)}
    rows = []
    for run in compare_transfer(course_model(), a.seconds, root=a.root, progress=True):
        for seconds, error in run.curve:
            rows.append({"model": run.name, "kind": "curve", "seconds": f"{seconds:.1f}",
                         "pixel_error": f"{error:.4f}", "slices": "26", **common})
        rows.append({"model": run.name, "kind": "final", "seconds": f"{run.seconds:.1f}",
                     "steps": run.steps, "pixel_error": f"{run.final['pixel_error']:.4f}",
                     "misclassification_rate": f"{run.final['misclassification_rate']:.4f}",
                     "foreground_iou": f"{run.final['foreground_iou']:.4f}", "slices": "25-29",
                     **common})
        print(f"{run.name:>13}: {run.steps} steps in {run.seconds:.0f} CPU s; held-out 25-29: "
              f"ISBI pixel error {run.final['pixel_error']:.4f}, wrong pixels "
              f"{run.final['misclassification_rate']:.4f}, IoU {run.final['foreground_iou']:.4f}")
    from unet_course.data.files import temp_file
    handle, tmp = temp_file(a.out)
    with os.fdopen(handle, "w", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, a.out)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
