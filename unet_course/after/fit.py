"""Training and predicting ANY segmentation network with the course's pieces.

``unet_course.train`` trains the U-Net of Fig. 1 (it builds the model itself). The networks of
lesson 10 (U-Net++, DeepLabV3+) use padded convs (output size = input size) and U-Net++ adds
deep supervision, so this module is a short second loop around the same ``train_step`` (the
model's own loss passed in) that reuses the course's pieces: ``TileDataset`` (mirror-extended
tiles, Fig. 2), ``Augment`` (elastic deformation, Sec. 3.1), ``training_targets`` (separation
borders + Eq. 2's weight map) and ``weighted_cross_entropy`` (Eq. 1) or U-Net++'s BCE + Dice.
Every model gets the same tiles, optimiser and budget, so the comparison of lesson 10 is fair.

Tiles: for a valid U-Net the tile's output window is what the network predicts (252 -> 68 at
depth 4); a padded network predicts the whole tile, and the loss is taken on the central window
of ``TileDataset(input_size=tile, depth=1)`` (256 -> 240: an 8 px margin, so the zero padding at
the tile's edge is not trained on; the mirrored context around it is real-looking image).

Budget: ``seconds`` of process CPU time (``time.process_time``) on a CPU, which counts only
this process's work and so stays fair when other programs share the cores; wall time on a GPU.
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
    history: list            # one dict per step: step, seconds, loss (+ val_* where validated)


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


def _clock(device) -> Callable[[], float]:
    if device.type == "cpu":
        return time.process_time
    return lambda: (torch.cuda.synchronize() if device.type == "cuda" else None) or time.perf_counter()


def fit(model, images, targets, weights=None, *, steps: int | None = None,
        seconds: float | None = None, tile: int = 256, batch: int = 4, lr: float = 1e-3,
        loss: str = "ce", deep_supervision: bool = False, elastic: bool = True, seed: int = 0,
        device=None, validate: Callable | None = None, val_every: int = 50,
        progress: bool = False) -> FitResult:
    """Train ``model`` with Adam on random tiles of ``images`` until ``steps`` or ``seconds``.

    targets/weights: lists like the images (``targets_for``); loss: "ce" (Eq. 1) or
    "bce_dice" (U-Net++); deep_supervision: average the loss over ``model.forward_heads``;
    validate(model) -> dict of numbers, called every ``val_every`` steps and at the end (the
    model is in eval mode during the call)."""
    from tqdm.auto import tqdm
    from ..augment import Augment
    from ..data import TileDataset
    from ..model import center_crop
    from ..train.loop import batches, train_step
    if steps is None and seconds is None:
        raise ValueError("give steps or seconds (the training budget)")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    if deep_supervision and not hasattr(model, "forward_heads"):
        raise ValueError(f"deep_supervision needs a model with forward_heads (U-Net++), got "
                         f"{type(model).__name__}")
    device = torch.device(device or next(model.parameters()).device)
    model.to(device)
    depth, window, padded = _window(model, tile)
    augment = Augment(elastic=elastic, flip=True, backend="torch")
    data = TileDataset(images, targets, weights, input_size=tile, depth=depth,
                       tiles_per_epoch=2 ** 62, augment=augment, seed=seed)
    torch.manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn, clock = LOSSES[loss], _clock(device)
    history, step, spent = [], 0, 0.0
    bar = tqdm(total=steps, disable=not progress, desc=type(model).__name__, leave=False)

    def crop(logits):  # padded nets predict the whole tile; keep the central window
        return center_crop(logits, window) if padded else logits

    def objective(model, image, target, weight):  # padded nets: loss on the central window
        if deep_supervision:
            return deep_supervision_loss([crop(h) for h in model.forward_heads(image)],
                                         target, weight, loss_fn)
        return loss_fn(crop(model(image)), target, weight)

    model.train()
    tiles = batches(data, 0, batch)
    while (steps is None or step < steps) and (seconds is None or spent < seconds):
        start = clock()
        try:
            value = train_step(model, optimizer, [t.to(device) for t in next(tiles)],
                               loss_fn=objective)
        except FloatingPointError as error:
            raise FloatingPointError(f"non-finite loss at step {step + 1} ({error}): "
                                     f"lower the lr") from None
        step += 1
        spent += clock() - start
        record = {"step": step, "seconds": spent, "loss": float(value)}
        if validate is not None and step % val_every == 0:
            record.update(_validated(model, validate))
        history.append(record)
        bar.update(1)
    bar.close()
    if validate is not None and history and step % val_every:  # the final state, validated
        history[-1].update(_validated(model, validate))
    return FitResult(model.eval(), step, spent, history)


def _validated(model, validate) -> dict:
    model.eval()
    try:
        return {f"val_{k}": float(v) for k, v in validate(model).items()}
    finally:
        model.train()


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
