"""Checks for exercise 05: the border term of the weight map (Sec. 3, eq. 2)."""
from __future__ import annotations

import numpy as np

from .. import weights
from .core import CheckResult, check_function, describe_difference

__all__ = ["check_border_weights", "check_class_balance_weights"]


def _disks(rng: np.random.Generator, shape, n: int, radii=(2, 7)) -> np.ndarray:
    """n random disks painted in turn (later ones cover earlier ones: some touch), ids 1..n."""
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    labels = np.zeros(shape, np.int64)
    for k in range(1, n + 1):
        cy, cx = rng.uniform(0, shape[0]), rng.uniform(0, shape[1])
        r = rng.uniform(*radii)
        labels[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = k
    return labels


def check_masks(seed: int = 2015) -> list[tuple[str, np.ndarray]]:
    """The masks the check uses, with a name each: edge cases, then random masks."""
    rng = np.random.default_rng(seed)
    masks = [("no cells", np.zeros((12, 14), np.int64))]
    one = np.zeros((15, 15), np.int64)
    one[4:9, 5:11] = 1
    masks.append(("one cell", one))
    pair = np.zeros((9, 16), np.int64)
    pair[2:7, 2:7], pair[2:7, 9:14] = 1, 2  # two squares, 2 background columns between them
    masks.append(("two cells 2 px apart", pair))
    far = np.zeros((20, 90), np.int64)
    far[8:12, 1:4], far[8:12, 85:88] = 1, 2
    masks.append(("two cells far apart", far))
    edge = np.zeros((16, 16), np.int64)
    edge[:5, :], edge[7:, :6], edge[9:, 9:] = 3, 8, 5  # cells on the image border, ids 3, 5, 8
    masks.append(("cells on the image border, ids 3, 5, 8", edge))
    big = _disks(rng, (24, 30), 6)
    big[big > 0] = big[big > 0] * 1000 + 7  # non-contiguous, large ids
    masks.append(("ids 1007, 2007, ...", big))
    masks.append(("touching cells in a uint16 array", _disks(rng, (28, 28), 12, (3, 6)).astype(np.uint16)))
    for i in range(5):
        shape = tuple(int(s) for s in rng.integers(20, 48, size=2))
        masks.append((f"random mask {i + 1}", _disks(rng, shape, int(rng.integers(2, 15)))))
    return masks


def _nearest_two(instances: np.ndarray, pixel: tuple[int, int]):
    """(id, d) of the nearest and the second-nearest cell of one pixel (small check masks only)."""
    ids = np.unique(instances)
    ids = ids[ids != 0]
    rows, cols = np.nonzero(instances)
    near = sorted((float(np.hypot(rows[instances[rows, cols] == k] - pixel[0],
                                  cols[instances[rows, cols] == k] - pixel[1]).min()), int(k)) for k in ids)
    return [(k, d) for d, k in near[:2]]


def _explain_pixel(instances: np.ndarray, w0: float, sigma: float, expected: np.ndarray,
                   actual: np.ndarray, bad: np.ndarray) -> str:
    """One sentence on the most telling wrong pixel: a cell pixel, else the background pixel with
    the largest expected weight (in a gap between cells), with its d1, d2 and the formula."""
    n_bad = f"{int(bad.sum())} of {bad.size} values differ"
    on_cells = bad & (instances != 0)
    if on_cells.any():
        pixel = tuple(int(i) for i in np.argwhere(on_cells)[0])
        return (f"{n_bad}; at (row {pixel[0]}, col {pixel[1]}), a pixel of cell {int(instances[pixel])}, "
                f"expected 0 (the border term is 0 on cell pixels), got {float(actual[pixel]):.4g}")
    pixel = tuple(int(i) for i in np.unravel_index(np.argmax(np.where(bad, expected, -np.inf)), bad.shape))
    nearest = _nearest_two(instances, pixel)
    if len(nearest) < 2:
        return (f"{n_bad}; at (row {pixel[0]}, col {pixel[1]}) expected {float(expected[pixel]):.4g}, "
                f"got {float(actual[pixel]):.4g}")
    (k1, d1), (k2, d2) = nearest
    if np.isclose(float(actual[pixel]), w0, rtol=1e-4) and d1 + d2 > 0:
        return (f"{n_bad}; at (row {pixel[0]}, col {pixel[1]}), a background pixel {d1:.3g} px from "
                f"cell {k1} and {d2:.3g} px from cell {k2}, expected {float(expected[pixel]):.4g}, got "
                f"w0 = {float(actual[pixel]):.4g}, as if d1 + d2 were 0. Hint: "
                f"distance_transform_edt(instances == k) measures distances INSIDE cell k (0 outside "
                f"it); the distance TO cell k is distance_transform_edt(instances != k)")
    return (f"{n_bad}; at (row {pixel[0]}, col {pixel[1]}), a background pixel whose nearest cell is "
            f"{k1} at d1 = {d1:.3g} and second-nearest cell is {k2} at d2 = {d2:.3g}, expected "
            f"w0·exp(−(d1 + d2)²/(2σ²)) = {w0:g}·exp(−{d1 + d2:.3g}²/(2·{sigma:g}²)) = "
            f"{float(expected[pixel]):.4g}, got {float(actual[pixel]):.4g}")


def _compare(expected: np.ndarray, actual, case: dict | None = None) -> str | None:
    actual = np.asarray(actual)
    if actual.shape != expected.shape:
        return f"expected an array of shape {expected.shape}, got shape {actual.shape}"
    if actual.dtype.kind not in "fiu":
        return f"expected floating-point weights, got dtype {actual.dtype}"
    if not np.all(np.isfinite(actual)):
        return "the result holds NaN or inf values (what happens with fewer than two cells?)"
    if not expected.any() and np.abs(actual).max(initial=0) > 1e-5:
        return ("expected 0 everywhere (with fewer than two cells there is no pair of cells, so "
                f"no border term), but got values up to {np.abs(actual).max():.3g}")
    why = describe_difference(expected, actual, rtol=1e-5, atol=1e-5)
    if why is None:
        return None
    if actual.dtype.kind in "iu":
        return (f"your weights are integers (dtype {actual.dtype}), so values such as "
                f"{float(expected.max()):.4g} were cut to whole numbers: store them in a float array "
                "(np.zeros_like(instances) has the integer dtype of instances; use np.zeros(shape))")
    if case is None:
        return why
    bad = ~np.isclose(actual.astype(float), expected.astype(float), rtol=1e-5, atol=1e-5)
    return _explain_pixel(np.asarray(case["instances"]), case["w0"], case["sigma"], expected, actual, bad)


def check_border_weights(student_fn) -> CheckResult:
    """border_weights(instances, w0, sigma): w0 * exp(-(d1 + d2)^2 / (2 sigma^2)) on the
    background, 0 on cells, 0 everywhere with fewer than two cells.

    Compared with `unet_course.weights.border_weights` (to 1e-5) on masks you have not seen:
    no cells, one cell, far-apart cells, cells on the image border, large ids, random masks,
    and several values of w0 and sigma.
    """
    masks = check_masks()
    params = [(10.0, 5.0), (5.0, 2.0), (20.0, 8.0)]
    cases = [((mask,), {"w0": w0, "sigma": sigma})
             for i, (_, mask) in enumerate(masks) for w0, sigma in params[: 1 + (i % 3 == 2) * 2]]
    cases += [((masks[2][1],), {"w0": w0, "sigma": s}) for w0, s in params[1:]]
    names = {id(mask): name for name, mask in masks}

    def show(value) -> str:
        if id(value) in names:
            return f"<{names[id(value)]}, shape {value.shape}>"
        return repr(value)

    case = {}  # the inputs of the current case: the reference runs first, then the comparison

    def reference(instances, w0=10.0, sigma=5.0):
        case.update(instances=instances, w0=w0, sigma=sigma)
        return weights.border_weights(instances, w0=w0, sigma=sigma)

    return check_function(student_fn, reference, cases, name="border_weights", show=show,
                          compare=lambda expected, actual: _compare(expected, actual, case))


def _show_mask(value) -> str:
    """A class mask by its classes and their pixel counts, e.g. <mask (6, 7): class 0 × 42 px>."""
    if not isinstance(value, np.ndarray):
        return repr(value)
    classes, counts = np.unique(value, return_counts=True)
    listed = ", ".join(f"class {c!r} × {n} px" for c, n in zip(classes.tolist()[:4], counts.tolist()[:4]))
    return f"<mask {value.shape}: {listed}{', ...' if len(classes) > 4 else ''}>"


def _compare_balance(expected: np.ndarray, actual, mask: np.ndarray) -> str | None:
    actual = np.asarray(actual)
    if actual.shape != expected.shape or actual.dtype.kind not in "fiu":
        return describe_difference(expected, actual, rtol=1e-5, atol=1e-6)
    bad = ~np.isclose(actual.astype(float), expected.astype(float), rtol=1e-5, atol=1e-6)
    if not bad.any():
        return None
    pixel = tuple(int(i) for i in np.argwhere(bad)[0])
    classes, counts = np.unique(mask, return_counts=True)
    n_class = int(counts[classes.tolist().index(mask[pixel].item())])
    return (f"{int(bad.sum())} of {bad.size} values differ; at {pixel} (class {mask[pixel].item()!r}: "
            f"N_class = {n_class} of N = {mask.size} px, n_classes = {len(classes)}) expected "
            f"N / (n_classes · N_class) = {mask.size} / ({len(classes)} · {n_class}) = "
            f"{float(expected[pixel]):.4g}, got {float(actual[pixel]):.4g}")


def check_class_balance_weights(student_fn) -> CheckResult:
    """class_balance_weights(mask): N / (n_classes * N_class(x)); every class present gets the
    same total weight and the mean is 1. Compared with `unet_course.weights` on masks with one,
    two and three classes, boolean masks and masks you have not seen."""
    rng = np.random.default_rng(505)
    masks = [np.zeros((6, 7), np.int64), np.ones((3, 4), np.int64),
             np.array([[0, 0, 0, 1]]), np.array([[True, False], [False, False]])]
    masks += [rng.integers(0, k, size=tuple(rng.integers(1, 30, size=2))) for k in (2, 2, 3, 3)]
    masks += [(name_mask[1] > 0).astype(np.int64) for name_mask in check_masks()[4:9]]
    case = {}

    def reference(mask):
        case["mask"] = np.asarray(mask)
        return weights.class_balance_weights(mask)

    return check_function(student_fn, reference, [(m,) for m in masks], name="class_balance_weights",
                          show=_show_mask,
                          compare=lambda expected, actual: _compare_balance(expected, actual, case["mask"]))
