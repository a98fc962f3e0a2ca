"""Warping error as the ISBI 2012 challenge computed it (Jain et al. 2010; Fiji's
trainableSegmentation.metrics.WarpingError, getMinimumSplitsAndMergersErrorValue(0.0, 0.9,
0.1, false, 20)).

1. Threshold the prediction (cell where ``p > th``).
2. Warp the binary label onto it by flipping *simple points* only: pixels whose flip changes
   no topology (cells 4-connected, membrane 8-connected, outside the image = membrane).
   Mismatches are visited in order of decreasing ``|p - th|`` (ties: column by column, as
   Fiji's loop adds them), each flipped if simple at that moment; passes repeat until one
   flips nothing.
3. Classify what is left (split, merge, hole addition/deletion, object addition/deletion) and
   count split and merge pixels only, divided by the pixel count; minimum over thresholds.

``mode="classic"`` counts all remaining mismatches (the warping error of Jain et al. 2010,
Fiji's getMetricValue(th)). Speed: the simple-point test is a 256-entry lookup table on the
3x3 neighbourhood code; a pass is run in "waves" (every pending pixel whose earlier-ranked
neighbours are done is decided at once, which gives exactly the sequential result).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import ndimage as ndi

from ._inputs import ISBI_THRESHOLDS, above, pair
from .rand import FOUR, _thresholds

__all__ = ["warping_error", "warp_label", "classify_mismatches", "SIMPLE_LUT", "KINDS"]

# neighbour k of the 3x3 neighbourhood code (bit k), (dy, dx)
_NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))
KINDS = ("merge", "split", "hole_addition", "hole_deletion", "object_addition",
         "object_deletion")
MERGE, SPLIT, HOLE_ADD, HOLE_DEL, OBJ_ADD, OBJ_DEL = range(6)


def _ring(code: int) -> np.ndarray:
    patch = np.zeros((3, 3), np.uint8)
    for bit, (dy, dx) in enumerate(_NEIGHBOURS):
        patch[1 + dy, 1 + dx] = (code >> bit) & 1
    return patch


def _is_simple(code: int) -> bool:
    """Simple point for (4, 8) topology: one 4-component of cell pixels 4-adjacent to the
    centre and one 8-component of membrane pixels in the ring (topological numbers T4, T8)."""
    ring = _ring(code)
    cell = ndi.label(ring, structure=FOUR)[0]
    t4 = len({cell[1 + dy, 1 + dx] for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1))} - {0})
    membrane = 1 - ring
    membrane[1, 1] = 0
    t8 = ndi.label(membrane, structure=np.ones((3, 3)))[1]
    return t4 == 1 and t8 == 1


SIMPLE_LUT = np.array([_is_simple(c) for c in range(256)], dtype=bool)


class Warp(NamedTuple):
    warped: np.ndarray      # bool: the label after simple-point flips
    target: np.ndarray      # bool: the thresholded prediction
    mismatches: np.ndarray  # (N, 2) int rows (y, x) where warped != target


def _codes(src: np.ndarray, flat: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    code = np.zeros(flat.shape, np.int32)
    for bit, off in enumerate(offsets):
        code |= src[flat + off].astype(np.int32) << bit
    return code


def _one_pass(src: np.ndarray, order: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Visit the flat indices ``order`` in turn, flipping simple ones; returns a flipped mask
    (aligned with ``order``)."""
    rank = np.full(src.shape, order.size, np.int64)
    rank[order] = np.arange(order.size)
    flipped = np.zeros(order.size, bool)
    pending = np.arange(order.size)  # positions in `order`
    while pending.size:
        here = order[pending]
        ready = np.ones(pending.size, bool)
        for off in offsets:  # an earlier-ranked neighbour still pending -> wait
            ready &= rank[here + off] > pending
        now = here[ready]
        simple = SIMPLE_LUT[_codes(src, now, offsets)]
        src[now[simple]] ^= 1
        flipped[pending[ready][simple]] = True
        rank[now] = order.size
        pending = pending[~ready]
    return flipped


def _later_passes(src: np.ndarray, order: np.ndarray, flipped: np.ndarray, offsets) -> None:
    """Passes 2, 3, ... of Fiji's loop, exactly, visiting only pixels that can change: a pixel
    that was not simple stays so until a neighbour flips. A flip makes the later-ranked
    neighbours due in this pass and the earlier-ranked ones due in the next; each pass visits
    its due pixels in rank order (a heap). Stops after a pass without flips, as Fiji."""
    import heapq
    rank = np.full(src.shape, -1, np.int64)
    rank[order[~flipped]] = np.flatnonzero(~flipped)
    # due in pass 2: remaining pixels next to a pass-1 flip of a later rank
    done = np.flatnonzero(flipped)
    due = set()
    for off in offsets:
        r = rank[order[done] + off]
        due.update(r[(r >= 0) & (r < done)].tolist())
    rank, cells, lut = rank.tolist(), bytearray(src.tobytes()), SIMPLE_LUT.tolist()
    order, offsets = order.tolist(), [int(o) for o in offsets]
    while due:
        heap, queued, next_due, any_flip = sorted(due), set(due), set(), False
        while heap:
            r = heapq.heappop(heap)
            i = order[r]
            code = 0
            for bit, off in enumerate(offsets):
                code |= cells[i + off] << bit
            if not lut[code]:
                continue
            cells[i] ^= 1
            rank[i], any_flip = -1, True
            for off in offsets:
                q = rank[i + off]
                if q > r and q not in queued:
                    queued.add(q)
                    heapq.heappush(heap, q)
                elif 0 <= q < r:
                    next_due.add(q)
        if not any_flip:
            break
        due = next_due
    src[:] = np.frombuffer(bytes(cells), np.uint8)


def warp_label(pred, label, threshold: float = 0.5) -> Warp:
    """Warp the binary ``label`` onto ``pred > threshold`` by simple-point flips (Fiji's
    simplePointWarp2d); the label's pixels outside the image count as membrane."""
    p, t = pair(pred, label)
    th = _thresholds([threshold])[0]
    h, w = p.shape
    src = np.pad(t, 1).astype(np.uint8).ravel()
    tgt = np.pad(above(p, th), 1).astype(np.uint8).ravel()
    z = np.pad(np.abs(p.astype(np.float64) - th).astype(np.float32), 1).ravel()
    offsets = np.array([dy * (w + 2) + dx for dy, dx in _NEIGHBOURS])
    mism = np.flatnonzero(src != tgt)
    y, x = np.divmod(mism, w + 2)
    order = mism[np.lexsort((y, x, -z[mism]))]  # decreasing |p - th|, then x, then y
    if order.size:
        flipped = _one_pass(src, order, offsets)  # pass 1: everything, vectorised
        if flipped.any():
            _later_passes(src, order, flipped, offsets)
    warped = src.reshape(h + 2, w + 2)[1:-1, 1:-1].astype(bool)
    target = above(p, th)
    return Warp(warped, target, np.argwhere(warped != target))


def _window_splits(warped: np.ndarray, padded: np.ndarray, y: int, x: int, radius: int) -> bool:
    """Fiji's test for a cell pixel between membrane and one cell: remove it and count the
    4-components around it in a (2r+1)^2 window (outside the image = membrane); ``padded`` is
    ``warped`` padded by ``radius``."""
    h, w = warped.shape
    if 1 <= radius <= min(h, w):
        win = padded[y:y + 2 * radius + 1, x:x + 2 * radius + 1].copy()
        cy = cx = radius
    else:
        win, cy, cx = warped.copy(), y, x
    win[cy, cx] = False
    lab = ndi.label(win, structure=FOUR)[0]
    near = lab[max(cy - 1, 0):cy + 2, max(cx - 1, 0):cx + 2]
    return np.unique(near).size > 2  # membrane plus at least two cells


def classify_mismatches(warped, mismatches, radius: int = 20) -> np.ndarray:
    """Kind (index into ``KINDS``) of each remaining mismatch, as Fiji's classifyMismatches2d:
    by the distinct cell components (4-connected) among the 8 in-image neighbours."""
    warped = np.asarray(warped, bool)
    lab = np.pad(ndi.label(warped, structure=FOUR)[0], 1, constant_values=-1)
    ys, xs = mismatches[:, 0], mismatches[:, 1]
    near = np.stack([lab[ys + 1 + dy, xs + 1 + dx] for dy, dx in _NEIGHBOURS], axis=1)
    near = np.sort(near, axis=1)
    distinct = ((near != -1) & np.concatenate(
        [np.ones((len(near), 1), bool), near[:, 1:] != near[:, :-1]], axis=1)).sum(1)
    only_membrane = near.max(1, initial=-1) == 0
    centre = warped[ys, xs]
    kind = np.where(centre, SPLIT, MERGE)                         # >= 2 cells around
    one = distinct == 1
    kind[one & only_membrane] = np.where(centre, OBJ_DEL, OBJ_ADD)[one & only_membrane]
    kind[one & ~only_membrane] = np.where(centre, HOLE_ADD, HOLE_DEL)[one & ~only_membrane]
    two = distinct == 2
    kind[two & ~centre] = HOLE_ADD
    padded = np.pad(warped, max(radius, 0))
    for i in np.flatnonzero(two & centre):
        kind[i] = SPLIT if _window_splits(warped, padded, ys[i], xs[i], radius) else HOLE_DEL
    return kind


def warping_error(pred, label, thresholds=ISBI_THRESHOLDS, mode: str = "splits_and_mergers",
                  radius: int = 20, return_threshold: bool = False):
    """ISBI 2012 warping error of cell probabilities ``pred`` against the binary ``label``.

    ``mode="splits_and_mergers"`` (the challenge): split + merge pixels left after warping,
    divided by H*W, minimum over ``thresholds`` (0.0, 0.1, ..., 0.9). ``mode="classic"``: all
    remaining mismatches (Jain et al. 2010), also minimised over ``thresholds``; pass
    ``thresholds=[0.5]`` for one threshold. ``return_threshold=True`` -> (error, threshold).
    """
    if mode not in ("splits_and_mergers", "classic"):
        raise ValueError(f"mode must be 'splits_and_mergers' or 'classic'; got {mode!r}")
    p, t = pair(pred, label)
    best, best_th = np.inf, None
    for th in _thresholds(thresholds):
        warp = warp_label(p, t, th)
        if mode == "classic":
            count = len(warp.mismatches)
        else:
            kind = classify_mismatches(warp.warped, warp.mismatches, radius)
            count = int(np.count_nonzero((kind == MERGE) | (kind == SPLIT)))
        error = count / p.size
        if error < best:
            best, best_th = error, th
    return (float(best), best_th) if return_threshold else float(best)
