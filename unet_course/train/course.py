"""``course_model()``: the ONE small trained U-Net that lessons 08-10 share.

The cpu preset of lesson 07 (batch norm, which the paper does not use; Adam) trained for 100
steps on the synthetic touching cells with a fixed seed (``COURSE_SETTINGS``), then
loaded from a cache folder: the environment variable ``UNET_COURSE_CACHE`` (``make test``
trains it first, before any test, into one temporary folder per test run), else
``~/.cache/unet_course``. A file lock
makes two notebooks that ask at the same time train it once: the second waits, then loads.
The file name carries a hash of the settings, so changing them trains a new model.

Training says what it does before it starts (the settings and the cache file), shows a
progress bar, times its first steps on this machine and prints how long the whole run will
take (steps x measured seconds per step), and at the end where the model was saved.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

__all__ = ["COURSE_SETTINGS", "course_model", "cache_dir", "describe"]

# The cpu preset (lesson 07: batch norm, one 428 -> 244 tile per step, Adam lr 2e-3, the last
# fifth at lr / 10) for 100 steps, spelled out so that a change of the preset does not change the
# model behind an unchanged cache name. float32 (amp off) so that every machine trains the same
# model, bfloat16 CPUs included. Chosen by measurement (issue 32; 1 thread, float32, each run's
# validation on its 4 held-out images, IoU / cells separated; single runs):
#  - the settings before (Fig. 1's blocks without batch norm, 200 steps of 4 x 252 tiles, Adam
#    1e-3): 0.888 / 58% (on 16 fresh images 0.881 / 68%), 95 CPU s of training, 99 from a cold
#    cache on the proxy below; a 2-core AMD EPYC without native bfloat16 took 138 s from a
#    cold cache (2026-12-07), over the 2-minute target;
#  - these settings: 0.869 / 89% in 100 steps (on 16 fresh images 0.868 / 87%), 54 CPU s of
#    training, 52-56 s from a cold cache (data, training, validation, saving; bench_train.py
#    --course, two runs on 2026-12-07) on an Intel Xeon capped at AVX2 (ONEDNN_MAX_CPU_ISA=AVX2
#    ATEN_CPU_CAPABILITY=avx2), 1 thread: a float32 PROXY for a laptop CPU, timed in CPU seconds
#    as the machine was busy (load 4 and 9). The EPYC is about 1.45x slower per step than the
#    proxy, so about 75-80 s there: an estimate, not measured on the EPYC. The same blocks with
#    batch norm on 4 x 252 tiles, lr 1e-3 and the drop, 120 steps: 0.841 / 59% in 67 CPU s.
# course_model() measures and prints the time on the machine it runs on.
COURSE_SETTINGS = dict(preset="cpu", data="synthetic", seed=0, base_channels=16, batch_norm=True,
                       tile=428, batch=1, optimizer="adam", lr=2e-3, lr_drop=0.2, steps=100, train_images=12,
                       val_images=4, val_every=100, checkpoint_every=10 ** 9, amp=False)


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


def describe(settings: dict) -> str:
    """The settings in a few words: "a depth-4 U-Net (base 16, batch norm), 100 steps of one
    tile of 428 px on 12 synthetic images, Adam lr 0.002, seed 0"."""
    from .config import make_config
    cfg = make_config(**settings)
    tiles = "one tile" if cfg.batch == 1 else f"{cfg.batch} tiles"
    return (f"a depth-{cfg.depth} U-Net (base {cfg.base_channels}"
            f"{', batch norm' if cfg.batch_norm else ''}), {cfg.steps} steps of "
            f"{tiles} of {cfg.tile} px on {cfg.train_images} {cfg.data} images, "
            f"{cfg.optimizer.upper() if cfg.optimizer == 'sgd' else cfg.optimizer.title()} "
            f"lr {cfg.lr:g}, seed {cfg.seed}")


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 60 else f"{seconds / 60:.1f} min"


class _Stopwatch:
    """A train() callback: after `warmup` untimed steps and `timed` timed ones, print the
    expected duration of the whole run (steps x measured seconds per step)."""

    def __init__(self, steps: int, warmup: int = 1, timed: int = 3):
        self.steps, self.warmup, self.timed = steps, warmup, timed
        self.mark = self.per_step = None

    def __call__(self, record: dict) -> None:
        if record.get("event") != "step" or self.per_step is not None:
            return
        if record["step"] == self.warmup:
            self.mark = record["seconds"]
        elif self.mark is not None and record["step"] == self.warmup + self.timed:
            from tqdm.auto import tqdm  # write above the progress bar
            self.per_step = (record["seconds"] - self.mark) / self.timed
            tqdm.write(f"about {_duration(self.steps * self.per_step)} on this CPU "
                       f"({self.per_step:.2f} s per step measured over {self.timed} steps, "
                       f"x {self.steps} steps)")


def course_model(device=None, progress: bool = True):
    """The course's trained model (a UNet in eval mode, with ``.config``), cached on disk.

    The first call trains it (about a minute on one laptop CPU core; see ``COURSE_SETTINGS``
    for the measurements): it prints what it
    trains and where it will cache it, shows a progress bar (unless ``progress=False``),
    prints the time it will take as measured on its first steps on this machine, and where it
    saved the model. Later calls, also from other processes, load the cached file and say
    from where."""
    import time

    from ..checkpoint import load_model, save_model
    from .loop import train
    key = hashlib.sha256(json.dumps(COURSE_SETTINGS, sort_keys=True).encode()).hexdigest()[:10]
    path = cache_dir() / f"course_model_{key}.pt"
    with _locked(path.with_suffix(".lock")):
        trained = not path.exists()
        if trained:
            print(f"Training the course model once: {describe(COURSE_SETTINGS)}; it will be "
                  f"cached in {path}. Timing the first steps...", flush=True)
            start = time.perf_counter()
            run = train(dict(COURSE_SETTINGS, device="cpu"), progress=progress,
                        callback=_Stopwatch(COURSE_SETTINGS["steps"]))
            save_model(run.model, path, {**COURSE_SETTINGS, **run.metrics, "steps_done": run.steps})
            print(f"Trained in {_duration(time.perf_counter() - start)}; saved to {path} "
                  f"(later calls load it from there).", flush=True)
    if not trained:
        print(f"Course model loaded from {path}", flush=True)
    return load_model(path, device)
