"""Overlap-tile prediction (Sec. 1, Fig. 2; the tile-size rule: Sec. 2): predict an image of any size tile by tile, exactly.

"This strategy allows the seamless segmentation of arbitrarily large images by an overlap-tile
strategy (see Figure 2). To predict the pixels in the border region of the image, the missing
context is extrapolated by mirroring the input image. This tiling strategy is important to
apply the network to large images, since otherwise the resolution would be limited by the GPU
memory." (Sec. 2)

How it works (lesson 08):

1. The network needs ``margin`` pixels of context on each side of its output: 92 for the paper's
   depth-4 net, computed from the model ((n - model.output_size(n)) / 2), not typed in.
2. The output tile (388 x 388 for a 572 input tile) moves over the image in steps; each input
   tile is the output tile plus the margin, cut from the image with the course's ONE mirror
   extrapolation (``unet_course.data.mirrored_window``; no padded copy of the image is made).
3. Exactness: a valid-conv U-Net's output depends on where its 2x2 max-pool windows fall. If
   every tile starts at a multiple of 2**depth (16) pixels from the first, all tiles share the
   pooling grid of ONE forward pass over the whole mirror-padded image, and the stitched result
   equals that pass (to float rounding, < 1e-5). Valid output tiles are 4 mod 16 at depth 4
   (388), so the default step is the largest multiple of 16 not above the output tile (384):
   tiles overlap by 4 pixels. Steps off that grid raise a ValueError (``exact=False`` allows
   them, to show the seams it makes).
4. Tiles go through the network in batches of ``batch_size``: memory is bounded by one batch,
   whatever the image size. The model runs in eval mode (drop-out off) under
   ``torch.inference_mode()``.

Test-time augmentation (``tta``): for ISBI 2012 the paper averaged the predictions of rotated
inputs (Sec. 4: "The u-net (averaged over 7 rotated versions of the input data) achieves ...";
it does not say which 7). ``tta=True`` (or "d4") averages all 8 flips and 90-degree rotations,
``tta="flips"`` only the 4 flips (cheaper; a course option). Probabilities are averaged.

Inputs are images (H, W), or (C, H, W) for a model with C input channels. The whole image
is first brought into the form the model was trained on (``normalize.prepare_image``: a
trained course model normalises it by its own percentiles, so uint8, uint16 or float raw
intensities of any range give the same prediction; a bare ``UNet`` takes floats as they are
and scales uint8 / uint16 by 255 / 65535), then cut into tiles; the model standardises each
tile with fixed constants (``unet_course.normalize.StandardizedUNet``). Padded-conv models (padding="same") work too: the margin is then the
network's reach (``context_margin``) and the network's output is cropped by it.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch

from . import sizes
from .data import mirrored_window
from .normalize import prepare_image

__all__ = ["TilePlan", "context_margin", "default_tile_size", "tile_grid", "plan_tiles",
           "predict_tiled", "predict_whole", "predict_naive", "DIHEDRAL", "FLIPS"]

# Default tile memory: the paper's 572 tile at the paper's width (64); wider tiles for narrower nets.
TILE_BUDGET = 64 * 572 ** 2
# (rotations by 90 degrees, flip left-right) for the 8 symmetries of the square, and the 4 flips.
DIHEDRAL = tuple((k, f) for f in (False, True) for k in range(4))
FLIPS = ((0, False), (0, True), (2, False), (2, True))  # none, lr, ud + lr (= rot 180), ud


class TilePlan(NamedTuple):
    """Where the tiles go: input and output tile (h, w), step (h, w), margin, tile starts."""

    tile_in: tuple[int, int]
    tile_out: tuple[int, int]
    step: tuple[int, int]
    margin: int
    starts: list[tuple[int, int]]


def _pair(value, name: str) -> tuple[int, int]:
    pair = (value, value) if not isinstance(value, (tuple, list)) else tuple(value)
    if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1
                             for v in pair):
        raise ValueError(f"{name} must be a positive integer or a pair (h, w) of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def _grid(model) -> int:
    return 2 ** model.depth


def _valid_at_least(model, n: int) -> int:
    """The smallest input size >= n that the model takes, in closed form (lesson 01): for valid
    convs n = 2^d k + 4 (2^d - 1) from ``sizes.smallest_valid_input_size`` on (188, 204, ... at
    depth 4); for padding="same" the multiples of 2^d."""
    if model.padding == "valid":
        return sizes.valid_input_size_at_least(n, model.depth)
    g = _grid(model)
    return max(-(-n // g) * g, g)


def context_margin(model) -> int:
    """Pixels of context the network needs on each side of an output pixel: for valid convs
    (n - model.output_size(n)) / 2 at any valid n (92 for depth 4). For padding="same" the
    network's reach, which keeps the zero padding out of the kept output: the valid net's
    total_shrink / 2 plus up to 2**depth - 1 pixels by which the pooling windows reach further
    to one side (measured with gradients: 92 to 107 at depth 4); we take total_shrink / 2 + 2**depth."""
    if model.padding != "valid":
        return sizes.total_shrink(model.depth) // 2 + _grid(model)
    n = sizes.smallest_valid_input_size(model.depth)  # 188 at depth 4
    return (n - model.output_size(n)) // 2


def _check_tile(model, n: int, margin: int) -> int:
    """The output size kept from an n-pixel input tile; ValueError for unusable tiles."""
    model.output_size(n)  # raises the sizes module's error naming the nearest valid sizes
    out, g = n - 2 * margin, _grid(model)
    if out < g:
        bigger = _valid_at_least(model, max(n + 1, 2 * margin + g))
        raise ValueError(f"tile size {n} leaves an output tile of {out} pixel(s), smaller than "
                         f"the pooling grid of {g} pixels the tile step must keep; use a tile "
                         f"of {bigger} or more")
    return out


def _axis_count(n: int, tile_out: int, step: int) -> int:
    """How many output tiles, `step` apart, cover an n-pixel axis."""
    return 1 if n <= tile_out else -(-(n - tile_out) // step) + 1


def _axis_starts(n: int, tile_out: int, step: int) -> list[int]:
    """0, step, 2 step, ... until the last output tile reaches the end of an n-pixel axis."""
    return [k * step for k in range(_axis_count(n, tile_out, step))]


def tile_grid(image_shape, tile_out, step) -> list[tuple[int, int]]:
    """Top-left corners (row, column) of the output tiles that cover an image, row by row.

    Tiles start at 0, step, 2 step, ... on each axis (so all of them stay on a grid of `step`),
    as few as cover the image: the last one may reach past the image's end (its input is then
    mirrored further and the extra output is dropped). ``tile_out`` and ``step`` are ints or
    (h, w) pairs; step <= tile_out, otherwise pixels between tiles would be missed.

    >>> tile_grid((500, 300), 388, 384)
    [(0, 0), (384, 0)]
    """
    (h, w), out, step = _pair(image_shape, "image_shape"), _pair(tile_out, "tile_out"), _pair(step, "step")
    if step[0] > out[0] or step[1] > out[1]:
        raise ValueError(f"step {step} is larger than the output tile {out}: the pixels between "
                         f"tiles would get no prediction; use a step <= the output tile")
    return [(top, left) for top in _axis_starts(h, out[0], step[0])
            for left in _axis_starts(w, out[1], step[1])]


def _cheapest_tile(model, n_pixels: int, margin: int, largest: int) -> int:
    """The input tile size (valid for the model, <= largest) with the least work along one axis:
    number of tiles x tile size. One tile when the image fits into one."""
    g, best = _grid(model), None
    n = _valid_at_least(model, 2 * margin + g)  # the smallest tile whose output holds a step
    while True:
        out = n - 2 * margin
        cost = _axis_count(n_pixels, out, out // g * g) * n
        if best is None or cost < best[0]:
            best = (cost, n)
        if out >= n_pixels or n + g > max(largest, best[1]):
            return best[1]
        n += g


def default_tile_size(model, image_shape) -> tuple[int, int]:
    """The tile (h, w) that ``predict_tiled`` uses when none is given: at most the paper's
    572 x 572 at width 64 (larger for narrower nets, same memory per tile), and on each axis the
    size that needs the least computation (a single tile when the image fits into one)."""
    h, w = _pair(image_shape, "image_shape")
    largest = int(572 * math.sqrt(64 / model.base_channels))
    margin = context_margin(model)
    return (_cheapest_tile(model, h, margin, largest), _cheapest_tile(model, w, margin, largest))


def plan_tiles(model, image_shape, tile_size=None, step=None, exact: bool = True,
               shift: int = 0) -> TilePlan:
    """Tile sizes, step and tile starts for an image of `image_shape` (H, W).

    ``tile_size``: input tile side (or (h, w)), e.g. 572 for the paper's net; None picks
    ``default_tile_size``. ``step``: None = the largest multiple of 2**depth not above the
    output tile (exact); another value must be a multiple of 2**depth unless exact=False.
    ``shift``: move the whole grid up and left by that many pixels (tiles start at k step - shift;
    lesson 08's widget); exact only for multiples of 2**depth."""
    shape = _pair(image_shape, "image_shape")
    margin, g = context_margin(model), _grid(model)
    tile_in = default_tile_size(model, shape) if tile_size is None else _pair(tile_size, "tile_size")
    tile_out = tuple(_check_tile(model, n, margin) for n in tile_in)
    if step is None:
        step = tuple(o // g * g for o in tile_out)
    step = _pair(step, "step")
    if exact and (step[0] % g or step[1] % g):
        near = sorted({s // g * g or g for s in step} | {(s // g + 1) * g for s in step})
        raise ValueError(f"step {step} is not a multiple of 2**depth = {g}: tiles would fall off "
                         f"the max-pooling grid and the result would differ from one pass over "
                         f"the whole image (seams). Use a multiple of {g} (e.g. "
                         f"{', '.join(map(str, near))}) or pass exact=False")
    if isinstance(shift, bool) or not isinstance(shift, (int, np.integer)) or shift < 0:
        raise ValueError(f"shift must be a whole number of pixels >= 0, got {shift!r}")
    if exact and shift % g:
        raise ValueError(f"shift {shift} is not a multiple of 2**depth = {g}: the tiles would fall "
                         f"off the max-pooling grid; use a multiple of {g} or pass exact=False")
    starts = tile_grid((shape[0] + shift, shape[1] + shift), tile_out, step)
    return TilePlan(tile_in, tile_out, step, margin, [(t - shift, l - shift) for t, l in starts])


def _as_input(model, image) -> np.ndarray:
    """The image as (C, H, W) float32 for a model with C input channels, normalised by the
    model's own rule (``unet_course.normalize.prepare_image``: the trained course models
    normalise by the image's percentiles, so any dtype and value range works)."""
    image, c = np.asarray(image), model.in_channels
    if image.ndim == 2 and c == 1:
        image = image[None]
    if image.ndim != 3 or image.shape[0] != c or min(image.shape[1:]) < 1:
        want = "(H, W) or (1, H, W)" if c == 1 else f"({c}, H, W)"
        raise ValueError(f"the model takes {c} input channel(s): expected an image of shape "
                         f"{want}, got shape {image.shape}")
    return np.ascontiguousarray(prepare_image(model, image))


def _zero_context(margin: int, tile_out: tuple[int, int]):
    """A window cutter for the naive tiling: the output block's own pixels, zeros around them
    (no neighbours' pixels, no mirror)."""
    def cut(array, top, left, height, width):
        window = np.zeros(array.shape[:-2] + (height, width), array.dtype)
        block = array[..., top + margin:top + margin + tile_out[0], left + margin:left + margin + tile_out[1]]
        window[..., margin:margin + block.shape[-2], margin:margin + block.shape[-1]] = block
        return window
    return cut


def _run_plan(model, x, plan, batch_size, softmax, device, bar, cut=mirrored_window):
    """Predict the (C, H, W) image `x` tile by tile as `plan` says; (classes, H, W) float32."""
    (nh, nw), (oh, ow), m = plan.tile_in, plan.tile_out, plan.margin
    crop_h, crop_w = (nh - model.output_size(nh)) // 2, (nw - model.output_size(nw)) // 2
    crop_h, crop_w = m - crop_h, m - crop_w  # 0 for valid convs; the margin for "same"
    h, w = x.shape[-2:]
    out = np.empty((model.num_classes, h, w), np.float32)
    for i in range(0, len(plan.starts), batch_size):
        batch = plan.starts[i:i + batch_size]
        tiles = np.stack([cut(x, top - m, left - m, nh, nw) for top, left in batch])
        y = model(torch.from_numpy(tiles).to(device))
        y = y[..., crop_h:crop_h + oh, crop_w:crop_w + ow]
        y = (torch.softmax(y.float(), dim=1) if softmax else y.float()).cpu().numpy()
        for (top, left), tile in zip(batch, y):
            r0, c0, r1, c1 = max(top, 0), max(left, 0), min(top + oh, h), min(left + ow, w)
            out[:, r0:r1, c0:c1] = tile[:, r0 - top:r1 - top, c0 - left:c1 - left]
        if bar is not None:
            bar.update(len(batch))
    return out


def _transforms(tta):
    if tta is False or tta is None:
        return ((0, False),)
    if tta is True or tta == "d4":
        return DIHEDRAL
    if tta == "flips":
        return FLIPS
    raise ValueError(f"tta must be False, True (or 'd4': 8 flips and rotations) or 'flips' "
                     f"(the 4 flips only), got {tta!r}")


def _forward_t(x, k, flip):
    x = np.flip(x, -1) if flip else x
    return np.ascontiguousarray(np.rot90(x, k, axes=(-2, -1)))


def _inverse_t(y, k, flip):
    y = np.rot90(y, -k, axes=(-2, -1))
    return np.flip(y, -1) if flip else y


def predict_tiled(model, image, tile_size=None, batch_size: int = 4, tta=False,
                  output: str = "probabilities", progress=None, device=None, step=None,
                  exact: bool = True, shift: int = 0, _cut=mirrored_window) -> np.ndarray:
    """Predict an image of any size by overlapping, mirror-extended tiles (Sec. 1, Fig. 2).

    image: (H, W) or (C, H, W), normalised by the model's rule first (``_as_input``); tile_size:
    input tile side or (h, w) (None: see ``default_tile_size``); batch_size: tiles per forward
    pass (bounds the memory); tta: False, True/"d4" (8 flips and rotations) or "flips" (4);
    output: "probabilities" (soft-max over
    classes, the default) or "logits"; progress: None (a tqdm bar when there are more than 16
    tiles), True or False; device: where the model runs (None: where its weights are; a device
    moves the model there); step, exact, shift: see ``plan_tiles``.

    Returns a float32 array (num_classes, H, W), exactly the image's size; with exact steps it
    equals one forward pass over the whole mirror-padded image (``predict_whole``) to < 1e-5.
    """
    if output not in ("probabilities", "logits"):
        raise ValueError(f"output must be 'probabilities' or 'logits', got {output!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    x, transforms = _as_input(model, image), _transforms(tta)
    if device is not None:
        model.to(device)
    device = next(model.parameters()).device
    shapes = [x.shape[-2:] if k % 2 == 0 else x.shape[-2:][::-1] for k, _ in transforms]
    plans = {s: plan_tiles(model, s, tile_size, step, exact, shift) for s in set(shapes)}
    total = sum(len(plans[s].starts) for s in shapes)
    bar = None
    if progress or (progress is None and total > 16):
        from tqdm.auto import tqdm
        bar = tqdm(total=total, desc="tiles", unit="tile")
    training = [m for m in model.modules() if m.training]  # usually none: no eval() to undo
    if training:
        model.eval()
    try:
        with torch.inference_mode():
            result = None
            for (k, flip), shape in zip(transforms, shapes):
                y = _run_plan(model, _forward_t(x, k, flip), plans[shape], int(batch_size),
                              output == "probabilities", device, bar, _cut)
                y = _inverse_t(y, k, flip)
                result = y if result is None else result + y
    finally:
        for m in training:  # each module back in the mode it had
            m.training = True
        if bar is not None:
            bar.close()
    return result / len(transforms) if len(transforms) > 1 else np.ascontiguousarray(result)


def _covering_tile(model, n_pixels: int, margin: int) -> int:
    """The smallest input tile whose output covers n_pixels (and holds one step of 2^depth)."""
    return _valid_at_least(model, max(n_pixels, _grid(model)) + 2 * margin)


def predict_whole(model, image, output: str = "probabilities", device=None) -> np.ndarray:
    """ONE forward pass over the whole mirror-padded image (the reference that overlap-tile
    prediction reproduces): the smallest valid input that covers the image plus its margin."""
    h, w = np.shape(image)[-2:]
    margin = context_margin(model)
    tile = (_covering_tile(model, h, margin), _covering_tile(model, w, margin))
    return predict_tiled(model, image, tile_size=tile, output=output, device=device, progress=False)


def predict_naive(model, image, tile_size, batch_size: int = 4, output: str = "probabilities",
                  device=None) -> np.ndarray:
    """What overlap-tile avoids: non-overlapping tiles, each with ZERO context around it instead
    of its neighbours' pixels (or the mirror at the border). Shows seams; for comparison only."""
    margin = context_margin(model)
    out = tuple(_check_tile(model, n, margin) for n in _pair(tile_size, "tile_size"))
    return predict_tiled(model, image, tile_size, batch_size, output=output, device=device,
                         step=out, exact=False, progress=False, _cut=_zero_context(margin, out))
