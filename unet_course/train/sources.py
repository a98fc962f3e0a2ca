"""Where the training images come from, and the train/validation split.

- ``synthetic`` (default): the course's touching cells (``unet_course.data.synthetic_dataset``),
  generated from the seed: training images use seed ``seed``, held-out images ``seed + 10**6``,
  so no validation image is ever trained on. No download.
- ``isbi2012``: the paper's EM slices (``load_isbi2012``, verified by SHA-256): slices 0-24
  train, 25-29 validation (the course's fixed split, used by every ISBI measurement in benchmarks/results).
- a folder PATH with ``images/`` and ``labels/``: files paired by name (PNG/TIFF). Labels are
  read by the ONE rule of ``evaluate`` too (``unet_course.data.read_label``): instance ids
  (0 = background) or binary masks (any two values; the larger is cell, and cells are its
  4-connected components); a one-valued label other than all 0 is refused. ``val_fraction`` of the images (at least one)
  are held out, chosen by a permutation drawn from the seed. Colour images are converted to
  grey by the same rule as ``predict`` (``unet_course.data.as_grey``), with a printed note.

Every source gives instances, so Eq. 2's weight map (``training_targets``) and the
"cells separated" metric work the same way on all three. Every image, whatever its source and
dtype, is normalised by its own percentiles (``unet_course.normalize.percentile_normalize``,
CSBDeep's 1 / 99.8 rule): the model stores the rule, and prediction applies it again to the
whole image (the map is idempotent), so training and prediction see the same input.
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = ["Split", "load_split"]


class Split(NamedTuple):
    """Training and validation data: images float32 (H, W), percentile-normalised (about
    [0, 1]); targets int64; weights float32."""
    train_images: list
    train_targets: list
    train_weights: list
    val_images: list
    val_targets: list
    val_instances: list
    description: str
    files: dict | None = None  # a folder run: {"train": [file names], "val": [...]}; else None


def _normalized(images) -> list:
    from ..normalize import PERCENTILES, percentile_normalize
    return [percentile_normalize(im, *PERCENTILES) for im in images]


def _targets(instances, cfg):
    from ..data import training_targets
    target, weight = training_targets(instances, w0=cfg.w0, sigma=cfg.sigma)
    return target, (weight if cfg.weight_map else np.ones_like(weight))


def _synthetic(cfg):
    from ..data import synthetic_dataset
    train = synthetic_dataset(cfg.train_images, cfg.image_size, seed=cfg.seed)
    val = synthetic_dataset(cfg.val_images, cfg.image_size, seed=cfg.seed + 10 ** 6)
    return (_normalized(train.image), list(train.instances), _normalized(val.image),
            list(val.instances),
            f"synthetic cells: {cfg.train_images} training and {cfg.val_images} held-out "
            f"images of {cfg.image_size}x{cfg.image_size} (seed {cfg.seed})")


def _isbi(cfg):
    from ..data import isbi_instances, load_isbi2012
    data = load_isbi2012(progress=False)
    images = _normalized(data.images)
    instances = [isbi_instances(label) for label in data.labels]
    return (images[:25], instances[:25], images[25:], instances[25:],
            "ISBI 2012: slices 0-24 train, 25-29 validation")


def _folder(cfg):
    from ..data import as_grey, pair_by_name, read_image, read_label
    root = Path(cfg.data)
    for sub in ("images", "labels"):
        if not (root / sub).is_dir():
            raise ValueError(f"{root}: expected a folder with images/ and labels/ "
                             f"(files matched by name), but {root / sub} does not exist")
    pairs = pair_by_name(root / "images", root / "labels")
    if len(pairs) < 2:
        raise ValueError(f"{root}: need at least 2 image/label pairs for a training and a "
                         f"validation image, found {len(pairs)}")
    images, instances = [], []
    for image_path, label_path in pairs:
        image, note = as_grey(read_image(image_path), str(image_path))
        if note:
            print(f"note: {note}", flush=True)
        if not (np.issubdtype(image.dtype, np.number) or image.dtype == bool):
            raise ValueError(f"{image_path}: expected integer or float pixels, got {image.dtype}")
        image = _normalized([image])[0]
        label, note = read_label(label_path)[1:]
        if note:
            print(f"note: {note}", flush=True)
        if label.shape != image.shape:
            raise ValueError(f"{label_path}: label of shape {label.shape} does not match its "
                             f"image {image_path.name} of shape {image.shape}")
        images.append(image)
        instances.append(label)
    order = np.random.default_rng(cfg.seed).permutation(len(pairs))
    n_val = max(1, int(round(cfg.val_fraction * len(pairs))))
    val, train = sorted(order[:n_val]), sorted(order[n_val:])
    names = ", ".join(pairs[i][0].stem for i in val)
    files = {"train": [pairs[i][0].name for i in train], "val": [pairs[i][0].name for i in val]}
    return ([images[i] for i in train], [instances[i] for i in train],
            [images[i] for i in val], [instances[i] for i in val],
            f"{root}: {len(train)} training and {n_val} validation images "
            f"(validation: {names}; seed {cfg.seed})", files)


def load_split(cfg) -> Split:
    """The training and validation data of a TrainConfig (``cfg.data``)."""
    files = None
    if cfg.data == "synthetic":
        tr_im, tr_inst, va_im, va_inst, text = _synthetic(cfg)
    elif cfg.data == "isbi2012":
        tr_im, tr_inst, va_im, va_inst, text = _isbi(cfg)
    elif Path(cfg.data).is_dir():
        tr_im, tr_inst, va_im, va_inst, text, files = _folder(cfg)
    else:
        raise ValueError(f"data must be 'synthetic', 'isbi2012' or a folder with images/ and "
                         f"labels/, got {cfg.data!r} (no such folder)")
    pairs = [_targets(inst, cfg) for inst in tr_inst]
    val_targets = [_targets(inst, cfg)[0] for inst in va_inst]
    if cfg.data == "isbi2012":  # the membrane labels themselves are the targets (255 -> 1)
        pairs = [((inst > 0).astype(np.int64), w) for inst, (_, w) in zip(tr_inst, pairs)]
        val_targets = [(inst > 0).astype(np.int64) for inst in va_inst]
    return Split(tr_im, [p[0] for p in pairs], [p[1] for p in pairs],
                 va_im, val_targets, va_inst, text, files)
