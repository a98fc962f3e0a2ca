"""Devices, threads and torchrun: where the training runs.

Under ``torchrun --nproc_per_node=N python -m unet_course.train ...`` every process reads
RANK / WORLD_SIZE / LOCAL_RANK from its environment, joins one process group (nccl on CUDA,
gloo on the CPU) and trains a DistributedDataParallel copy of the model: each rank draws its
own share of every step's tiles (``batches``), gradients are averaged across ranks. The tiles
of a step are then exactly those of one process with batch N * b (tile g is its own seeded
draw). Drop-out is not: each rank draws its masks from its own random stream (``rank_seed``),
as one process draws different masks for the different tiles of its batch, so without batch
norm N ranks with batch b take the same steps as one process with batch N * b *in
distribution*, not bitwise; with drop-out off too (``--dropout 0 --no-batch-norm``) they take
the same steps up to float rounding (the sums run in another order; tests/test_train.py).

Batch norm (the cpu preset's default, Conv-BN-ReLU) changes what holds. Each rank normalises
by the statistics of its OWN b tiles (torch's BatchNorm2d under DDP), not of all N * b, so N
ranks are not one process with batch N * b, not even in distribution: they differ as much as
batch norm over b tiles differs from batch norm over N * b. What does hold (tested in
tests/test_distributed.py): the gradients are averaged, so the weights (and batch norm's
scale and shift) stay identical on every rank; the running statistics differ between ranks
(DDP broadcasts rank 0's before every forward pass, then each rank's forward updates its copy
from its own tiles), and the model file, written by rank 0, holds rank 0's: averages over
rank 0's tiles alone. ``torch.nn.SyncBatchNorm``, which would pool the statistics over the
ranks, raises a ValueError for CPU tensors (gloo), so the course does not use it; on GPUs
it is an option we have not measured. Only rank 0 logs, validates and writes files.

Every decision that could differ between ranks is agreed (``agree``): the training time is
the slowest rank's, so the lr drop, the stop of a ``--minutes`` run, validation and
checkpoints fall on the same step everywhere (DDP never re-synchronises the parameters, so
ranks that disagreed would drift apart silently or wait for each other forever), and the
logged loss is the mean over ranks.

Threads: on a CPU, N processes with torch's default thread count each fight for the same
cores (a 10 ms warp became 150 ms here when two jobs shared 2 cores), so each rank gets
cores // N threads unless ``threads`` is set.
"""
from __future__ import annotations

import os
from typing import NamedTuple

import torch

__all__ = ["Context", "setup", "cleanup", "pick_device", "cpu_cores", "rank_seed",
           "agree", "barrier", "gather_objects"]


class Context(NamedTuple):
    device: torch.device
    rank: int
    world: int

    @property
    def main(self) -> bool:
        return self.rank == 0


def cpu_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def pick_device(name: str, local_rank: int = 0) -> torch.device:
    """auto: cuda, then mps, then cpu; an explicit name must be available (clear error)."""
    if name == "auto":
        if torch.cuda.is_available():
            name = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            name = "mps"
        else:
            name = "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device {name!r} asked for, but torch finds no CUDA GPU "
                             f"(use --device auto or cpu)")
        return torch.device("cuda", local_rank) if name == "cuda" else torch.device(name)
    if name == "mps" and not (getattr(torch.backends, "mps", None) is not None
                              and torch.backends.mps.is_available()):
        raise ValueError("device 'mps' asked for, but Apple's MPS is not available here")
    return torch.device(name)


def setup(device: str = "auto", threads: int | None = None) -> Context:
    """Join the torchrun process group if there is one; pick the device and thread count."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    dev = pick_device(device, local)
    if threads is None and world > 1:
        threads = max(1, cpu_cores() // int(os.environ.get("LOCAL_WORLD_SIZE", world)))
    if threads is not None:
        torch.set_num_threads(int(threads))
    if world > 1 and not torch.distributed.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        torch.distributed.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return Context(dev, rank, world)


def cleanup() -> None:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def rank_seed(seed: int, rank: int) -> int:
    """The seed of rank `rank`'s torch random stream (drop-out): `seed` itself on rank 0, so one
    process trains exactly as before; other ranks get independent streams derived from both."""
    if rank == 0:
        return int(seed)
    import numpy as np
    return int(np.random.SeedSequence([int(seed), int(rank)]).generate_state(1, np.uint64)[0] >> 1)


def agree(loss: float, seconds: float, ctx: Context) -> tuple[float, float]:
    """(mean loss over ranks, the slowest rank's training time); in one process, unchanged."""
    if ctx.world == 1:
        return loss, seconds
    mine = torch.tensor([loss, seconds], dtype=torch.float64, device=ctx.device)
    every = [torch.empty_like(mine) for _ in range(ctx.world)]
    torch.distributed.all_gather(every, mine)
    every = torch.stack(every).cpu()
    return float(every[:, 0].mean()), float(every[:, 1].max())


def barrier(ctx: Context) -> None:
    """Wait for every rank (e.g. while rank 0 validates, so that no rank's clock counts it)."""
    if ctx.world > 1:
        torch.distributed.barrier()


def gather_objects(obj, ctx: Context) -> list:
    """[obj of rank 0, obj of rank 1, ...] on every rank (picklable objects, e.g. RNG states)."""
    if ctx.world == 1:
        return [obj]
    every = [None] * ctx.world
    torch.distributed.all_gather_object(every, obj)
    return every
