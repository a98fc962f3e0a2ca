"""Speed target of issue 7: elastic deformation of image + label + weight map, in ONE run.

    pip install -r benchmarks/requirements.txt   # elasticdeform (benchmark only)
    python benchmarks/bench_augment.py [--size 512] [--grid 3] [--sigma 10] [--repeat 10]

Like for like: the SAME coarse displacement (2, 3, 3), drawn with sigma 10 px, moves a
512x512 float32 image (cubic, order 3), an int64 label image (nearest, order 0) and a
float32 weight map (nearest, order 0, as labels: lesson 06 measures why), mirrored borders; numpy arrays in, numpy arrays out.

- reference: ``elasticdeform.deform_grid([image, label, weight], coarse, order=[3, 0, 0],
  mode="mirror")`` (C code, one thread);
- ours, torch back end: ``Augment(..., backend="torch").apply`` on one CPU thread (the same
  thread count as elasticdeform), then on all threads;
- ours, numpy back end (scipy.ndimage.map_coordinates), for information.

Target: torch / CPU at least 3x faster than elasticdeform. Times are the minimum over
--repeat runs (the machine is shared; the minimum is the least noisy estimate). Also printed:
how far each result is from elasticdeform's (the numpy back end computes the same field and
the same splines, so it should agree to float rounding), CPU batched throughput, and GPU
batched throughput when CUDA is available.
"""
from __future__ import annotations

import argparse

import numpy as np
from timing import best_time
import torch
from scipy import ndimage

from unet_course.augment import torch_backend as augment_torch
from unet_course.augment import Augment, AugmentParams


def test_arrays(size: int, seed: int = 0):
    """A smooth float32 image in [0, 1], an int64 label image with 5 values, a float32 weight map."""
    rng = np.random.default_rng(seed)
    image = ndimage.gaussian_filter(rng.random((size, size)), 4)
    image = ((image - image.min()) / (image.max() - image.min())).astype(np.float32)
    label = np.digitize(image, [0.3, 0.45, 0.55, 0.7]).astype(np.int64)
    weight = (1 + 9 * ndimage.gaussian_filter(rng.random((size, size)), 2)).astype(np.float32)
    return image, label, weight


def compare(name, ours, ref):
    img, lab, wgt = ours
    rimg, rlab, rwgt = ref
    print(f"  {name:<22} image max |diff| {np.abs(img - rimg).max():.2e}, "
          f"labels differ at {np.mean(lab != rlab):.4%} of pixels, "
          f"weight max |diff| {np.abs(wgt - rwgt).max():.2e}, "
          f"new label values: {sorted(set(np.unique(lab)) - set(np.unique(rlab)))}")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--grid", type=int, default=3)
    parser.add_argument("--sigma", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--batch", type=int, default=8, help="batch size for the throughput lines")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    image, label, weight = test_arrays(args.size, args.seed)
    coarse = np.random.default_rng(args.seed).normal(0, args.sigma, (2, args.grid, args.grid))
    params = AugmentParams(coarse=coarse)  # elastic deformation only
    threads = torch.get_num_threads()
    print(f"{args.size}x{args.size} image float32 (order 3) + label int64 (order 0) + weight "
          f"float32 (order 0), {args.grid}x{args.grid} grid, sigma {args.sigma:g} px, mirror; "
          f"min of {args.repeat} runs; torch {torch.__version__}, {threads} CPU threads")

    result = {}
    try:
        import elasticdeform
    except ImportError:
        elasticdeform = None
        print("elasticdeform: not installed (pip install -r benchmarks/requirements.txt)")
    torch.set_num_threads(1)
    if elasticdeform is not None:
        t_ref, ref = best_time(lambda: elasticdeform.deform_grid(
            [image, label, weight], coarse, order=[3, 0, 0], mode="mirror"), args.repeat)
        result["elasticdeform"] = t_ref
        print(f"elasticdeform {elasticdeform.__version__ if hasattr(elasticdeform, '__version__') else ''}"
              f" (C, 1 thread):        {t_ref * 1e3:8.1f} ms")
    torch_1 = Augment(backend="torch")
    t_t1, out_t = best_time(lambda: torch_1.apply(params, image, label, weight), args.repeat)
    print(f"ours, torch back end, CPU, 1 thread:  {t_t1 * 1e3:8.1f} ms")
    torch.set_num_threads(threads)
    t_tn, _ = best_time(lambda: torch_1.apply(params, image, label, weight), args.repeat)
    print(f"ours, torch back end, CPU, {threads} threads: {t_tn * 1e3:8.1f} ms")
    numpy_aug = Augment(backend="numpy")
    t_np, out_np = best_time(lambda: numpy_aug.apply(params, image, label, weight), max(1, args.repeat // 3))
    print(f"ours, numpy back end (scipy):         {t_np * 1e3:8.1f} ms")
    result.update(torch_1thread=t_t1, torch_threads=t_tn, numpy=t_np)
    if elasticdeform is not None:
        ratio = t_ref / t_t1
        result["ratio"] = ratio
        print(f"ratio elasticdeform / ours (torch, CPU, both 1 thread): {ratio:.1f}x  "
              f"(target >= 3x: {'met' if ratio >= 3 else 'NOT met'}); "
              f"with {threads} threads: {t_ref / t_tn:.1f}x; numpy back end: {t_ref / t_np:.2f}x")
        print("agreement with elasticdeform (same coarse grid):")
        compare("numpy back end", out_np, ref)
        compare("torch back end", out_t, ref)

    # Batched throughput: N tiles, one random deformation each.
    augment = Augment(backend="torch")
    n = args.batch
    images = torch.from_numpy(np.stack([image] * n))[:, None]
    labels = torch.from_numpy(np.stack([label] * n))
    weights = torch.from_numpy(np.stack([weight] * n))
    rng = np.random.default_rng(args.seed)
    for count in (1, threads):
        torch.set_num_threads(count)
        t_b, _ = best_time(lambda: augment_torch.augment_batch(augment, images, labels, weights, rng),
                           max(1, args.repeat // 3))
        result[f"cpu_per_second_{count}"] = n / t_b
        print(f"CPU batched throughput ({count} thread{'s' * (count > 1)}, batch {n}, flips + "
              f"elastic): {n / t_b:.0f} image+label+weight triples / s")
    torch.set_num_threads(threads)
    if torch.cuda.is_available():
        device = torch.device("cuda")
        n_gpu = 64
        gi = torch.from_numpy(np.stack([image] * n_gpu))[:, None].to(device)
        gl = torch.from_numpy(np.stack([label] * n_gpu)).to(device)
        gw = torch.from_numpy(np.stack([weight] * n_gpu)).to(device)

        def gpu_run():
            out = augment_torch.augment_batch(augment, gi, gl, gw, rng)
            torch.cuda.synchronize()
            return out
        t_g, _ = best_time(gpu_run, args.repeat)
        result["gpu_per_second"] = n_gpu / t_g
        print(f"GPU batched throughput ({torch.cuda.get_device_name(0)}, batch {n_gpu}): "
              f"{n_gpu / t_g:.0f} triples / s")
    else:
        print("GPU batched throughput: not measured (no CUDA device here)")
    return result


if __name__ == "__main__":
    main()
