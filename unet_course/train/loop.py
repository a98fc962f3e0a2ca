"""The training loop of Sec. 3: He initialisation, weighted cross-entropy (Eq. 1) with the
weight map of Eq. 2, SGD with momentum 0.99, elastic deformation, validation at intervals.

    run = train(make_config("cpu", steps=500), out="runs/demo")
    run.model, run.metrics            # the trained UNet (eval mode), final validation scores

``train_step`` is the whole of one optimisation step; ``train`` adds data, logging,
validation, checkpoints, resuming and torchrun around it, for the U-Net of Fig. 1 or, given
``model=`` and ``loss_fn=``, any network (lesson 10's, through ``unet_course.after.fit``).
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable, NamedTuple

import torch

from ..checkpoint import save_model, unwrap
from ..loss import weighted_cross_entropy
from . import distributed
from .config import TrainConfig, make_config
from .log import RunLog, config_record
from .sources import load_split
from .state import check_compatible, load_state, read_state, rng_state, save_state
from .validate import evaluate

__all__ = ["train_step", "unet_energy", "train", "build_model", "tile_dataset", "batches", "Run",
           "TrainingDiverged"]


class TrainingDiverged(RuntimeError, FloatingPointError):
    """The loss became NaN or infinite; the message names the step and the likely causes.
    (A FloatingPointError too, as lesson 10's ``fit`` has always raised.)"""


class Run(NamedTuple):
    model: torch.nn.Module      # the trained network (a UNet by default), eval mode, on the device
    config: TrainConfig
    steps: int
    seconds: float
    metrics: dict               # final validation: val_iou, val_separated, val_misclassification_rate
                                # (or what train's `validate` returned; {} without validation)
    history: list               # one dict per step (see log.COLUMNS)
    out: Path | None


def unet_energy(model, image, target, weight) -> torch.Tensor:
    """The paper's energy (Eq. 1): cross-entropy of the softmax, weighted by Eq. 2's map."""
    return weighted_cross_entropy(model(image).float(), target, weight, check=False)


def train_step(model, optimizer, batch, scaler=None, loss_fn=unet_energy, amp=None) -> torch.Tensor:
    """One step: forward a batch of tiles, the loss (default: Eq. 1), backward, update.
    loss_fn(model, image, target, weight) lets lesson 10 train other networks the same way;
    amp: autocast (CUDA float16, CPU bfloat16); None: on when a gradient scaler is given."""
    image, target, weight = batch                  # (B, 1, S, S), (B, s, s), (B, s, s)
    optimizer.zero_grad(set_to_none=True)
    amp = scaler is not None if amp is None else amp
    with torch.autocast(image.device.type, enabled=bool(amp)):
        loss = loss_fn(model, image, target, weight)  # logits (B, 2, s, s): s = S - 184
    if not torch.isfinite(loss):                   # stop before the update spoils the weights
        raise FloatingPointError(f"loss is {loss.item()}")
    if scaler is None:
        loss.backward()
        optimizer.step()
    else:                                          # mixed precision: scale against underflow
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    return loss.detach()


def build_model(cfg: TrainConfig, split, device) -> torch.nn.Module:
    """The U-Net of Fig. 1 (width cfg.base_channels) that normalises whole images by their
    percentiles and standardises its input with the (normalised) training images' statistics
    (``unet_course.normalize``), He-initialised from the seed."""
    from ..model import he_init_
    from ..normalize import PERCENTILES, StandardizedUNet, input_statistics
    mean, std = input_statistics(split.train_images)
    model = StandardizedUNet(base_channels=cfg.base_channels, depth=cfg.depth,
                             dropout=cfg.dropout, batch_norm=cfg.batch_norm, input_mean=mean,
                             input_std=std, percentiles=PERCENTILES)
    he_init_(model, cfg.seed)
    model.to(device)
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)
    return model


def weight_average(cfg: TrainConfig, model):
    """None, or torch's AveragedModel keeping an exponential moving average of the weights
    (decay cfg.ema per step) that validation and model.pt use. Not in the paper: Adam's
    weights jitter from step to step; the average of the last ~1 / (1 - ema) steps is steadier
    (Polyak averaging; course choice, measured in benchmarks/results/bench_train.csv)."""
    if not cfg.ema:
        return None
    from torch.optim.swa_utils import AveragedModel
    return AveragedModel(unwrap(model), multi_avg_fn=_ema_with_warmup(cfg.ema), use_buffers=True)


def _ema_with_warmup(decay: float):
    """torch's EMA update with the decay min(decay, (1 + n) / (10 + n)) after n updates (the
    warm-up of TensorFlow's ExponentialMovingAverage): early on the average forgets the random
    initial weights within a few steps, so it does not lag far behind in a short run."""
    from torch.optim.swa_utils import get_ema_multi_avg_fn

    def update(averaged, current, n_averaged):
        n = float(n_averaged)
        get_ema_multi_avg_fn(min(decay, (1 + n) / (10 + n)))(averaged, current, n_averaged)
    return update


def make_optimizer(cfg: TrainConfig, model) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":  # Sec. 3: "a high momentum (0.99)"
        return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    return torch.optim.Adam(model.parameters(), lr=cfg.lr)


def tile_dataset(cfg: TrainConfig, split):
    """Tile g of the run is TileDataset item g (its own seeded draw): an endless, seeded stream."""
    from ..augment import Augment
    from ..data import TileDataset
    augment = Augment(elastic=cfg.elastic, flip=cfg.flip, backend="torch") \
        if (cfg.elastic or cfg.flip) else None
    return TileDataset(split.train_images, split.train_targets, split.train_weights,
                       input_size=cfg.tile, depth=cfg.depth, tiles_per_epoch=2 ** 62,
                       augment=augment, seed=cfg.seed)


class _StepSampler:
    """Indices of the tiles of each step from `start` on; rank r takes its share of each step."""

    def __init__(self, start, batch, rank, world):
        self.start, self.batch, self.rank, self.world = start, batch, rank, world

    def __iter__(self):
        step = self.start
        while True:
            first = (step * self.world + self.rank) * self.batch
            yield list(range(first, first + self.batch))
            step += 1


def _one_thread(_):
    torch.set_num_threads(1)


def batches(dataset, start: int, batch: int, rank: int = 0, world: int = 1, workers: int = 0):
    """Endless iterator of (image, target, weight) batches for steps start, start + 1, ..."""
    sampler = _StepSampler(start, batch, rank, world)
    if workers == 0:
        for indices in sampler:
            yield tuple(torch.stack(parts) for parts in zip(*(dataset[i] for i in indices)))
    else:
        # its own generator, so workers do not consume the global RNG (drop-out draws)
        loader = torch.utils.data.DataLoader(dataset, batch_sampler=sampler, num_workers=workers,
                                             worker_init_fn=_one_thread, prefetch_factor=4,
                                             generator=torch.Generator().manual_seed(0))
        yield from loader


def _diverged(step, error, checkpoint) -> TrainingDiverged:
    kept = (f"the last good checkpoint {checkpoint} is kept (resume from it with a smaller lr)"
            if checkpoint and Path(checkpoint).exists() else "no checkpoint had been written yet")
    return TrainingDiverged(
        f"non-finite loss at step {step} ({error}); training stopped, {kept}. Likely causes: "
        f"a learning rate too high (with momentum m the step is about lr / (1 - m)), "
        f"mixed precision overflow (train with --no-amp), or bad inputs (NaN in the images or "
        f"weight map, labels outside the classes)")


def _resumable(ckpt, cfg, world) -> dict:
    if ckpt is None or not ckpt.exists():
        raise ValueError(f"resume: no checkpoint {ckpt} to resume from (give the --out of the run)")
    saved = read_state(ckpt)
    check_compatible(saved, cfg, world, ckpt)
    return saved


def learning_rate(cfg: TrainConfig, step: int, seconds: float) -> float:
    """cfg.lr, divided by 10 for the last cfg.lr_drop of the run (by steps or by minutes), or
    with schedule "cosine" along half a cosine to cfg.lr / 100. The paper states no schedule; a
    final drop settles the noisy last steps (course choice)."""
    done = max(step / cfg.steps if cfg.steps else 0.0,
               seconds / (60 * cfg.minutes) if cfg.minutes else 0.0)
    if cfg.schedule == "cosine":   # half a cosine from lr to lr / 100 (course option)
        return cfg.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(done, 1.0))))
    return cfg.lr / 10 if cfg.lr_drop and done >= 1 - cfg.lr_drop else cfg.lr


def _finished(cfg, step: int, seconds: float) -> bool:
    """cfg.steps done or cfg.minutes of training spent (seconds agreed by all ranks)."""
    return ((cfg.steps is not None and step >= cfg.steps)
            or (cfg.minutes is not None and seconds >= 60 * cfg.minutes))


def train(config: TrainConfig | dict | None = None, out=None, resume: bool = False,
          callback: Callable | None = None, progress: bool = True, *, model=None,
          loss_fn: Callable | None = None, split=None, validate: Callable | None = None,
          clock: Callable[[], float] | None = None) -> Run:
    """Train a U-Net as ``config`` says (a TrainConfig, or a dict of make_config arguments).

    out: run folder (config.json, metrics.csv, checkpoint.pt, model.pt) or None for nothing on
    disk. resume: continue from out/checkpoint.pt. callback(record): see ``log``.
    Stops after cfg.steps steps or cfg.minutes of training, whichever comes first; the last
    step is always validated (and logged).
    Raises TrainingDiverged on a non-finite loss, ValueError on bad settings or data.

    Any other network (lesson 10, ``unet_course.after.fit``) goes through the same loop:
    model: the network to train instead of ``build_model``'s U-Net (cfg's network settings
    are then unused; cfg.tile and cfg.depth still set the tiles: their target window is
    ``output_size(tile, depth)``); loss_fn(model, image, target, weight): its loss on that
    window (default: Eq. 1, ``unet_energy``); split: a ``sources.Split`` to train on instead
    of cfg.data's; validate(model) -> dict of numbers (keys as logged, e.g. "val_iou")
    instead of ``evaluate`` on the split's validation images (none without them); clock:
    the training-time clock (default ``time.perf_counter``; fit uses CPU time). model.pt is
    written for U-Nets only; checkpoint.pt holds any network's weights and resumes it.
    """
    cfg = config if isinstance(config, TrainConfig) else make_config(**(config or {}))
    if cfg.steps is None and cfg.minutes is None:
        raise ValueError("give steps or minutes (how long to train)")
    ctx = distributed.setup(cfg.device, cfg.threads)
    if cfg.amp and ctx.device.type not in ("cuda", "cpu"):
        raise ValueError(f"amp (mixed precision) needs a CUDA device or the CPU, got {ctx.device}")
    out = Path(out) if out is not None else None
    ckpt = out / "checkpoint.pt" if out is not None else None
    saved = _resumable(ckpt, cfg, ctx.world) if resume else None  # fail before loading data
    # drop-out draws (tiles have their own seeded generators): rank 0 as one process, the
    # other ranks their own streams, so that ranks do not repeat each other's masks
    torch.manual_seed(distributed.rank_seed(cfg.seed, ctx.rank))
    given, split = split is not None, split if split is not None else load_split(cfg)
    model = build_model(cfg, split, ctx.device) if model is None else model.to(ctx.device)
    if validate is None and split.val_images and not hasattr(model, "padding"):
        raise ValueError(f"{type(model).__name__} has no .padding ('valid' or 'same'), which "
                         f"validation (train.validate.evaluate) reads: pass validate=, or a "
                         f"split without validation images")
    loss_fn, clock = loss_fn or unet_energy, clock or time.perf_counter
    optimizer = make_optimizer(cfg, model)
    # float16 on CUDA needs a gradient scaler; bfloat16 on the CPU has float32's range
    scaler = torch.amp.GradScaler("cuda") if cfg.amp and ctx.device.type == "cuda" else None
    averaged = weight_average(cfg, model)
    start, seconds = (load_state(saved, model, optimizer, scaler, ckpt, averaged, ctx.rank)
                      if resume else (0, 0.0))
    if ctx.world > 1:
        model = torch.nn.parallel.DistributedDataParallel(model)
    log = RunLog(out, ctx.main, callback, progress, cfg.steps, start, cfg.batch * ctx.world)
    log.config(config_record(cfg.to_dict(), split, given, network=type(unwrap(model)).__name__,
                             device=str(ctx.device), processes=ctx.world, torch=torch.__version__))
    log.message(f"{split.description}; device {ctx.device}, {ctx.world} process(es), "
                f"{torch.get_num_threads()} thread(s) each")
    data = batches(tile_dataset(cfg, split), start, cfg.batch, ctx.rank, ctx.world, cfg.num_workers)
    val, step = {}, start

    def result():  # the network that is validated and saved
        return averaged.module if averaged is not None else unwrap(model)

    def validation():
        nonlocal val
        if ctx.main and (validate is not None or split.val_images):
            net = result()
            was_training = net.training
            try:
                with torch.no_grad():
                    val = (validate(net.eval()) if validate is not None else
                           evaluate(net, split.val_images, split.val_targets,
                                    split.val_instances, ctx.device))
            finally:
                net.train(was_training)
            log.validation(step, val, split.val_images[0] if split.val_images else None)
        return val

    def checkpoint():  # every rank: each one's drop-out stream goes into the file
        rng = distributed.gather_objects(rng_state(), ctx) if ckpt is not None else None
        if ctx.main and ckpt is not None:
            save_state(ckpt, model, optimizer, scaler, step, seconds, cfg, ctx.world, averaged,
                       rng)

    model.train()
    done = _finished(cfg, step, seconds)
    distributed.barrier(ctx)  # the ranks start their clocks together
    try:
        while not done:
            tic = clock()
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(cfg, step, seconds)
            batch = [t.to(ctx.device, non_blocking=True) for t in next(data)]
            if cfg.channels_last:
                batch[0] = batch[0].contiguous(memory_format=torch.channels_last)
            try:
                loss = float(train_step(model, optimizer, batch, scaler, loss_fn=loss_fn,
                                        amp=cfg.amp))
            except FloatingPointError as error:
                raise _diverged(step + 1, error, ckpt) from None
            if averaged is not None:
                averaged.update_parameters(unwrap(model))
            step += 1
            took = clock() - tic
            loss, seconds = distributed.agree(loss, seconds + took, ctx)
            done = _finished(cfg, step, seconds)  # the same on every rank
            validating, saving = done or step % cfg.val_every == 0, step % cfg.checkpoint_every == 0
            log.row(step, loss, optimizer.param_groups[0]["lr"], seconds,
                    validation() if validating else None, 1 / max(took, 1e-9))
            if saving and not done:
                checkpoint()
            if validating or saving:
                distributed.barrier(ctx)  # rank 0's extra work is in no rank's training time
        if step == start:  # nothing to train (a finished run resumed): validate it once
            validation()
        checkpoint()
        if ctx.main and out is not None:
            _save_model(result(), out, cfg, step, val, log, getattr(split, "files", None))
    finally:
        log.close()
    metrics = {k: v for k, v in val.items() if k != "probabilities"}
    run = Run(result().eval(), cfg, step, seconds, metrics, log.history, out)
    log.close(run)
    return run


def _save_model(network, out: Path, cfg, step: int, val: dict, log, files=None) -> None:
    """out/model.pt for a U-Net; other networks keep their weights in checkpoint.pt only. A
    folder run's model records the names of its training images (``train_names``: evaluate
    --model marks them)."""
    from ..model import UNet
    if not isinstance(network, UNet):
        log.message(f"{type(network).__name__}: no model.pt (save_model writes U-Nets); its "
                    f"weights are in {out / 'checkpoint.pt'} (\"model\" -> \"state_dict\")")
        return
    names = {"train_names": [Path(n).stem for n in files["train"]]} if files else {}
    save_model(network, out / "model.pt", {**cfg.to_dict(), "steps_done": step, **names,
                                         **{k: v for k, v in val.items() if k != "probabilities"}})
