"""Targets of issue 17 (training), measured in ONE run and appended to
benchmarks/results/bench_train.csv (with the load average, so noisy rows can be told apart).

    python benchmarks/bench_train.py                 # loop overhead + default CLI for 3 minutes
    python benchmarks/bench_train.py --overhead      # only the loop overhead (about 1 minute)
    python benchmarks/bench_train.py --amp           # bfloat16 autocast vs float32 steps/s
    python benchmarks/bench_train.py --sweep         # optimiser / lr sweep at a fixed step count
    python benchmarks/bench_train.py --isbi          # ISBI 2012, 15 min x 4 (weight map, elastic)
    python benchmarks/bench_train.py --isbi on-on off-on --threads 1   # two of them (another shell: the rest)
    python benchmarks/bench_train.py --course        # how long course_model() takes from a cold cache
    python benchmarks/bench_train.py --variant "--tile 348 --batch 2 --ema 0.99"   # one 3-min variant
    python benchmarks/bench_train.py --variant "" --seeds 3   # the default, seeds 0, 1, 2: mean and spread

- overhead: steps/s of the full loop (``train``: tiles, elastic deformation, weight maps,
  logging) over steps/s of bare forward/backward/step calls on one fixed batch of the same
  model and tile size. Target >= 0.90.
- synthetic: ``python -m unet_course.train --minutes 3`` (the default preset on a CPU):
  foreground IoU >= 0.90 and >= 90% of cells separated on the 8 held-out images.
- isbi: slices 0-24 train, 25-29 held out, 15 minutes each: misclassification rate (the
  training validation's share of wrong pixels at 0.5, not the ISBI pixel error of
  bench_isbi.py) <= 0.08, with and
  without the weight map and elastic deformation.
- sweep: the evidence for the cpu preset's optimiser (``--sweep-steps`` steps each, so the
  machine's load does not change the result; the time per step is reported next to it).
Threads: --threads (default 2, the course's 2-core machine). Timings on a shared machine are
noisy: read the ratio of the same run, and the load average column. Every row names the
hardware (CPU model, cores, threads, native bfloat16 or not: ``unet_course.device``); rows
written before that column existed say "not recorded". Two runs of one set-up differ by about
0.01 IoU and 5 points of cells separated, so compare variants by the mean of --seeds 3 or more.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "bench_train.csv"
FIELDS = ["date", "kind", "settings", "steps", "train_seconds", "steps_per_s", "ratio",
          "val_iou", "val_separated", "val_misclassification_rate", "threads", "load_avg",
          "hardware", "preset"]
# val_iou: foreground IoU of the validation pixels pooled; val_misclassification_rate: the share
# of wrong pixels at 0.5 (files written before 2026-12-07 called it val_pixel_error, the ISBI
# challenge's name for another number; _upgrade_header renames the column, values unchanged)
RENAMED = {"val_pixel_error": "val_misclassification_rate"}
# The cpu preset of the rows written from 2026-12-04 (when the hardware column came) until
# the preset moved to batch norm and one 428 tile per step (2026-12-07): ``settings`` holds
# only the overrides, so each row also names the preset they were applied to.
PRESET_UNTIL_2026_12_07 = "base 16, 348 tiles x 2, Adam, lr 0.001, the last 20% of the run at lr / 10"


def _upgrade_header():
    """Older files lack the hardware or preset column or name a column by its old name
    (``RENAMED``): rewrite them once (atomically)."""
    with open(RESULTS, newline="") as f:
        rows = [{RENAMED.get(k, k): v for k, v in r.items()} for r in csv.DictReader(f)]
    if rows and list(rows[0]) == FIELDS:
        return
    for r in rows:
        r.setdefault("hardware", "not recorded")
        if "preset" not in r:
            r["preset"] = ("not recorded" if r["hardware"] == "not recorded"
                           else PRESET_UNTIL_2026_12_07)
    tmp = RESULTS.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, RESULTS)


def _preset() -> str:
    """The cpu preset the overrides in ``settings`` apply to, in words."""
    from unet_course.train.__main__ import preset_summary
    return preset_summary("cpu")


def record(kind, settings, **values):
    from unet_course.device import describe_hardware
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    new = not RESULTS.exists()
    if not new:
        _upgrade_header()
    row = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"), "kind": kind,
           "settings": settings, "load_avg": f"{os.getloadavg()[0]:.2f}",
           "hardware": describe_hardware(values.get("threads")), "preset": _preset(), **values}
    with open(RESULTS, "a", newline="") as f:
        writer = csv.DictWriter(f, FIELDS)
        if new:
            writer.writeheader()
        writer.writerow({k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in row.items()})
    print(json.dumps(row))


def bare_steps_per_s(cfg, split, steps: int, amp: bool) -> float:
    """steps/s of bare train_step calls (no data, augmentation or logging) on one fixed batch,
    a fresh model each call, after one warm-up step."""
    from unet_course.train import train_step
    from unet_course.train.loop import batches, build_model, make_optimizer, tile_dataset
    model = build_model(cfg, split, "cpu")
    optimizer = make_optimizer(cfg, model)
    batch = next(batches(tile_dataset(cfg, split), 0, cfg.batch))
    train_step(model, optimizer, batch, amp=amp)  # warm-up
    tic = time.perf_counter()
    for _ in range(steps):
        train_step(model, optimizer, batch, amp=amp)
    return steps / (time.perf_counter() - tic)


def overhead(threads: int, steps: int = 30):
    import torch
    torch.set_num_threads(threads)
    from unet_course.train import make_config, train
    from unet_course.train.sources import load_split
    cfg = make_config("cpu", steps=steps, val_every=10 ** 6, checkpoint_every=10 ** 6,
                      threads=threads)
    split = load_split(cfg)

    def bare():
        return bare_steps_per_s(cfg, split, steps, cfg.amp)

    def full():
        stamps = []
        train(cfg, progress=False, callback=lambda r: r["event"] == "step" and stamps.append(time.perf_counter()))
        # the last step's row comes after the run's final validation: time to the one before
        return (len(stamps) - 2) / (stamps[-2] - stamps[0])

    b1, f1, b2, f2 = bare(), full(), bare(), full()  # interleaved against drifting load
    b, f = (b1 + b2) / 2, (f1 + f2) / 2
    record("overhead", f"cpu preset (amp {cfg.amp}), {steps} steps, bare {b:.3f} vs loop {f:.3f} steps/s",
           steps=steps, steps_per_s=f, ratio=f / b, threads=threads)
    print(f"loop overhead: full loop {f:.3f} steps/s, bare fwd/bwd/step {b:.3f} steps/s, "
          f"ratio {f / b:.3f} (target >= 0.90)")


def amp_speed(threads: int, steps: int = 20):
    """steps/s of bare training steps in float32 and with bfloat16 autocast (the cpu preset's
    default on CPUs with native bfloat16), interleaved, same settings and batch."""
    import torch
    torch.set_num_threads(threads)
    from unet_course.device import cpu_has_native_bfloat16
    from unet_course.train import make_config
    from unet_course.train.sources import load_split
    cfg = make_config("cpu", steps=steps, threads=threads, amp=False)
    split = load_split(cfg)
    f1, b1, f2, b2 = (bare_steps_per_s(cfg, split, steps, amp) for amp in (False, True, False, True))
    f, b = (f1 + f2) / 2, (b1 + b2) / 2
    record("amp", f"cpu preset, bare steps: float32 {f:.3f} vs bfloat16 autocast {b:.3f} steps/s "
                  f"(native bfloat16: {cpu_has_native_bfloat16()})",
           steps=steps, steps_per_s=b, ratio=b / f, threads=threads)
    print(f"bfloat16 autocast {b:.3f} steps/s vs float32 {f:.3f}: ratio {b / f:.2f}")


def cli_run(name, args, threads, folder=None):
    out = ROOT / "benchmarks" / "results" / "runs" / (folder or name)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    cmd = [sys.executable, "-m", "unet_course.train", "--out", str(out), "--no-progress",
           "--threads", str(threads), *args]
    print("running:", " ".join(cmd[1:]), flush=True)
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"error: {name} failed: {done.stderr.strip()[-500:]}")
    print(done.stdout.strip())
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    from unet_course.checkpoint import load_model
    cfg = load_model(out / "model.pt").config
    steps, seconds = int(rows[-1]["step"]), float(rows[-1]["seconds"])
    record(name, " ".join(args) or "defaults", steps=steps, train_seconds=seconds,
           steps_per_s=steps / seconds, val_iou=cfg["val_iou"],
           val_separated=cfg["val_separated"],
           val_misclassification_rate=cfg["val_misclassification_rate"],
           threads=threads)
    return cfg


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--overhead", action="store_true")
    p.add_argument("--amp", action="store_true", help="only bfloat16 vs float32 step speed")
    p.add_argument("--sweep", action="store_true")
    p.add_argument("--sweep-steps", type=int, default=600)
    p.add_argument("--isbi", nargs="*", metavar="WM-ELASTIC",
                   help="ISBI runs: all four, or some of on-on on-off off-on off-off (weight "
                        "map, elastic); run two shells with --threads 1 to use both cores")
    p.add_argument("--course", action="store_true")
    p.add_argument("--variant", action="append", metavar="ARGS",
                   help="extra CLI options for one 3-minute synthetic run (a 'synthetic_3min' "
                        "row); repeat for more")
    p.add_argument("--seeds", type=int, default=1,
                   help="with --variant: run seeds 0 .. N-1 of each and print mean and spread")
    p.add_argument("--minutes", type=float, help="training minutes (default: 3, ISBI 15)")
    a = p.parse_args()
    a.minutes = a.minutes or (15.0 if a.isbi is not None else 3.0)
    if a.amp:
        amp_speed(a.threads)
    elif a.sweep:
        for opt, lr in (("sgd", "0.01"), ("sgd", "0.003"), ("adam", "0.001"), ("adam", "0.0003")):
            cli_run(f"sweep_{opt}_{lr}", ["--steps", str(a.sweep_steps), "--optimizer", opt,
                                          "--lr", lr, "--val-every", "50"], a.threads)
    elif a.isbi is not None:
        for pair in a.isbi or ("on-on", "on-off", "off-on", "off-off"):
            wm, el = pair.split("-")
            if {wm, el} - {"on", "off"}:
                raise SystemExit(f"error: --isbi takes on-on, on-off, off-on or off-off, got {pair!r}")
            cli_run(f"isbi_wm-{wm}_elastic-{el}", ["--data", "isbi2012", "--minutes", str(a.minutes),
                                                   "--weight-map", wm, "--elastic", el], a.threads)
    elif a.variant:
        for extra in a.variant:
            seeds = [[]] if a.seeds <= 1 else [["--seed", str(s)] for s in range(a.seeds)]
            scores = []
            for seed in seeds:
                args = [*extra.split(), *seed]
                slug = "".join(c if c.isalnum() or c in ".-" else "_" for c in
                               " ".join(args).replace("--", "")) or "defaults"
                cfg = cli_run("synthetic_3min", ["--minutes", str(a.minutes), *args], a.threads,
                              folder=f"synthetic_3min_{slug}")
                scores.append((cfg["val_iou"], cfg["val_separated"]))
                print(f"{' '.join(args) or 'defaults'}: foreground IoU {cfg['val_iou']:.3f}, "
                      f"cells separated {100 * cfg['val_separated']:.0f}%")
            if len(scores) > 1:
                iou, sep = (np.array(v) for v in zip(*scores))
                print(f"{extra or 'defaults'}, {len(scores)} seeds: IoU {iou.mean():.3f} "
                      f"(min {iou.min():.3f}, max {iou.max():.3f}), cells separated "
                      f"{100 * sep.mean():.1f}% (min {100 * sep.min():.0f}%, max {100 * sep.max():.0f}%)")
    elif a.course:
        import torch
        torch.set_num_threads(a.threads)
        import tempfile
        os.environ["UNET_COURSE_CACHE"] = tempfile.mkdtemp()
        from unet_course.train import COURSE_SETTINGS, course_model
        tic, cpu = time.perf_counter(), time.process_time()
        model = course_model()   # from a cold cache: data, training, validation, saving
        wall, cpu = time.perf_counter() - tic, time.process_time() - cpu
        # settings: what was trained, and the process's CPU seconds beside the wall seconds (on
        # one thread of a busy machine the CPU seconds are closer to what a quiet one takes)
        keys = ("steps", "base_channels", "batch_norm", "tile", "batch", "optimizer", "lr", "lr_drop")
        record("course_model", json.dumps({**{k: COURSE_SETTINGS[k] for k in keys},
                                           "cpu_seconds": round(cpu, 1)}),
               steps=model.config["steps_done"], train_seconds=wall,
               val_iou=model.config["val_iou"], val_separated=model.config["val_separated"],
               val_misclassification_rate=model.config["val_misclassification_rate"],
               threads=a.threads)
    else:
        overhead(a.threads)
        if not a.overhead:
            cfg = cli_run("synthetic_default", ["--minutes", str(a.minutes)], a.threads)
            print(f"synthetic, {a.minutes} min: foreground IoU {cfg['val_iou']:.3f} (target >= 0.90), "
                  f"cells separated {100 * cfg['val_separated']:.0f}% (target >= 90%)")


if __name__ == "__main__":
    main()
