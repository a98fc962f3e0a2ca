"""Speed of the warping error on a 512x512 ISBI slice: ours vs Fiji's loop in plain Python.

    python benchmarks/bench_metrics.py [--slice 25] [--threshold 0.5] [--noise 4]

The prediction is a stand-in made from the label (blurred, plus smooth noise of strength
--noise; larger = more mismatches), so the benchmark needs no trained model; --pred takes a
real prediction (a poorly trained model is the slow case: many passes). Both warps run
in this process, one after the other, and must give the same warped label; it prints both
times, their ratio, and the time of the full ISBI warping error (10 thresholds, with the
classification). Target: the full warping error of a 512x512 slice in seconds, not minutes.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import ndimage as ndi

from unet_course.data import as_label, load_isbi2012
from unet_course.metrics import SIMPLE_LUT, warp_label, warping_error
from unet_course.metrics.warping import _NEIGHBOURS


def sequential_warp(pred, label, th):
    """Fiji's simplePointWarp2d as a plain loop: passes over the sorted mismatches."""
    h, w = label.shape
    src = np.pad(label > 0, 1).astype(np.uint8)
    tgt = np.pad(pred > th, 1).astype(np.uint8)
    z = np.pad(np.abs(pred.astype(np.float64) - th).astype(np.float32), 1)
    lut, before = SIMPLE_LUT.tolist(), -1
    while True:
        ys, xs = np.nonzero(src != tgt)
        if ys.size == 0 or ys.size == before:
            break
        before = ys.size
        order = np.lexsort((ys, xs, -z[ys, xs]))
        for y, x in zip(ys[order].tolist(), xs[order].tolist()):
            code = 0
            for bit, (dy, dx) in enumerate(_NEIGHBOURS):
                code |= int(src[y + dy, x + dx]) << bit
            if lut[code]:
                src[y, x] ^= 1
    return src[1:-1, 1:-1].astype(bool)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--slice", type=int, default=25)
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--noise", type=float, default=4.0)
    p.add_argument("--pred", help="a saved p(cell) map for the slice (.npy, or a PNG/TIFF "
                                   "that python -m unet_course.predict wrote) instead of the stand-in")
    args = p.parse_args(argv)
    data = load_isbi2012(progress=False)
    label = as_label(data.labels[args.slice]).mask
    rng = np.random.default_rng(0)
    noise = args.noise * ndi.gaussian_filter(rng.normal(size=label.shape), 2)
    pred = 1 / (1 + np.exp(-(8 * ndi.gaussian_filter(label.astype(float), 2) - 4 + noise)))
    if args.pred:
        from unet_course.data import as_float_image, read_image
        pred = np.load(args.pred) if args.pred.endswith(".npy") else as_float_image(read_image(args.pred))
    mismatches = int(((pred > args.threshold) != label).sum())
    start = time.perf_counter()
    ours = warp_label(pred, label, args.threshold).warped
    t_ours = time.perf_counter() - start
    start = time.perf_counter()
    reference = sequential_warp(pred.astype(np.float32), label, args.threshold)
    t_ref = time.perf_counter() - start
    assert np.array_equal(ours, reference), "the fast warp differs from the sequential loop"
    start = time.perf_counter()
    error = warping_error(pred, label)
    t_full = time.perf_counter() - start
    print(f"512x512 slice {args.slice}, {mismatches} mismatches at threshold {args.threshold}")
    print(f"sequential loop {t_ref:.2f} s, ours {t_ours:.2f} s, ratio {t_ref / t_ours:.1f}x (same warped label)")
    print(f"full ISBI warping error (10 thresholds + classification): {t_full:.2f} s -> {error:.6f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
