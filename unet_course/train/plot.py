"""``python -m unet_course.train.plot RUN_DIR``: a run's curves, drawn from its metrics.csv
into RUN_DIR/curves.png (written atomically: temp file + rename).

Left: the energy (Eq. 1) of every step (grey) with its running mean, and a dashed line where
the learning rate changed (the cpu preset's final drop); right: the validation scores at the
validated steps (foreground IoU of the pixels pooled, share of cells separated, misclassification
rate: the share of wrong pixels at 0.5, not the ISBI pixel error). The run may still be
going: the figure shows the rows written so far.
"""
from __future__ import annotations

import csv
import os
import sys
import tempfile
from pathlib import Path

__all__ = ["read_metrics", "draw", "plot_run", "main"]

SCORES = (("val_iou", "foreground IoU (pixels pooled)"), ("val_separated", "cells separated"),
          ("val_misclassification_rate", "misclassification rate (wrong pixels at 0.5)"))


def read_metrics(path) -> dict[str, list]:
    """metrics.csv as columns: {name: [float or None (blank), ...]}; ValueError if unusable.
    Old column names are read under the new ones (``log.RENAMED``)."""
    from .log import upgrade_row
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file (give the --out folder of a training run)")
    with open(path, newline="") as f:
        rows = [upgrade_row(r) for r in csv.DictReader(f)]
    if not rows or "step" not in rows[0] or "loss" not in rows[0]:
        raise ValueError(f"{path}: no training steps logged yet (a header with step and loss, "
                         f"then one row per step)")
    return {k: [float(r[k]) if r.get(k) not in (None, "") else None for r in rows]
            for k in rows[0]}


def draw(metrics: dict[str, list]):
    """A matplotlib Figure of the columns of ``read_metrics`` (no pyplot, no display)."""
    from matplotlib.figure import Figure
    steps, losses = metrics["step"], metrics["loss"]
    fig = Figure(figsize=(11, 3.8), layout="tight")
    ax_loss, ax_val = fig.subplots(1, 2)
    ax_loss.plot(steps, losses, color="0.65", lw=0.8, label="loss (one step)")
    n = max(1, len(losses) // 20)  # running mean over a twentieth of the run
    if n > 1:
        mean = [sum(losses[i - n + 1:i + 1]) / n for i in range(n - 1, len(losses))]
        ax_loss.plot(steps[n - 1:], mean, color="tab:blue", label=f"mean of {n}")
    lrs = metrics.get("lr") or []
    changes = [i for i in range(1, len(lrs)) if lrs[i] != lrs[i - 1]]
    if len(changes) > 3:   # a cosine schedule: the lr on a second axis, not a line per step
        ax_lr = ax_loss.twinx()
        ax_lr.plot(steps, lrs, color="tab:red", lw=1)
        ax_lr.set_ylabel("lr", color="tab:red")
        changes = []
    for i in changes:
        ax_loss.axvline(steps[i], color="tab:red", ls="--", lw=1,
                        label=f"lr {lrs[i - 1]:g} -> {lrs[i]:g}")
    ax_loss.set(xlabel="step", title="training energy (Eq. 1)")
    ax_loss.legend()
    for key, label in SCORES:
        points = [(s, v) for s, v in zip(steps, metrics.get(key) or []) if v is not None]
        if points:
            ax_val.plot(*zip(*points), "o-", ms=3, label=label)
    ax_val.set(xlabel="step", ylim=(0, 1), title="validation (held-out images)")
    if ax_val.lines:
        ax_val.legend()
    return fig


def plot_run(run_dir, out=None) -> Path:
    """Draw RUN_DIR/metrics.csv into ``out`` (default RUN_DIR/curves.png); return its path."""
    run_dir = Path(run_dir)
    out = Path(out) if out is not None else run_dir / "curves.png"
    fig = draw(read_metrics(run_dir / "metrics.csv"))
    handle, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".png", dir=out.parent)
    try:
        with os.fdopen(handle, "wb") as f:
            fig.savefig(f, format="png", dpi=100)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return out


def main(argv=None) -> int:
    from ..cli import Parser
    p = Parser(prog="python -m unet_course.train.plot",
               description="Draw a training run's metrics.csv (loss, lr drop, validation "
                           "scores) into RUN_DIR/curves.png.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="the --out folder of a training run")
    p.add_argument("--out", help="the image to write (default RUN_DIR/curves.png)")
    args = p.parse_args(argv)
    try:
        path = plot_run(args.run_dir, args.out)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
