"""Overhead of overlap-tile prediction (issues 13 and 24), ONE run, well under a minute.

    python benchmarks/bench_tiling.py [--base 16] [--repeat 5] [--small 32] [--threads 1]

The reference is the RAW forward pass: ``model(x)`` under ``torch.inference_mode()`` on the
image already normalised and mirror-padded to the smallest valid input that covers it plus the
margin (the work ``predict_tiled`` cannot avoid). ``predict_tiled`` does that same pass (its
default tile is one whole-image tile for these sizes) plus everything around it: percentile
normalisation, the tile plan, the mirror window, the soft-max, the stitching. The ratio is
its fixed cost. Targets: <= 1.15 on a 512 x 512 image, <= 1.3 on 32 images of 132 x 132
predicted one by one (as the predict command does for a folder of small images).

Both are timed interleaved (raw, tiled, raw, tiled, ...) and the median of ``--repeat`` runs is
reported, so that load on a shared machine hits both alike. Model: a StandardizedUNet with
percentile normalisation (like the course model), base 16, He-initialised (the weights do
not change the speed). Exactness (max |tiled - raw|, target <= 1e-5) is printed too.

``--big 2048`` adds issue 13's memory check (minutes, so not by default): the growth of the
peak resident memory of the raw pass over a 2048 x 2048 image vs ``predict_tiled`` (tiles in
batches of 4), each in a fresh process, since a process's peak never goes down.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

from unet_course import sizes
from unet_course.data import mirrored_window, synthetic_cells
from unet_course.model import he_init_
from unet_course.normalize import PERCENTILES, StandardizedUNet, prepare_image
from unet_course.tiling import context_margin, plan_tiles, predict_tiled


def model_for(base: int) -> StandardizedUNet:
    model = StandardizedUNet(base_channels=base, input_mean=0.4, input_std=0.3,
                             percentiles=PERCENTILES)
    he_init_(model, 0)
    return model.eval()


def padded_input(model, image) -> torch.Tensor:
    """The raw pass's input, prepared once outside the timing: (1, 1, N, N) for an image."""
    m = context_margin(model)
    h, w = image.shape
    nh = next(n for n in range(h + 2 * m, h + 2 * m + 2 ** model.depth + 1)
              if sizes.is_valid_input_size(n, model.depth))
    nw = next(n for n in range(w + 2 * m, w + 2 * m + 2 ** model.depth + 1)
              if sizes.is_valid_input_size(n, model.depth))
    x = mirrored_window(prepare_image(model, image), -m, -m, nh, nw)
    return torch.from_numpy(np.ascontiguousarray(x))[None, None]


def raw_pass(model, inputs):
    with torch.inference_mode():
        return [model(x) for x in inputs]


def tiled(model, images):
    return [predict_tiled(model, image, progress=False) for image in images]


def interleaved(model, images, repeat: int):
    """Median seconds of the raw passes and of predict_tiled over the same images, and the
    largest |p_tiled - p_raw| (from the last repeat's results)."""
    inputs = [padded_input(model, image) for image in images]
    raw_pass(model, inputs[:1]), tiled(model, images[:1])  # warm-up
    times = {"raw": [], "tiled": []}
    for _ in range(repeat):
        for name, fn, arg in (("raw", raw_pass, inputs), ("tiled", tiled, images)):
            start = time.perf_counter()
            result = fn(model, arg)
            times[name].append(time.perf_counter() - start)
            if name == "raw":
                logits = result
    err = max(float(np.abs(p - torch.softmax(z, 1)[0, :, :p.shape[1], :p.shape[2]].numpy()).max())
              for p, z in zip(result, logits))
    return statistics.median(times["raw"]), statistics.median(times["tiled"]), err


def measure_memory(method: str, size: int, base: int, threads: int) -> None:
    """In a fresh process: the growth of the peak resident memory (MB) of one prediction."""
    torch.set_num_threads(threads)
    model = model_for(base)
    image = np.tile(synthetic_cells(1024, seed=0).image, (size // 1024 + 1,) * 2)[:size, :size]
    x = padded_input(model, image) if method == "raw" else None
    predict_tiled(model, image[:64, :64], progress=False)  # torch's own start-up memory
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    raw_pass(model, [x]) if method == "raw" else predict_tiled(model, image, progress=False)
    print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before))


def peak_mb(method: str, size: int, base: int, threads: int) -> float:
    out = subprocess.run([sys.executable, __file__, "--measure", method, "--big", str(size),
                          "--base", str(base), "--threads", str(threads)],
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=int, default=16, help="network width (course model: 16)")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved repeats (median)")
    parser.add_argument("--small", type=int, default=32, help="number of 132 x 132 images")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--big", type=int, default=0, help="also the memory check at this size")
    parser.add_argument("--measure", choices=["raw", "tiled"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        return measure_memory(args.measure, args.big, args.base, args.threads)
    torch.set_num_threads(args.threads)
    model = model_for(args.base)
    cases = [("1 image of 512 x 512", [synthetic_cells(512, seed=0).image], 1.15),
             (f"{args.small} images of 132 x 132",
              [synthetic_cells(132, seed=s).image for s in range(args.small)], 1.3)]
    print(f"base {args.base}, {args.threads} thread(s), median of {args.repeat} interleaved runs")
    for name, images, target in cases:
        raw, ours, err = interleaved(model, images, args.repeat)
        plan = plan_tiles(model, images[0].shape)
        print(f"{name}: raw forward pass over the padded image ({plan.tile_in[0]}^2) {raw:.3f} s, "
              f"predict_tiled ({len(plan.starts)} tile(s) of {plan.tile_in[0]}^2) {ours:.3f} s, "
              f"ratio {ours / raw:.2f} (target <= {target}); max |p_tiled - p_raw| {err:.1e} "
              f"(target <= 1e-5)")
    if args.big:
        raw, ours = (peak_mb(m, args.big, args.base, args.threads) for m in ("raw", "tiled"))
        plan = plan_tiles(model, (args.big, args.big))
        print(f"{args.big} x {args.big}: peak memory growth, raw pass +{raw:.0f} MB, predict_tiled "
              f"({len(plan.starts)} tiles of {plan.tile_in[0]}^2, batch 4) +{ours:.0f} MB "
              f"(ratio {ours / max(raw, 1):.2f})")


if __name__ == "__main__":
    main()
