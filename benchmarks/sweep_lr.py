"""The learning-rate evidence of lesson 07: validation curves of short runs, written to
benchmarks/results/lr_sweep.csv (the lesson plots this file; it never types numbers in).

    python benchmarks/sweep_lr.py --jobs 3        # all 7 runs, 3 at a time (about 10 min on a free machine)
    python benchmarks/sweep_lr.py --steps 100 --runs sgd-0.01-standardised   # one quick run

Runs (the set-up the sweep was measured with, pinned here so that the file can be
reproduced: U-Net base 16 without batch norm, 252 -> 68 tiles, batches of 4, float32, no lr
drop, Eq. 2 weight map, elastic deformation, synthetic touching cells; only the optimiser and
the input change. The cpu preset has since moved to batch norm, one 428 tile per step at lr
2e-3, a final lr drop and bfloat16 on CPUs that have it: see lesson 07 and
benchmarks/results/bench_train.csv):
- SGD with the paper's momentum 0.99 at lr 1e-3, 1e-2, 1e-1, each with raw [0, 1] inputs and
  with standardised inputs (zero mean, unit variance: ``unet_course.normalize``);
- Adam at lr 1e-3 (the cpu preset's optimiser, then at this rate) with standardised inputs.
"raw" is the same network with its input standardisation set to the identity (mean 0, std 1).

Every run trains a fixed number of STEPS, so the curves do not depend on how loaded the
machine is; the seconds per step are recorded next to them (noisy on a shared machine).
Validation: foreground IoU and cells separated on the held-out images every --every steps.
A run whose loss becomes NaN/inf is recorded with diverged=1 at the step it stopped.
"""
from __future__ import annotations

import argparse
import csv
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "lr_sweep.csv"
FIELDS = ["run", "optimizer", "lr", "momentum", "input", "step", "loss", "val_iou",
          "val_separated", "diverged", "s_per_step", "threads", "date"]
# the set-up of the recorded sweep (the cpu preset of 2026-12-03), not today's preset
SETUP = dict(tile=252, batch=4, batch_norm=False, lr_drop=0.0, amp=False)
RUNS = {"adam-0.001-standardised": dict(optimizer="adam", lr=1e-3, input="standardised")}
RUNS.update({f"sgd-{lr:g}-{inp}": dict(optimizer="sgd", lr=lr, input=inp)
             for inp in ("standardised", "raw") for lr in (1e-2, 1e-1, 1e-3)})


def one_run(name: str, spec: dict, steps: int, every: int, threads: int, val_images: int) -> list[dict]:
    """Train one configuration; one row per validation (loss: mean over the steps since the last)."""
    import torch
    torch.set_num_threads(threads)

    from unet_course.train import loop, make_config, train
    cfg = make_config("cpu", optimizer=spec["optimizer"], lr=spec["lr"], steps=steps, **SETUP,
                      val_every=every, checkpoint_every=10 ** 9, threads=threads,
                      val_images=val_images, device="cpu")
    build = loop.build_model

    def build_raw(cfg, split, device):  # the same network, input standardisation = identity
        model = build(cfg, split, device)
        with torch.no_grad():
            model.input_mean.fill_(0.0)
            model.input_std.fill_(1.0)
        return model

    rows, losses, diverged, last = [], [], 0, [0]
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M")

    def callback(record):
        if record["event"] == "step":
            losses.append(record["loss"])
            last[0] = record["step"]
            if record["val_iou"] is not None:
                rows.append(dict(step=record["step"], loss=sum(losses) / len(losses),
                                 val_iou=record["val_iou"], val_separated=record["val_separated"],
                                 seconds=record["seconds"]))
                losses.clear()

    loop.build_model = build_raw if spec["input"] == "raw" else build
    tic = time.perf_counter()
    try:
        run = train(cfg, out=None, callback=callback, progress=False)
        seconds = run.seconds
    except loop.TrainingDiverged as error:
        print(f"  {name}: {str(error)[:90]}...", file=sys.stderr)
        diverged = 1
        seconds = time.perf_counter() - tic
        rows.append(dict(step=last[0] + 1, loss=float("nan"),
                         val_iou=float("nan"), val_separated=float("nan"), seconds=seconds))
    finally:
        loop.build_model = build
    done = rows[-1]["step"] if rows else 1
    per_step = (rows[-1]["seconds"] / done) if rows and not diverged else seconds / max(done, 1)
    return [dict(run=name, optimizer=spec["optimizer"], lr=spec["lr"],
                 momentum=0.99 if spec["optimizer"] == "sgd" else "", input=spec["input"],
                 step=r["step"], loss=f"{r['loss']:.4f}", val_iou=f"{r['val_iou']:.4f}",
                 val_separated=f"{r['val_separated']:.4f}", diverged=diverged,
                 s_per_step=f"{per_step:.3f}", threads=threads, date=date) for r in rows]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=150, help="training steps per run (default 150)")
    p.add_argument("--every", type=int, default=25, help="validate every N steps (default 25)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1: shared machine)")
    p.add_argument("--val-images", type=int, default=4, help="held-out images (default 4)")
    p.add_argument("--runs", nargs="*", default=list(RUNS), choices=list(RUNS))
    p.add_argument("--jobs", type=int, default=1, help="runs in parallel processes (default 1)")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--append", action="store_true", help="add to --out instead of starting it anew")
    a = p.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))
    a.out.parent.mkdir(parents=True, exist_ok=True)
    if not a.append or not a.out.exists():
        with open(a.out, "w", newline="") as f:
            csv.DictWriter(f, FIELDS).writeheader()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(a.jobs, mp_context=context) as pool:
        jobs = [pool.submit(one_run, name, RUNS[name], a.steps, a.every, a.threads, a.val_images)
                for name in a.runs]
        for job in as_completed(jobs):  # each run's rows are appended as soon as it ends
            new = job.result()
            with open(a.out, "a", newline="") as f:
                csv.DictWriter(f, FIELDS).writerows(new)
            last = new[-1]
            print(f"{last['run']}: step {last['step']} val IoU {last['val_iou']} separated "
                  f"{last['val_separated']} diverged {last['diverged']} ({last['s_per_step']} s/step)",
                  flush=True)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
