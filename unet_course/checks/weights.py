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


def _compare(expected: np.ndarray, actual) -> str | None:
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
    return describe_difference(expected, actual, rtol=1e-5, atol=1e-5)


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

    def reference(instances, w0=10.0, sigma=5.0):
        return weights.border_weights(instances, w0=w0, sigma=sigma)

    return check_function(student_fn, reference, cases, name="border_weights", show=show,
                          compare=_compare)


def check_class_balance_weights(student_fn) -> CheckResult:
    """class_balance_weights(mask): N / (n_classes * N_class(x)); every class present gets the
    same total weight and the mean is 1. Compared with `unet_course.weights` on masks with one,
    two and three classes, boolean masks and masks you have not seen."""
    rng = np.random.default_rng(505)
    masks = [np.zeros((6, 7), np.int64), np.ones((3, 4), np.int64),
             np.array([[0, 0, 0, 1]]), np.array([[True, False], [False, False]])]
    masks += [rng.integers(0, k, size=tuple(rng.integers(1, 30, size=2))) for k in (2, 2, 3, 3)]
    masks += [(name_mask[1] > 0).astype(np.int64) for name_mask in check_masks()[4:9]]
    return check_function(student_fn, weights.class_balance_weights, [(m,) for m in masks],
                          name="class_balance_weights")
