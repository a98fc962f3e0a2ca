"""Speed, memory and exactness targets of issue 13 (overlap-tile prediction), ONE run.

    python benchmarks/bench_tiling.py [--base 16] [--repeat 3] [--big 2048] [--threads 2]

At the CPU-default width (base 16, He-initialised; the weights do not change the speed):

1. 512 x 512: ``predict_tiled`` with its default tiles vs ONE forward pass over the whole
   mirror-padded image (``predict_whole``). Target: ratio <= 1.3. Also the paper's 572 tile
   (four 572 -> 388 tiles, step 384), which does ~2.7x the pixels of the whole pass.
2. 2048 x 2048: the same two, with the peak memory of each (resident set growth, measured in
   a fresh subprocess per method, since the process peak never goes down).
3. Exactness: max |tiled - whole| (probabilities; target <= 1e-5), next to a naive tiling
   (non-overlapping tiles with zero context instead of the neighbours' pixels) and its seam
   error, on a synthetic-cells image.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys

import numpy as np
import torch
from timing import best_time

from unet_course.data import synthetic_cells
from unet_course.model import UNet, he_init_
from unet_course.tiling import plan_tiles, predict_naive, predict_tiled, predict_whole


def model_for(base: int) -> UNet:
    model = UNet(base_channels=base)
    he_init_(model, 0)
    return model.eval()


def image_of(size: int) -> np.ndarray:
    if size <= 1024:
        return synthetic_cells(size, seed=0).image
    return np.tile(synthetic_cells(1024, seed=0).image, (size // 1024 + 1,) * 2)[:size, :size]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def measure(method: str, size: int, base: int, threads: int) -> None:
    """In a fresh process: time one call and the growth of the peak resident memory."""
    import time
    torch.set_num_threads(threads)
    model, image = model_for(base), image_of(size)
    predict_tiled(model, image[:64, :64], progress=False)  # warm up torch
    before = _peak_mb()
    start = time.perf_counter()
    if method == "whole":
        predict_whole(model, image)
    else:
        predict_tiled(model, image, progress=False)
    print(json.dumps({"seconds": time.perf_counter() - start, "peak_mb": _peak_mb() - before}))


def in_subprocess(method: str, size: int, base: int, threads: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--measure", method, "--big", str(size),
                          "--base", str(base), "--threads", str(threads)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=int, default=16, help="network width (CPU default 16)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--big", type=int, default=2048, help="side of the big image")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--measure", choices=["whole", "tiled"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        return measure(args.measure, args.big, args.base, args.threads)
    torch.set_num_threads(args.threads)
    model, image = model_for(args.base), image_of(512)

    whole_t, whole = best_time(lambda: predict_whole(model, image), args.repeat)
    ours_t, ours = best_time(lambda: predict_tiled(model, image, progress=False), args.repeat)
    paper_t, paper = best_time(lambda: predict_tiled(model, image, 572, progress=False), args.repeat)
    plan, paper_plan = plan_tiles(model, image.shape), plan_tiles(model, image.shape, 572)
    print(f"512x512, base {args.base}, {args.threads} threads: one whole pass "
          f"({plan_tiles(model, image.shape, plan.tile_in).tile_in[0]}^2 input) {whole_t:.2f} s")
    print(f"  predict_tiled, default tiles ({len(plan.starts)} x {plan.tile_in[0]}^2): "
          f"{ours_t:.2f} s, ratio {ours_t / whole_t:.2f} (target <= 1.3)")
    print(f"  predict_tiled, paper tile 572 ({len(paper_plan.starts)} tiles, step "
          f"{paper_plan.step[0]}): {paper_t:.2f} s, ratio {paper_t / whole_t:.2f} "
          f"(for information: {len(paper_plan.starts) * 572 ** 2 / plan.tile_in[0] ** 2:.1f}x the "
          f"input pixels)")

    naive = predict_naive(model, image, 572)
    err = {name: float(np.abs(p - whole).max()) for name, p in
           (("default", ours), ("572 tiles", paper), ("naive", naive))}
    seam = np.zeros(image.shape, bool)
    seam[380:396, :] = seam[:, 380:396] = True  # 8 px on each side of the naive tiles' seams
    print(f"  exactness, max |p - p_whole| (target <= 1e-5): default {err['default']:.1e}, "
          f"572 tiles {err['572 tiles']:.1e}; naive zero-context 572 tiles {err['naive']:.3f} "
          f"(mean at its seams {np.abs(naive - whole)[:, seam].mean():.3f}, elsewhere "
          f"{np.abs(naive - whole)[:, ~seam].mean():.3f})")

    big = {m: in_subprocess(m, args.big, args.base, args.threads) for m in ("whole", "tiled")}
    big_plan = plan_tiles(model, (args.big, args.big))
    print(f"{args.big}x{args.big}: one whole pass {big['whole']['seconds']:.1f} s, peak memory "
          f"+{big['whole']['peak_mb']:.0f} MB; predict_tiled ({len(big_plan.starts)} tiles of "
          f"{big_plan.tile_in[0]}^2, batch 4) {big['tiled']['seconds']:.1f} s "
          f"(ratio {big['tiled']['seconds'] / big['whole']['seconds']:.2f}), peak memory "
          f"+{big['tiled']['peak_mb']:.0f} MB (ratio "
          f"{big['tiled']['peak_mb'] / max(big['whole']['peak_mb'], 1):.2f})")
    image = image_of(args.big)
    exact = float(np.abs(predict_tiled(model, image, progress=False)
                         - predict_whole(model, image)).max())
    print(f"  exactness at {args.big}: max |p - p_whole| = {exact:.1e} (target <= 1e-5)")


if __name__ == "__main__":
    main()
