"""Torch back end of `unet_course.augment`: the same augmentations, batched and on any device.

Same semantics as the numpy/scipy back end (read that one first):

- the dense field is the SAME cubic spline through the control values; because it is
  separable and linear in the control values, it is two small matrix products
  ``M_rows @ coarse @ M_cols.T`` (each matrix column is the spline through one unit control
  value), identical to scipy's up to float rounding;
- ``F.grid_sample(..., align_corners=True, padding_mode="reflection")`` samples the input at
  x + field(x); with aligned corners, -1 and +1 are the centres of the first and last pixel,
  so "reflection" mirrors about the edge pixel centre, exactly scipy's ``mode="mirror"``;
- images use ``mode="bicubic"`` (a cubic *convolution* kernel, a = -0.75, not scipy's
  prefiltered cubic B-spline: values differ slightly at sharp edges), labels AND weight maps
  "nearest" (values are copied, never invented or averaged: Eq. 2's thin ridges between cells
  keep their height, see the numpy back end). Bicubic outputs are clipped to each input's
  range, as in the numpy back end.

Shapes: images (N, C, H, W); a (H, W) or (N, H, W) tensor is accepted and returned in its
own shape. The work runs on the tensors' device (a GPU when there is one).
"""
from __future__ import annotations

import functools
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from .params import AugmentParams, _check_grid, _check_shape, _check_sigma, as_generator

__all__ = ["spline_matrix", "dense_field", "sampling_grid", "warp", "elastic_deform",
           "apply_batch", "augment_batch", "apply_numpy"]

_MODES = ("bicubic", "bilinear", "nearest")


@functools.lru_cache(maxsize=128)
def _spline_matrix(n: int, g: int) -> np.ndarray:
    where = np.linspace(0, g - 1, n)[None]  # grid coordinate of each of the n pixels
    columns = [ndimage.map_coordinates(e, where, order=3, mode="mirror") for e in np.eye(g)]
    return np.stack(columns, axis=1)  # (n, g)


def spline_matrix(n: int, g: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """(n, g) matrix: column k is the cubic spline through control value 1 at point k, 0 elsewhere."""
    return torch.as_tensor(_spline_matrix(int(n), int(g)), device=device, dtype=dtype)


def dense_field(coarse: torch.Tensor, shape) -> torch.Tensor:
    """Per-pixel displacement (N, 2, H, W) from control values (N, 2, gy, gx) or (2, gy, gx)."""
    coarse = torch.as_tensor(coarse)
    given = tuple(coarse.shape)
    squeeze = coarse.ndim == 3
    if squeeze:
        coarse = coarse[None]
    if coarse.ndim != 4 or coarse.shape[1] != 2 or min(coarse.shape[2:]) < 2:
        raise ValueError(f"coarse must have shape (N, 2, gy, gx) or (2, gy, gx) with gy, gx >= 2, "
                         f"got {given}")
    h, w = _check_shape(shape)
    if not coarse.is_floating_point():
        coarse = coarse.float()
    rows = spline_matrix(h, coarse.shape[2], coarse.device, coarse.dtype)  # (H, gy)
    cols = spline_matrix(w, coarse.shape[3], coarse.device, coarse.dtype)  # (W, gx)
    field = rows @ coarse @ cols.T  # (N, 2, H, W)
    return field[0] if squeeze else field


def sampling_grid(shape, coarse=None, angle=None, shift=None, n: int = 1,
                  device=None, dtype=torch.float32) -> torch.Tensor:
    """Where each output pixel looks, as grid_sample's (N, H, W, 2) grid: c + R(x + d(x) - c) + t.

    coarse: (N, 2, g, g) control values (rows, columns) or None; angle: N angles in degrees
    or None; shift: (N, 2) pixels (rows, columns) or None. The torch twin of
    `augment.total_field`. grid_sample wants (x, y) in [-1, 1], -1 and +1 being the centres
    of the first and last pixel (align_corners=True), so pixel p of n sits at 2p / (n - 1) - 1;
    everything is computed in those units (the field is linear in the control values, so we
    scale the control values instead of the dense field).
    """
    h, w = _check_shape(shape)
    sy, sx = 2.0 / (h - 1), 2.0 / (w - 1)  # pixels -> normalised units
    base = torch.empty(h, w, 2, device=device, dtype=dtype)
    base[..., 0] = torch.linspace(-1, 1, w, device=device, dtype=dtype)  # x: columns
    base[..., 1] = torch.linspace(-1, 1, h, device=device, dtype=dtype)[:, None]  # y: rows
    if coarse is None:
        grid = base.expand(n, h, w, 2).clone()
    else:
        coarse = torch.as_tensor(coarse, device=device, dtype=dtype)
        if coarse.ndim == 3:
            coarse = coarse[None]
        n = coarse.shape[0]
        scale = torch.tensor([sx, sy], device=device, dtype=dtype).view(1, 2, 1, 1)
        xy = coarse.flip(1) * scale  # (N, 2, g, g): x then y, in normalised units
        rows = spline_matrix(h, coarse.shape[2], device, dtype)  # (H, gy)
        cols = spline_matrix(w, coarse.shape[3], device, dtype)  # (W, gx)
        grid = torch.einsum("hi,ncij,wj->nhwc", rows, xy, cols) + base  # (N, H, W, 2)
    if angle is not None and any(float(a) != 0 for a in angle):
        a = torch.deg2rad(torch.as_tensor(angle, dtype=torch.float64)).view(-1, 1, 1)
        cos, sin = torch.cos(a).to(dtype).to(device), torch.sin(a).to(dtype).to(device)  # MPS has no float64
        x, y = grid[..., 0], grid[..., 1]  # rotation about the centre (0, 0), in pixel units:
        x, y = cos * x + sin * (sx / sy) * y, cos * y - sin * (sy / sx) * x
        grid = torch.stack([x, y], dim=-1)
    if shift is not None and any(float(v) != 0 for s in shift for v in s):
        t = torch.as_tensor(shift, dtype=dtype).view(-1, 2).flip(1) * torch.tensor([sx, sy], dtype=dtype)
        grid = grid + t.to(device).view(-1, 1, 1, 2)
    return grid


def _sample(x: torch.Tensor, grid: torch.Tensor, mode: str, clip: bool = True) -> torch.Tensor:
    """grid_sample an (N, C, H, W) tensor of any dtype; labels come back in their own dtype."""
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES} (images, weights, labels), got {mode!r}")
    src = x
    if not x.is_floating_point():
        src = x.to(torch.float32)  # float32 holds integers exactly up to 2**24
        if x.dtype != torch.bool and x.numel() and src.abs().max() > 2 ** 24:
            src = x.to(torch.float64)
    out = F.grid_sample(src, grid.to(src.dtype), mode=mode, padding_mode="reflection",
                        align_corners=True)
    if mode == "nearest" and not x.is_floating_point():
        return out.to(x.dtype)  # nearest copies values: no rounding needed
    if clip and mode == "bicubic":
        lo = src.amin(dim=(-2, -1), keepdim=True)
        hi = src.amax(dim=(-2, -1), keepdim=True)
        out = torch.maximum(torch.minimum(out, hi), lo)
    return out


def _as_nchw(x: torch.Tensor):
    """View a (H, W), (N, H, W) or (N, C, H, W) tensor as (N, C, H, W); return how to undo it."""
    if x.ndim == 2:
        return x[None, None], lambda y: y[0, 0]
    if x.ndim == 3:
        return x[:, None], lambda y: y[:, 0]
    if x.ndim == 4:
        return x, lambda y: y
    raise ValueError(f"expected a (H, W), (N, H, W) or (N, C, H, W) tensor, got shape {tuple(x.shape)}")


def warp(x: torch.Tensor, field: torch.Tensor, mode: str = "bicubic", clip: bool = True) -> torch.Tensor:
    """Output pixel p takes the input at p + field(p); x (N, C, H, W), field (N, 2, H, W).

    mode: "bicubic" images, "nearest" labels and weight maps ("bilinear" is there for
    comparison); borders are mirrored.
    A (H, W) tensor with a (2, H, W) field works too.
    """
    x4, undo = _as_nchw(torch.as_tensor(x))
    field = torch.as_tensor(field, device=x4.device)
    if field.ndim == 3:
        field = field[None]
    if field.shape[1:] != (2,) + tuple(x4.shape[-2:]) or field.shape[0] not in (1, x4.shape[0]):
        raise ValueError(f"field must have shape (N, 2, H, W) = {(x4.shape[0], 2) + tuple(x4.shape[-2:])}, "
                         f"got {tuple(field.shape)}")
    h, w = x4.shape[-2:]
    dtype = torch.float64 if field.dtype == torch.float64 else torch.float32
    scale = torch.tensor([2.0 / (w - 1), 2.0 / (h - 1)], device=x4.device, dtype=dtype)
    grid = sampling_grid((h, w), n=field.shape[0], device=x4.device, dtype=dtype)
    grid = (grid + field.to(dtype).flip(1).permute(0, 2, 3, 1) * scale).expand(x4.shape[0], -1, -1, -1)
    return undo(_sample(x4, grid, mode, clip))


def elastic_deform(image: torch.Tensor, *targets: torch.Tensor, grid: int = 3, sigma: float = 10.0,
                   rng=None, modes: Optional[Sequence[str]] = None, coarse=None):
    """Batched elastic deformation: one random field per sample, shared by image and targets.

    image: (N, C, H, W), (N, H, W) or (H, W); targets the same size. Default modes: "bicubic"
    for the image, "nearest" for every target (labels, instance ids, weight maps). The control
    values come from the numpy `rng`, so a seed gives the same deformation as the numpy back
    end. Returns the image alone, or a tuple (image, *targets).
    """
    image = torch.as_tensor(image)
    x4, _ = _as_nchw(image)
    n, (h, w) = x4.shape[0], x4.shape[-2:]
    tensors = (image,) + tuple(torch.as_tensor(t, device=image.device) for t in targets)
    for i, t in enumerate(tensors[1:], 1):
        if tuple(t.shape[-2:]) != (h, w):
            raise ValueError(f"all tensors must have the image's size {(h, w)}, but tensor {i} "
                             f"has shape {tuple(t.shape)}")
    modes = list(modes) if modes is not None else ["bicubic"] + ["nearest"] * len(targets)
    if len(modes) != len(tensors):
        raise ValueError(f"modes must give one mode per tensor ({len(tensors)}), got {modes!r}")
    if coarse is None:
        grid, sigma = _check_grid(grid), _check_sigma(sigma)
        coarse = as_generator(rng).normal(0.0, sigma, size=(n, 2, grid, grid))
    coarse = torch.as_tensor(np.asarray(coarse) if not torch.is_tensor(coarse) else coarse,
                             device=image.device, dtype=torch.float32)
    if coarse.ndim == 3:
        coarse = coarse[None]
    g = sampling_grid((h, w), coarse, device=image.device)
    out = []
    for t, mode in zip(tensors, modes):
        t4, undo = _as_nchw(t)
        out.append(undo(_sample(t4, g.expand(t4.shape[0], -1, -1, -1), mode)))
    return tuple(out) if targets else out[0]


def _dihedral(x: torch.Tensor, k90: int, flip: bool) -> torch.Tensor:
    x = torch.rot90(x, k90, dims=(-2, -1)) if k90 % 4 else x
    return torch.flip(x, dims=(-1,)) if flip else x


def apply_batch(params: Sequence[AugmentParams], images: torch.Tensor, targets=None, weights=None):
    """Apply one `AugmentParams` per sample to (N, C, H, W) images and (N, [C,] H, W) targets/weights."""
    images4, undo_i = _as_nchw(torch.as_tensor(images))
    if len(params) != images4.shape[0]:
        raise ValueError(f"need one AugmentParams per sample ({images4.shape[0]}), got {len(params)}")
    device = images4.device
    parts = []
    for t in (images, targets, weights):
        if t is None:
            parts.append(None)
            continue
        t4, undo = _as_nchw(torch.as_tensor(t, device=device))
        if t4.shape[0] != images4.shape[0] or t4.shape[-2:] != images4.shape[-2:]:
            raise ValueError(f"targets and weights must match the images' batch and size "
                             f"{(images4.shape[0],) + tuple(images4.shape[-2:])}, got {tuple(t.shape)}")
        if any(p.k90 % 4 or p.flip for p in params):
            t4 = torch.stack([_dihedral(t4[i], p.k90, p.flip) for i, p in enumerate(params)])
        parts.append((t4, undo))
    (img, undo_i), tgt, wgt = parts[0], parts[1], parts[2]
    h, w = img.shape[-2:]
    if any(p.moves for p in params):
        elastic = [p.coarse is not None for p in params]
        coarse = None
        if any(elastic):
            g = next(p.coarse for p in params if p.coarse is not None).shape
            coarse = torch.as_tensor(np.stack([p.coarse if p.coarse is not None else np.zeros(g)
                                               for p in params]), device=device, dtype=torch.float32)
        angle = [p.angle for p in params]
        shift = [p.shift for p in params]
        grid = sampling_grid((h, w), coarse, angle, shift, n=len(params), device=device)
        img = _sample(img, grid, "bicubic")
        if tgt is not None:
            tgt = (_sample(tgt[0], grid, "nearest"), tgt[1])
        if wgt is not None:
            wgt = (_sample(wgt[0], grid, "nearest"), wgt[1])
    contrast = torch.tensor([p.contrast for p in params], device=device).view(-1, 1, 1, 1)
    brightness = torch.tensor([p.brightness for p in params], device=device).view(-1, 1, 1, 1)
    if (contrast != 1).any() or (brightness != 0).any():
        mean = img.mean(dim=(-2, -1), keepdim=True)
        img = ((img - mean) * contrast.to(img.dtype) + mean + brightness.to(img.dtype)).clamp(0, 1)
    return (undo_i(img), None if tgt is None else tgt[1](tgt[0]),
            None if wgt is None else wgt[1](wgt[0]))


def augment_batch(augment: "Augment", images, targets=None, weights=None, rng=None):
    """Draw one augmentation per sample with `augment.sample` and apply them all at once."""
    images = torch.as_tensor(images)
    rng = as_generator(rng)
    n = 1 if images.ndim == 2 else images.shape[0]
    params = [augment.sample(rng, tuple(images.shape[-2:])) for _ in range(n)]
    return apply_batch(params, images, targets, weights)


def apply_numpy(params: AugmentParams, image, target=None, weight=None, device=None):
    """The torch back end of `Augment.apply`: numpy (H, W) arrays in and out."""
    device = torch.device(device) if device is not None else torch.device("cpu")
    arrays = [None if a is None else np.asarray(a) for a in (image, target, weight)]
    tensors = [None if a is None else torch.from_numpy(np.ascontiguousarray(a)).to(device)[None]
               for a in arrays]
    out = apply_batch([params], *tensors)
    return tuple(None if t is None else t[0].cpu().numpy().astype(a.dtype, copy=False)
                 for t, a in zip(out, arrays))
