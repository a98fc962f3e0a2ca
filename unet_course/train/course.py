"""``course_model()``: the ONE small trained U-Net that lessons 08-10 share.

Trained once on the synthetic touching cells with a fixed seed (``COURSE_SETTINGS``), then
loaded from a cache folder: the environment variable ``UNET_COURSE_CACHE`` (the test set-up
points it at one temporary folder per test run), else ``~/.cache/unet_course``. A file lock
makes two notebooks that ask at the same time train it once: the second waits, then loads.
The file name carries a hash of the settings, so changing them trains a new model.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

__all__ = ["COURSE_SETTINGS", "course_model", "cache_dir"]

# About 90 s on one quiet CPU thread (88 s, 0.44 s per step; benchmarks/bench_train.py --course).
# (An Adam run on 24 training images stood at IoU 0.88, 68% of cells separated, at step 200.)
# float32 (amp off) so that every machine trains the same model, bfloat16 CPUs included.
COURSE_SETTINGS = dict(preset="cpu", data="synthetic", seed=0, base_channels=16, tile=252,
                       batch=4, optimizer="adam", lr=1e-3, lr_drop=0.0, steps=200, train_images=12,
                       val_images=4, val_every=200, checkpoint_every=10 ** 9, amp=False)


def cache_dir() -> Path:
    return Path(os.environ.get("UNET_COURSE_CACHE") or "~/.cache/unet_course").expanduser()


@contextlib.contextmanager
def _locked(path: Path):
    """An exclusive lock on `path` (fcntl; without fcntl, e.g. on Windows, no lock)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            import fcntl
        except ImportError:  # pragma: no cover
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def course_model(device=None, progress: bool = False):
    """The course's trained model (a UNet in eval mode, with ``.config``), cached on disk.

    The first call trains it (about a minute or two on a laptop CPU); later calls, also from
    other processes, load the cached file."""
    from ..checkpoint import load_model, save_model
    from .loop import train
    key = hashlib.sha256(json.dumps(COURSE_SETTINGS, sort_keys=True).encode()).hexdigest()[:10]
    path = cache_dir() / f"course_model_{key}.pt"
    with _locked(path.with_suffix(".lock")):
        if not path.exists():
            run = train(dict(COURSE_SETTINGS, device="cpu"), progress=progress)
            save_model(run.model, path, {**COURSE_SETTINGS, **run.metrics, "steps_done": run.steps})
    return load_model(path, device)
