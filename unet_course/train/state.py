"""Training checkpoints: everything needed to continue a run exactly where it stopped.

``DIR/checkpoint.pt`` (written atomically, see ``unet_course.checkpoint.atomic_save``)::

    {"format": "unet-course-train", "version": 1,
     "model": <the save_model record, so load_model reads this file too; for a network
               that is not a UNet (lesson 10's, via ``train(model=...)``): {"network": its
               class name, "state_dict": ..., "config": ...}, which resume reads but
               load_model does not>,
     "optimizer": optimizer.state_dict(),   # SGD momentum buffers / Adam moments
     "scaler": GradScaler state or None, "ema": the weight average's state or None,
     "step": steps done, "seconds": training time so far,
     "rng": {"torch": CPU generator state, "cuda": [...]},   # drop-out draws (rank 0)
     "rng_ranks": [rank 0's rng, rank 1's, ...] (torchrun only: each rank has its own stream),
     "sampler": {"next_step": step, "global_batch": tiles per step over all ranks},
     "config": the run's TrainConfig as a dict, "world": number of processes}

Tiles need no saved state: tile g of a run is drawn from ``default_rng([seed, 0, g])``
(``TileDataset``), and step s uses tiles s * global_batch ... (s + 1) * global_batch - 1. So
on a CPU the losses after resuming are bitwise identical to an uninterrupted run with the
same seed and thread count (tested). Under torchrun every rank's drop-out stream is saved and
each rank resumes its own.
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..checkpoint import VERSION, atomic_save, model_record, read_checkpoint, unwrap
from ..model import UNet
from .config import RESUME_KEYS, TrainConfig

__all__ = ["TRAIN_FORMAT", "save_state", "read_state", "load_state", "check_compatible",
           "rng_state"]

TRAIN_FORMAT = "unet-course-train"


def rng_state() -> dict:
    """This process's torch random state (drop-out draws): CPU and every CUDA device."""
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def weights_record(model, config: dict) -> dict:
    """save_model's record for a UNet; the class name and weights for any other network."""
    model = unwrap(model)
    if isinstance(model, UNet):
        return model_record(model, config)
    return {"network": type(model).__name__, "config": config,
            "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}}


def save_state(path, model, optimizer, scaler, step: int, seconds: float, cfg, world: int,
               averaged=None, rng_ranks: list | None = None) -> Path:
    """Write the checkpoint; rng_ranks: every rank's ``rng_state()`` under torchrun."""
    config = cfg.to_dict()
    return atomic_save({
        "format": TRAIN_FORMAT, "version": VERSION, "model": weights_record(model, config),
        "optimizer": optimizer.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None else None,
        "ema": averaged.state_dict() if averaged is not None else None,
        "step": int(step), "seconds": float(seconds),
        "rng": rng_ranks[0] if rng_ranks else rng_state(),
        **({"rng_ranks": rng_ranks} if rng_ranks and len(rng_ranks) > 1 else {}),
        "sampler": {"next_step": int(step), "global_batch": cfg.batch * world},
        "config": config, "world": int(world)}, path)


def check_compatible(saved: dict, cfg, world: int, path) -> None:
    """ValueError naming every setting where the checkpoint's run differs from this one."""
    now, defaults = cfg.to_dict(), TrainConfig().to_dict()  # older checkpoints lack new keys
    then = {k: saved["config"].get(k, defaults[k]) for k in RESUME_KEYS}
    diff = [f"{k}: checkpoint {then[k]!r}, now {now[k]!r}" for k in RESUME_KEYS if then[k] != now[k]]
    if saved.get("world", 1) != world:
        diff.append(f"processes: checkpoint {saved.get('world', 1)}, now {world}")
    if diff:
        raise ValueError(f"{path} is from another configuration ({'; '.join(diff)}); resume with "
                         f"the same settings, or start a new run in another --out folder")


def read_state(path) -> dict:
    """A training checkpoint as a dict (ValueError for a truncated or foreign file)."""
    return read_checkpoint(path, (TRAIN_FORMAT,))


def load_state(saved: dict, model, optimizer, scaler, path="checkpoint",
               averaged=None, rank: int = 0) -> tuple[int, float]:
    """Restore model, optimiser, scaler, weight average and (rank `rank`'s) RNG from a
    read_state dict; return (step, seconds)."""
    try:
        unwrap(model).load_state_dict(saved["model"]["state_dict"])
        optimizer.load_state_dict(saved["optimizer"])
        if averaged is not None:
            averaged.load_state_dict(saved["ema"])
        if scaler is not None and saved.get("scaler"):
            scaler.load_state_dict(saved["scaler"])
        rng = saved["rng_ranks"][rank] if "rng_ranks" in saved else saved["rng"]
        torch.set_rng_state(rng["torch"])
        if rng["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
    except (KeyError, RuntimeError, ValueError, TypeError, AttributeError) as error:
        raise ValueError(f"{path}: cannot restore the run ({type(error).__name__}: "
                         f"{str(error).splitlines()[0][:200]})") from None
    return int(saved["step"]), float(saved["seconds"])
