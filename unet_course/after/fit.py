"""Training and predicting ANY segmentation network with the course's pieces.

``fit`` is a thin call of the U-Net's own loop, ``unet_course.train.train``, with the network,
its loss and the images passed in: the networks of lesson 10 (U-Net++, DeepLabV3+) go through
the same ``train_step``, tiles (``TileDataset``: mirror-extended, Fig. 2), augmentation
(``Augment``: elastic deformation, Sec. 3.1), logging, checkpoints and resume (``out=``,
``resume=``) as the U-Net. They use padded convs (output size = input size) and U-Net++ adds
deep supervision, so what fit adds is the loss: ``weighted_cross_entropy`` (Eq. 1) or
U-Net++'s BCE + Dice, on the central window, averaged over the heads with deep supervision.
Targets come from ``training_targets`` (separation borders + Eq. 2's weight map). Every model
gets the same tiles, optimiser and budget, so the comparison of lesson 10 is fair.

Tiles: for a valid U-Net the tile's output window is what the network predicts (252 -> 68 at
depth 4); a padded network predicts the whole tile, and the loss is taken on the central window
of ``TileDataset(input_size=tile, depth=1)`` (256 -> 240: an 8 px margin, so the zero padding at
the tile's edge is not trained on; the mirrored context around it is real-looking image).

Budget: ``seconds`` of process CPU time (``time.process_time``) on a CPU, which counts only
this process's work and so stays fair when other programs share the cores; wall time on a GPU.
Settings: Adam (lr), no lr drop, no weight average, float32, flips and (``elastic``) the
paper's deformation. With ``out``, the run folder is the U-Net's (config.json, metrics.csv,
checkpoint.pt; model.pt for a U-Net only, see ``train``).
"""
from __future__ import annotations

import time
from typing import Callable, NamedTuple

import numpy as np
import torch

from ..loss import weighted_cross_entropy
from .dice import bce_dice_loss, deep_supervision_loss

__all__ = ["FitResult", "targets_for", "fit", "predict_probabilities", "predict_instances"]

LOSSES = {"ce": weighted_cross_entropy, "bce_dice": bce_dice_loss}


class FitResult(NamedTuple):
    model: torch.nn.Module   # eval mode
    steps: int
    seconds: float           # training time (CPU time on a CPU, wall time on a GPU)
    history: list            # one dict per step: step, loss, lr, seconds (+ val_* where validated)


def targets_for(instances, weight_map: bool = True, w0: float = 10.0, sigma: float = 5.0):
    """(targets, weights) for a list of instance images: separation borders and Eq. 2's
    weight map (``training_targets``), or all-one weights when ``weight_map`` is False."""
    from ..data import training_targets
    pairs = [training_targets(np.asarray(inst), w0=w0, sigma=sigma) for inst in instances]
    return ([t for t, _ in pairs],
            [w if weight_map else np.ones_like(w) for _, w in pairs])


def _window(model, tile: int) -> tuple[int, int, bool]:
    """(TileDataset depth, output window, padded?) for this model and tile size."""
    from ..sizes import output_size
    out = model.output_size(tile)      # ValueError for a tile this model cannot take
    if out == tile:                    # padded convs: loss on the central window (8 px margin)
        return 1, output_size(tile, 1), True
    depth = model.depth
    if output_size(tile, depth) != out:
        raise ValueError(f"cannot match the model's output {out} for a {tile} tile")
    return depth, out, False


def _clock(device) -> Callable[[], float] | None:
    """Process CPU time on a CPU; None on a GPU: train's wall clock (the loss's .item() in
    every step waits for the GPU)."""
    return time.process_time if device.type == "cpu" else None


def fit(model, images, targets, weights=None, *, steps: int | None = None,
        seconds: float | None = None, tile: int = 256, batch: int = 4, lr: float = 1e-3,
        loss: str = "ce", deep_supervision: bool = False, elastic: bool = True, seed: int = 0,
        device=None, validate: Callable | None = None, val_every: int = 50,
        progress: bool = False, out=None, resume: bool = False) -> FitResult:
    """Train ``model`` with Adam on random tiles of ``images`` until ``steps`` or ``seconds``.

    targets/weights: lists like the images (``targets_for``); loss: "ce" (Eq. 1) or
    "bce_dice" (U-Net++); deep_supervision: average the loss over ``model.forward_heads``;
    validate(model) -> dict of numbers, called every ``val_every`` steps and at the end (the
    model is in eval mode during the call); out/resume: a run folder, as ``train``'s.
    A non-finite loss raises ``TrainingDiverged`` (a FloatingPointError) naming the step."""
    from ..train.config import make_config
    from ..train.loop import train
    from ..train.sources import Split
    if steps is None and seconds is None:
        raise ValueError("give steps or seconds (the training budget)")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    if deep_supervision and not hasattr(model, "forward_heads"):
        raise ValueError(f"deep_supervision needs a model with forward_heads (U-Net++), got "
                         f"{type(model).__name__}")
    device = torch.device(device or next(model.parameters()).device)
    depth, window, padded = _window(model, tile)
    cfg = make_config("cpu", steps=steps, minutes=None if seconds is None else seconds / 60,
                      tile=tile, depth=depth, batch=batch, optimizer="adam", lr=lr, lr_drop=0.0,
                      ema=0.0, elastic=elastic, flip=True, seed=seed, device=str(device),
                      amp=False, val_every=val_every)
    if weights is None:  # every pixel weight 1
        weights = [np.ones(np.shape(t), np.float32) for t in targets]
    split = Split(train_images=list(images), train_targets=list(targets),
                  train_weights=list(weights), val_images=[], val_targets=[], val_instances=[],
                  description=f"{len(images)} training images given to fit")
    check = None if validate is None else (
        lambda m: {f"val_{k}": float(v) for k, v in validate(m).items()})
    run = train(cfg, out=out, resume=resume, progress=progress, model=model,
                loss_fn=_objective(LOSSES[loss], window if padded else None, deep_supervision),
                split=split, validate=check, clock=_clock(device))
    history = [{k: v for k, v in row.items() if v is not None} for row in run.history]
    return FitResult(run.model, run.steps, run.seconds, history)


def _objective(loss_fn, window: int | None, deep_supervision: bool):
    """The loss train() calls: on the central ``window`` of a padded network's logits (the
    tile's target window), averaged over U-Net++'s heads with deep supervision."""
    from ..model import center_crop

    def crop(logits):  # padded nets predict the whole tile; keep the central window
        return center_crop(logits, window) if window is not None else logits

    def objective(model, image, target, weight):
        if deep_supervision:
            return deep_supervision_loss([crop(h) for h in model.forward_heads(image)],
                                         target, weight, loss_fn)
        return loss_fn(crop(model(image)), target, weight)
    return objective


@torch.no_grad()
def predict_probabilities(model, image: np.ndarray, context: int = 16) -> np.ndarray:
    """p(class 1), (H, W), for a whole image: one pass over its mirror extension.

    A valid U-Net gets exactly its border (``train.validate.predict_image``); a padded network
    gets ``context`` mirrored pixels on each side, rounded up so that the padded size is a
    multiple of 16 (both U-Net++ of depth 4 and DeepLabV3+ at output stride 16 need it)."""
    from ..data import mirrored_window
    from ..train.validate import predict_image
    image = np.asarray(image, np.float32)
    if getattr(model, "padding", None) == "valid":
        return predict_image(model, image)
    (h, w), step = image.shape, 16
    H, W = -(-(h + 2 * context) // step) * step, -(-(w + 2 * context) // step) * step
    top, left = (H - h) // 2, (W - w) // 2
    x = mirrored_window(image, -top, -left, H, W)
    device = next(model.parameters()).device
    logits = model(torch.from_numpy(np.ascontiguousarray(x))[None, None].to(device))
    return torch.softmax(logits.float(), 1)[0, 1, top:top + h, left:left + w].cpu().numpy()


def predict_instances(model, image: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Cells as the 4-connected components of p(cell) > threshold (int32, 0 = background):
    touching cells come apart only where the network draws the border between them."""
    from skimage.measure import label
    return label(predict_probabilities(model, image) > threshold, connectivity=1).astype(np.int32)
