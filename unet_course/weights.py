"""The weight map of the loss: w(x) = w_c(x) + w0 * exp(-(d1(x) + d2(x))^2 / (2 sigma^2)).

Paper, Sec. 3, eq. 2: "We pre-compute the weight map for each ground truth segmentation to
compensate the different frequency of pixels from a certain class in the training data set,
and to force the network to learn the small separation borders that we introduce between
touching cells [...]. The separation border is computed using morphological operations. The
weight map is then computed as

    w(x) = w_c(x) + w0 * exp(-(d1(x) + d2(x))^2 / (2 sigma^2))

where w_c is the weight map to balance the class frequencies, d1 denotes the distance to the
border of the nearest cell and d2 the distance to the border of the second nearest cell. In
our experiments we set w0 = 10 and sigma ~ 5 pixels."

Definitions used throughout this module:

- ``instances``: an integer (or boolean) array, 0 = background, positive ids = cells. Ids may
  be non-contiguous and large (2**40 in int64 is fine). A boolean array is one cell.
- d_k(x): the Euclidean distance from pixel x to the nearest pixel of cell k, in pixels, as
  ``scipy.ndimage.distance_transform_edt`` measures it (0 on the cell itself, 1 next to it).
  d1(x) <= d2(x) are the two smallest d_k(x) over all cells k.
- The border term w0 * exp(-(d1 + d2)^2 / (2 sigma^2)) is computed on background pixels only;
  it is 0 on cell pixels and 0 everywhere when there are fewer than two cells.

Deviations from the paper, and choices it leaves open:

- w_c has no formula in the paper. We give every class that is present the same total
  weight: w_c(x) = N / (n_classes * N_class(x)), N = number of pixels, N_class(x) = number of
  pixels of x's class, n_classes = number of classes present. The mean of w_c is then exactly
  1, so the border term (up to w0 = 10) stays large compared with it, as in the paper.
- "Morphological operations" for the separation border are not spelled out. We remove each
  cell pixel that has a pixel of a cell with a LARGER id in its 3x3 neighbourhood (one grey
  dilation). This leaves a background line about one pixel wide between touching cells and no
  two different cells 8-adjacent (proof in `separation_border`).
- `border_weights` is the fast, exact version: it equals `naive_border_weights` (one
  distance transform per cell over the whole image) to within ``atol`` = 1e-6 everywhere
  (a proven bound, not an approximation that usually works), and much faster; by how much
  depends on the image (see `border_weights`; `benchmarks/bench_weights.py` measures it).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import ndimage as ndi

__all__ = [
    "border_weights", "naive_border_weights", "class_balance_weights", "weight_map",
    "separation_border", "split_touching", "semantic_target", "cell_distances",
    "border_cutoff",
]


# --------------------------------------------------------------------------- validation

def _as_instances(instances, name: str = "instances") -> np.ndarray:
    """Check an instance array: integer or boolean, no negative ids, at least 1-D."""
    array = np.asarray(instances)
    if array.ndim == 0:
        raise ValueError(f"{name} must be an image (a 2-D array), got a scalar {array!r}")
    if array.dtype == bool:
        return array.astype(np.uint8)
    if array.dtype.kind not in "iu":
        raise ValueError(
            f"{name} must be an integer array (0 = background, ids > 0 = cells), got dtype "
            f"{array.dtype}; convert labels with .astype(np.int64) after checking they are whole")
    if array.dtype.kind == "i" and array.size and array.min() < 0:
        raise ValueError(f"{name} must not contain negative ids (0 = background, ids > 0 = cells), "
                         f"got the value {int(array.min())}")
    return array


def _as_2d(labels: np.ndarray) -> np.ndarray:
    if labels.ndim != 2:
        raise ValueError(f"instances must be a 2-D image (H, W), got shape {labels.shape}")
    return labels


def _check_params(w0, sigma) -> tuple[float, float]:
    w0, sigma = float(w0), float(sigma)
    if not (math.isfinite(w0) and w0 >= 0):
        raise ValueError(f"w0 must be a finite number >= 0 (the paper uses 10), got {w0}")
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a finite number > 0 pixels (the paper uses ~5), got {sigma}")
    return w0, sigma


def _border_term(d1: np.ndarray, d2: np.ndarray, cells: np.ndarray, w0: float, sigma: float) -> np.ndarray:
    """w0 * exp(-(d1 + d2)^2 / (2 sigma^2)) on the background, 0 on cells; float32.

    d1, d2 may be inf (no cell near enough): exp(-inf) = 0, never NaN.
    """
    total = d1 + d2
    weights = w0 * np.exp(-(total * total) / (2.0 * sigma * sigma))
    weights[cells] = 0.0
    return weights.astype(np.float32)


# --------------------------------------------------------------------------- naive version

def naive_border_weights(instances, w0: float = 10.0, sigma: float = 5.0) -> np.ndarray:
    """The border term of eq. 2, the obvious way (the definition; slow, for teaching and tests).

    For every cell k, one distance transform over the whole image gives d_k(x); stacking them
    and sorting along the cell axis gives d1 (the smallest) and d2 (the second smallest).
    Cost: one full-image transform per cell and a sort of a (n_cells, H, W) stack.
    Returns float32, 0 on cell pixels, 0 everywhere with fewer than two cells.
    """
    labels = _as_2d(_as_instances(instances))
    w0, sigma = _check_params(w0, sigma)
    ids = np.unique(labels)
    ids = ids[ids != 0]
    if len(ids) < 2:
        return np.zeros(labels.shape, np.float32)
    # d_k(x) for every cell k: the distance to the nearest pixel of k (edt measures the
    # distance to the nearest zero, so cell k is the zeros of `labels != k`).
    distances = np.stack([ndi.distance_transform_edt(labels != k) for k in ids])
    distances.sort(axis=0)
    return _border_term(distances[0], distances[1], labels != 0, w0, sigma)


# --------------------------------------------------------------------------- fast, exact version

def border_cutoff(w0: float = 10.0, sigma: float = 5.0, atol: float = 1e-6) -> float:
    """The distance c beyond which the border term is below ``atol``: w0 * exp(-c^2 / (2 sigma^2)) = atol.

    c = sigma * sqrt(2 ln(w0 / atol)); 28.4 px for w0 = 10, sigma = 5, atol = 1e-6.
    0 when w0 <= atol (every weight is below atol), inf when atol == 0 (no cutoff).
    """
    w0, sigma = _check_params(w0, sigma)
    if atol < 0 or not math.isfinite(atol):
        raise ValueError(f"atol must be a finite number >= 0, got {atol}")
    if atol == 0:
        return math.inf
    if w0 <= atol:
        return 0.0
    return sigma * math.sqrt(2.0 * math.log(w0 / atol))


def _cells_and_boxes(labels: np.ndarray):
    """(labels as small contiguous ints, list of (id, bounding-box slices)) for every cell."""
    top = int(labels.max()) if labels.size else 0
    if top <= 4 * labels.size + 1024:
        # Ids are small enough for find_objects, which allocates one slot per id up to the max.
        small = labels.astype(np.intp, copy=False)
    else:
        # Very large ids (e.g. 2**40): relabel to 0..n first (0 stays 0, the smallest value).
        _, inverse = np.unique(labels, return_inverse=True)
        small = inverse.reshape(labels.shape).astype(np.intp)
        if labels.min() != 0:
            small += 1  # there is no background, so id 1 is a cell, not background
    boxes = [(k, box) for k, box in enumerate(ndi.find_objects(small), start=1) if box is not None]
    return small, boxes


def cell_distances(instances, cutoff: float = math.inf, where=None) -> tuple[np.ndarray, np.ndarray]:
    """d1 and d2 (float64) of every background pixel by windowed distance transforms; exact where d1 + d2 <= cutoff.

    Each cell's distance transform is computed only inside its bounding box grown by
    floor(cutoff) - 1 pixels on every side; outside that window d_k counts as inf. On
    background pixels, the two smallest values seen are never smaller than the true d1, d2,
    and equal them wherever the true d1 + d2 <= cutoff (proof in `border_weights`). On cell
    pixels d1 = 0 is exact and d2 is >= the true d2. With cutoff = inf every transform covers the
    whole image and the result is exact everywhere (but as slow as the naive version).
    ``where`` (boolean, optional): only cells whose window holds a True pixel are transformed;
    the result is then only meaningful on those pixels.
    """
    labels = _as_instances(instances)
    small, boxes = _cells_and_boxes(labels)
    d1 = np.full(labels.shape, np.inf)
    d2 = np.full(labels.shape, np.inf)
    # Grow by g = floor(c) - 1: then a pixel outside the window has d_k >= g + 1 = floor(c),
    # and since a background pixel has d1 >= 1, d1 + d_k >= floor(c) + 1 > c (see border_weights).
    grow = max(labels.shape) if math.isinf(cutoff) else max(int(math.floor(cutoff)) - 1, 0)
    windows = [tuple(slice(max(s.start - grow, 0), min(s.stop + grow, n)) for s, n in zip(box, labels.shape))
               for _, box in boxes]
    if where is not None:
        # A summed-area table tells in O(1) whether a window holds any pixel of `where`.
        table = np.zeros(tuple(n + 1 for n in labels.shape), np.int32)
        table[1:, 1:] = np.asarray(where, bool).cumsum(0, dtype=np.int32).cumsum(1, dtype=np.int32)
        keep = [table[r.stop, c.stop] - table[r.start, c.stop] - table[r.stop, c.start]
                + table[r.start, c.start] > 0 for r, c in windows]
        boxes = [b for b, k in zip(boxes, keep) if k]
        windows = [w for w, k in zip(windows, keep) if k]
    for (k, _), window in zip(boxes, windows):
        # The whole cell lies inside its window, so the distance to its nearest pixel is
        # exact for every pixel of the window.
        dk = ndi.distance_transform_edt(small[window] != k)
        near, second = d1[window], d2[window]  # views: updated in place
        # Keep the two smallest values seen so far: the new second smallest is
        # min(old second, max(old smallest, dk)), then the new smallest is min(old smallest, dk).
        np.minimum(second, np.maximum(near, dk), out=second)
        np.minimum(near, dk, out=near)
    return d1, d2


def _disk_shells(radius: float):
    """Offsets (dy, dx) with 0 < dy^2 + dx^2 <= radius^2, grouped by squared length, nearest first."""
    r = int(math.floor(radius))
    dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
    sq = dy * dy + dx * dx
    keep = (sq > 0) & (sq <= radius * radius)
    dy, dx, sq = dy[keep], dx[keep], sq[keep]
    order = np.argsort(sq, kind="stable")
    dy, dx, sq = dy[order], dx[order], sq[order]
    if not len(sq):
        return []
    starts = np.flatnonzero(np.r_[True, sq[1:] != sq[:-1]])
    return [(int(sq[a]), dy[a:b], dx[a:b]) for a, b in zip(starts, np.r_[starts[1:], len(sq)])]


def _nearest_pairs_by_offsets(labels: np.ndarray, max_radius: float):
    """Phase 1 of `border_weights`: d1^2, d2^2 of background pixels by looking at nearby pixels.

    Visits the offsets of a disk in order of length. For a background pixel x, the first
    cell id met is its nearest cell (at distance d1 = that offset's length, because the nearest
    pixel of that cell lies at exactly that offset), the first DIFFERENT id met is the second
    nearest cell (d2). A pixel leaves the search when both are found. The search stops at
    ``max_radius``, or earlier (after a whole shell) when most pixels are still searching:
    then the background is wide and the windowed transforms (phase 2) do the work.

    Returns rows, cols of the background pixels, d1sq, d2sq (int64, -1 = not found within the
    searched radius) and searched_sq: every offset with dy^2 + dx^2 <= searched_sq was visited,
    so a cell not found lies farther than sqrt(searched_sq).
    """
    height, width = labels.shape
    pad = int(math.floor(max_radius))
    rows, cols = np.nonzero(labels == 0)
    d1sq = np.full(len(rows), -1, np.int64)
    d2sq = np.full(len(rows), -1, np.int64)
    padded = np.pad(labels, pad).ravel()  # zeros outside the image: no cell there
    stride = width + 2 * pad
    active = np.arange(len(rows))                      # pixels still searching
    base = (rows + pad) * stride + (cols + pad)        # their flat index in `padded`
    first = np.zeros(len(rows), labels.dtype)          # nearest id found so far (0 = none)
    first_sq = np.full(len(rows), -1, np.int64)
    searched_sq = 0
    for sq, dys, dxs in _disk_shells(max_radius):
        # All offsets of one shell have the same length: look at them together, (pixels, offsets).
        found = padded[base[:, None] + (dys * stride + dxs)[None, :]]
        hit = found != 0
        # A pixel with no cell yet takes one from this shell (any: they are equally near).
        new = (first == 0) & hit.any(axis=1)
        first[new], first_sq[new] = found[new].max(axis=1), sq
        # A second, different id in this shell or farther: the pixel is settled.
        done = (hit & (found != first[:, None])).any(axis=1)
        if done.any():
            who = active[done]
            d1sq[who], d2sq[who] = first_sq[done], sq
            stay = ~done
            active, base, first, first_sq = active[stay], base[stay], first[stay], first_sq[stay]
        searched_sq = sq
        if not len(active):
            break
        if (sq >= 5 and len(active) > len(rows) // 2) or (sq >= 9 and len(active) > len(rows) // 4):
            break  # wide background: leave the rest to the windowed transforms
    d1sq[active] = first_sq
    return rows, cols, d1sq, d2sq, searched_sq


def border_weights(instances, w0: float = 10.0, sigma: float = 5.0, *, atol: float = 1e-6,
                   search_radius: float | None = None) -> np.ndarray:
    """The border term of eq. 2: w0 * exp(-(d1 + d2)^2 / (2 sigma^2)); fast, and exact to ``atol``.

    Same definition and result as `naive_border_weights` (max abs difference < atol = 1e-6 by
    default, and identical floats wherever the weight is >= atol), and much faster. The gain
    grows with the number of cells (the naive version runs one full-image distance transform
    per cell) and depends on how the background lies (thin gaps settle in phase 1; wide
    background or membranes leave more pixels to phase 2). `benchmarks/bench_weights.py` prints
    the ratio of both in one run: 171x for 125 Voronoi cells with ~2 px gaps and 145x for 124
    scattered disks on 512x512 (course machine, shared, one thread each); lesson 05 times both
    on an ISBI slice on your machine.
    Two phases, both exact:

    1. For every background pixel, look at the pixels around it in order of distance, up to
       ``search_radius``: the first cell id met gives d1, the first different id gives d2
       (`_nearest_pairs_by_offsets`). Between touching or nearly touching cells this settles
       almost every background pixel within 2-4 px. A pixel whose second cell is farther
       than the searched radius rho is settled as negligible when d1 + rho >= c (or
       2 rho >= c if no cell was found), since then d1 + d2 > c (c defined below).
       Skipped when the background is more than thin gaps (wide membranes, open space):
       then most background pixels are far from any pair of cells.
    2. The pixels left over get d1, d2 from distance transforms restricted to windows
       (`cell_distances`), one per cell that has a left-over pixel in its window.

    Why windows are exact. Let c = `border_cutoff`(w0, sigma, atol), so the weight is below
    atol whenever d1 + d2 > c, and let cell k's window be its bounding box grown by
    g = floor(c) - 1 pixels on every side. A pixel x outside k's window is at least g + 1 rows
    or columns away from every pixel of k, so d_k(x) >= g + 1 = floor(c). Let d1', d2' be the
    two smallest d_k over the cells whose windows hold x. They are minima over a subset of
    the cells, so d1' >= d1 and d2' >= d2.
      * If the cells giving the true d1 and d2 both have x in their windows, they are in the
        subset, so d1' = d1 and d2' = d2: the weight is exactly the naive one.
      * Otherwise the true d1 or d2 comes from a cell whose window misses x, so that distance
        is >= floor(c); hence d2 >= floor(c) (d2 >= d1), and d1 >= 1 (x is background), so
        d1 + d2 >= floor(c) + 1 > c: the true weight lies in [0, atol). Since
        d1' + d2' >= d1 + d2 > c, the fast weight also lies in [0, atol) (0 when d2' is inf).
        Two numbers in [0, atol) differ by less than atol.
    So |fast - naive| < atol at every pixel (the result is rounded to float32 like the naive one).

    Returns float32 of the input's shape: 0 on cell pixels, 0 everywhere with fewer than two
    cells, never NaN or inf. ``atol=0`` switches the cutoff off (every transform covers the
    whole image: exact but slow). ``search_radius`` (px) only changes the speed, never the
    result: None = 8 when the background is thin gaps and 0 (no phase 1) otherwise.
    """
    labels = _as_2d(_as_instances(instances))
    cutoff = border_cutoff(w0, sigma, atol)
    w0, sigma = float(w0), float(sigma)
    weights = np.zeros(labels.shape, np.float32)
    cells = labels[labels != 0]
    if cells.size == 0 or cells.min() == cells.max():
        return weights  # fewer than two cells: no pair, no border term
    # Phase 1: settle the background pixels that have two cells close by. It pays off only
    # when the background is thin gaps between cells: at most a third of the image, and 90 %
    # of it next to a cell (3x3 neighbourhood). Otherwise (wide membranes, open background) it
    # is skipped (radius 0) and the windowed transforms of phase 2 do all the work.
    if search_radius is None:
        background = labels == 0
        n_background = labels.size - cells.size
        thin = 3 * n_background <= labels.size and \
            np.count_nonzero(background & ~ndi.maximum_filter(~background, size=3)) <= 0.1 * n_background
        search_radius = 8.0 if thin else 0.0
    radius = min(float(search_radius), cutoff)
    if radius < 1:  # no phase 1: windowed transforms for every cell, then the formula
        background = labels == 0
        d1, d2 = cell_distances(labels, cutoff)
        total = d1[background] + d2[background]
        weights[background] = w0 * np.exp(-(total * total) / (2.0 * sigma * sigma))
        return weights
    rows, cols, d1sq, d2sq, searched_sq = _nearest_pairs_by_offsets(labels, radius)
    d1 = np.sqrt(d1sq.astype(np.float64).clip(0))  # same float operations as scipy's edt
    d2 = np.sqrt(d2sq.astype(np.float64).clip(0))
    d1[d1sq < 0], d2[d2sq < 0] = np.inf, np.inf
    searched = math.sqrt(searched_sq)
    # No second cell within `searched`: d2 > searched, so d1 + d2 > min(d1, searched) + searched.
    negligible = (d2sq < 0) & (np.minimum(d1, searched) + searched >= cutoff)
    left = (d2sq < 0) & ~negligible
    d1[negligible] = d2[negligible] = np.inf  # weight 0, and the true one is below atol
    # Phase 2: windowed distance transforms for the pixels left over.
    if left.any():
        where = np.zeros(labels.shape, bool)
        where[rows[left], cols[left]] = True
        far1, far2 = cell_distances(labels, cutoff, where=where)
        d1[left], d2[left] = far1[rows[left], cols[left]], far2[rows[left], cols[left]]
    total = d1 + d2
    weights[rows, cols] = w0 * np.exp(-(total * total) / (2.0 * sigma * sigma))
    return weights


# --------------------------------------------------------------------------- class balance

def class_balance_weights(mask) -> np.ndarray:
    """w_c(x): every class present gets the same total weight, and the mean weight is 1.

    The paper names w_c ("the weight map to balance the class frequencies") but gives no
    formula; we choose w_c(x) = N / (n_classes * N_class(x)), N = number of pixels,
    N_class(x) = number of pixels of x's class, n_classes = number of distinct values in
    ``mask``. Each class then sums to N / n_classes, so the mean is exactly 1. A mask with one
    class gets 1 everywhere. ``mask``: a boolean or integer array (each distinct value is a
    class, e.g. a semantic target with 0 = background, 1 = cell). Returns float32.
    """
    array = np.asarray(mask)
    if array.dtype.kind not in "biu":
        raise ValueError(f"mask must be a boolean or integer array of class values, got dtype {array.dtype}")
    if array.size == 0:
        return np.zeros(array.shape, np.float32)
    _, inverse, counts = np.unique(array, return_inverse=True, return_counts=True)
    per_class = array.size / (len(counts) * counts.astype(np.float64))
    return per_class[inverse.reshape(array.shape)].astype(np.float32)


# --------------------------------------------------------------------------- separation borders

def separation_border(instances) -> np.ndarray:
    """Boolean map of the cell pixels to turn into background so that touching cells separate.

    Sec. 3: "the small separation borders that we introduce between touching cells [...] are
    computed using morphological operations". Ours: a cell pixel is on the border when its 3x3
    neighbourhood holds a pixel of a cell with a LARGER id (a grey dilation, i.e. a 3x3
    maximum filter, exceeds its id). Only one side of each contact is removed, so the line is
    about one pixel wide. Afterwards no two different cells are 8-adjacent: if a kept pixel of
    cell a touched a kept pixel of cell b > a, that pixel of a would have been removed.
    (A cell part thinner than the line next to a larger id can vanish.)
    """
    labels = _as_instances(instances)
    if labels.size == 0:
        return np.zeros(labels.shape, bool)
    grown = ndi.maximum_filter(labels, size=3, mode="constant", cval=0)
    return (labels != 0) & (grown > labels)


def split_touching(instances) -> np.ndarray:
    """The instances with `separation_border` pixels set to 0 (same dtype; input unchanged)."""
    labels = _as_instances(instances)
    split = labels.copy()
    split[separation_border(labels)] = 0
    return split.astype(bool) if np.asarray(instances).dtype == bool else split


def semantic_target(instances) -> np.ndarray:
    """The training target: int64, 1 = cell, 0 = background and separation borders."""
    return (split_touching(instances) != 0).astype(np.int64)


# --------------------------------------------------------------------------- the weight map

def weight_map(instances, w0: float = 10.0, sigma: float = 5.0, *, separate: bool = True) -> np.ndarray:
    """The full weight map of eq. 2: `class_balance_weights` + `border_weights`; float32.

    With ``separate=True`` (the default) touching cells are first split by
    `separation_border`, exactly as `semantic_target` does, so the weights match that target
    and the new border pixels (between touching cells, d1 = d2 = 1) get the largest border
    weight, w0 * exp(-4 / (2 sigma^2)). Pass ``separate=False`` when the instances already
    have their separations (e.g. connected components of the ISBI 2012 cell class): the class
    balance is then computed on ``instances > 0``.
    """
    labels = _as_instances(instances)
    if separate:
        labels = split_touching(labels)
    balance = class_balance_weights(labels != 0)
    return (balance + border_weights(labels, w0, sigma)).astype(np.float32)
