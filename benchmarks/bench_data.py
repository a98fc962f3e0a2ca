"""Speed targets of issue 5 (data), measured in ONE run.

    python benchmarks/bench_data.py [--size 512] [--repeat 5]

1. ``synthetic_cells(512)``: target well under a second per image (the reference is that
   budget, 1 s); printed with the number of cells and touching pairs it makes.
2. One training tile (572 -> 388, mirror-extended at the border) from ``TileDataset.tile``
   (mirrored indices, no padded copy of the image) against the obvious reference: pad the
   whole image, target and weight once with ``numpy.pad(mode="reflect")`` (not timed) and
   copy each tile out of them. Target: under 1 ms per tile, nothing next to a training
   step (0.1-10 s on a CPU); the ratio to the reference (which needs a padded copy of
   every image in memory) is printed for information.

Times are the minimum over --repeat runs (the machine is shared; the minimum is the least
noisy estimate).
"""
from __future__ import annotations

import argparse

import numpy as np
from timing import best_time

from unet_course.data import TileDataset, synthetic_cells, touching_pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    budget = 1.0
    ours, cells = best_time(lambda: synthetic_cells(args.size, seed=0), args.repeat)
    touch = touching_pairs(cells.instances)
    near = touching_pairs(cells.instances, gap=2) - touch
    print(f"synthetic_cells({args.size}): {ours * 1000:.0f} ms per image; target < {budget * 1000:.0f} ms "
          f"(ratio {budget / ours:.1f}x under budget); {cells.instances.max()} cells, "
          f"{len(touch)} touching pairs, {len(near)} pairs separated by a 1-2 px gap")

    image, target = cells.image, cells.mask
    ds = TileDataset([image], [target], input_size=572, tiles_per_epoch=64, seed=0)
    margin, size = ds.margin, ds.input_size
    positions = [ds.position(i) for i in range(len(ds))]

    # reference: the image, target and weight padded ONCE (not timed, as a data set would
    # cache them), then each tile copied out of the padded arrays
    padded = np.pad(image, size, mode="reflect")
    padded_target = np.pad(target.astype(np.int64), size, mode="reflect")
    padded_weight = np.pad(np.ones(image.shape, np.float32), size, mode="reflect")
    o = ds.out_size

    def reference():
        for _, y, x in positions:
            tile = padded[size + y - margin: size + y - margin + size,
                          size + x - margin: size + x - margin + size].copy()
            out = padded_target[size + y: size + y + o, size + x: size + x + o].copy()
            weight = padded_weight[size + y: size + y + o, size + x: size + x + o].copy()
        return tile, out, weight

    def ours_tiles():
        for i in range(len(ds)):
            tile = ds.tile(i)
        return tile

    ref_t, _ = best_time(reference, args.repeat)
    our_t, _ = best_time(ours_tiles, args.repeat)
    n = len(ds)
    print(f"one 572 tile (+ target, weight) from a {args.size} image: reference np.pad + slice "
          f"{ref_t / n * 1000:.2f} ms, ours {our_t / n * 1000:.2f} ms, ratio {ref_t / our_t:.2f}x")


if __name__ == "__main__":
    main()
