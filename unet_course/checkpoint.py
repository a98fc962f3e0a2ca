"""Saving and loading trained U-Nets: one file format shared by training, lessons 08-10 and
the ``predict`` command.

    save_model(model, "run/model.pt", config={"steps": 1000})
    model = load_model("run/model.pt")        # a UNet in eval mode, with model.config

The file is ``torch.save`` of a plain dict (read back with ``weights_only=True``, so loading
runs no pickled code)::

    {"format": "unet-course-model", "version": 1,
     "model_args": {UNet keyword arguments},       # UNet(**model_args) rebuilds the network
     "input_norm": {"mean": m, "std": s, "percentiles": [1.0, 99.8] or None} or None,
                                                   # StandardizedUNet (unet_course.normalize)
     "state_dict": {...}, "config": {...}}

Files are written to a temporary file in the same folder and renamed (``os.replace``), so a
crash never leaves half a checkpoint under the real name. A file that is not such a dict (a
checkpoint of another project, a truncated download) raises a ValueError that says so.
A training checkpoint (``unet_course.train``) holds this record under "model" and loads too.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from .data.files import temp_file
from .model import UNet
from .normalize import StandardizedUNet

__all__ = ["FORMAT", "VERSION", "save_model", "load_model", "model_record", "model_from_record",
           "atomic_save", "read_checkpoint", "unwrap"]

FORMAT, VERSION = "unet-course-model", 1
_ARGS = ("in_channels", "num_classes", "depth", "base_channels", "padding", "batch_norm", "dropout")


def atomic_save(obj, path: str | os.PathLike) -> Path:
    """torch.save(obj) to a temporary file next to `path`, flushed to disk, then renamed."""
    path = Path(path)
    handle, tmp = temp_file(path, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def read_checkpoint(path: str | os.PathLike, formats: tuple[str, ...]) -> dict:
    """torch.load a course file (weights only, on the CPU) and check its "format" tag."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated zip, not a torch file, pickled foreign objects
        first = str(error).split(". ")[0].splitlines()[0][:120] if str(error) else ""
        raise ValueError(f"{path}: not a readable unet_course checkpoint (truncated, or not "
                         f"written by this course's save_model; {type(error).__name__}: "
                         f"{first})") from None
    tag = data.get("format") if isinstance(data, dict) else None
    if tag not in formats:
        raise ValueError(f"{path}: not a unet_course checkpoint (format {tag!r}, expected "
                         f"{' or '.join(map(repr, formats))}); a state_dict saved elsewhere "
                         f"can be loaded with UNet(...).load_state_dict(torch.load(path))")
    if data.get("version") != VERSION:
        raise ValueError(f"{path}: checkpoint version {data.get('version')!r}, this course "
                         f"reads version {VERSION}")
    return data


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The UNet inside DistributedDataParallel (.module) or torch.compile (._orig_mod)."""
    while hasattr(model, "module") or hasattr(model, "_orig_mod"):
        model = getattr(model, "module", None) or getattr(model, "_orig_mod")
    return model


def model_record(model: torch.nn.Module, config: dict | None = None) -> dict:
    """The dict that save_model writes (weights copied to the CPU)."""
    model = unwrap(model)
    if not isinstance(model, UNet):
        raise ValueError(f"save_model saves a unet_course UNet, got {type(model).__name__}")
    norm = None
    if isinstance(model, StandardizedUNet):
        norm = {"mean": float(model.input_mean), "std": float(model.input_std),
                "percentiles": list(model.percentiles) if model.percentiles else None}
    return {"format": FORMAT, "version": VERSION,
            "model_args": {k: getattr(model, k) for k in _ARGS}, "input_norm": norm,
            "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
            "config": dict(config or {})}


def model_from_record(record: dict, path="checkpoint") -> UNet:
    """Rebuild the network of a record (UNet or StandardizedUNet), weights loaded, eval mode."""
    norm = record.get("input_norm")
    try:
        if norm:
            model = StandardizedUNet(**record["model_args"], input_mean=norm["mean"],
                                     input_std=norm["std"], percentiles=norm.get("percentiles"))
        else:
            model = UNet(**record["model_args"])
        model.load_state_dict(record["state_dict"])
    except (KeyError, TypeError, RuntimeError) as error:
        raise ValueError(f"{path}: the weights do not fit the network described in the file "
                         f"({type(error).__name__}: {str(error).splitlines()[0][:200]})") from None
    model.config = dict(record.get("config") or {})
    return model.eval()


def save_model(model: torch.nn.Module, path: str | os.PathLike, config: dict | None = None) -> Path:
    """Write a trained UNet (and a JSON-like `config` dict) to `path`, atomically."""
    return atomic_save(model_record(model, config), path)


def load_model(path: str | os.PathLike, device=None) -> UNet:
    """The UNet saved at `path` (by save_model or a training checkpoint), in eval mode, on
    `device` (default CPU), with its configuration as ``model.config`` (a dict)."""
    data = read_checkpoint(path, (FORMAT, "unet-course-train"))
    record = data["model"] if data["format"] == "unet-course-train" else data
    model = model_from_record(record, path)
    if device is not None:
        model.to(device)
    return model
