"""Transfer learning: a U-Net pre-trained on synthetic cells, fine-tuned on a few ISBI slices,
against the same network from He initialisation with the same budget (lesson 10, Sec. 5;
``benchmarks/bench_transfer.py`` runs it with a longer budget and writes the CSV the lesson reads).

The paper trains from scratch (Sec. 3: He initialisation); pre-training is a later practice.
Both networks normalise each slice by its percentiles (``unet_course.normalize``, the rule
every course model keeps) and standardise it with the ISBI training slices' statistics; the target
is the membrane label (cell interior = 1) with class-balanced weights (``w_c`` of Eq. 2; ISBI
gives no instances to place a border term on); the initial weights are the only difference.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["TransferRun", "compare_transfer", "held_out_scores"]


class TransferRun(NamedTuple):
    name: str        # "pre-trained" or "from scratch"
    steps: int
    seconds: float   # training time (CPU time on a CPU, wall time on a GPU)
    curve: list      # (seconds, ISBI pixel error of the watched slice), from before training on
    final: dict      # pixel_error, misclassification_rate, foreground_iou of the held-out slices


def held_out_scores(model, images, labels, which) -> dict:
    """Scores of ``model`` on the slices ``which``: the ISBI challenge's pixel error of them as
    a stack (1 - best F-score, one threshold), the share of wrong pixels at 0.5 over all
    their pixels, and the mean foreground IoU (p > 0.5)."""
    from ..metrics import foreground_iou, misclassification_rate, pixel_error
    from .fit import predict_probabilities
    model.eval()
    probs = [predict_probabilities(model, images[i]) for i in which]
    truth = [labels[i] for i in which]
    return {"pixel_error": pixel_error(probs, truth),
            "misclassification_rate": misclassification_rate(probs, truth),
            "foreground_iou": float(np.mean([foreground_iou(p, t) for p, t in zip(probs, truth)]))}


def compare_transfer(pretrained, seconds: float, train_slices=(0, 1, 2, 3),
                     held_out=(25, 26, 27, 28, 29), watch: int = 26, device=None,
                     val_every: int = 10, seed: int = 0, progress: bool = False,
                     root=None) -> list[TransferRun]:
    """Fine-tune a copy of ``pretrained`` (a StandardizedUNet) and train the same network from
    He initialisation, each for ``seconds``, on ISBI ``train_slices``; score ``held_out``."""
    import copy

    import torch

    from ..data import isbi_targets, load_isbi2012
    from ..model import he_init_
    from ..normalize import PERCENTILES, StandardizedUNet, input_statistics, percentile_normalize
    from ..weights import class_balance_weights
    from .fit import fit
    if set(train_slices) & set(held_out):
        raise ValueError(f"train slices {sorted(set(train_slices) & set(held_out))} are also "
                         f"held out: choose disjoint slices of 0-29")
    isbi = load_isbi2012(root=root, progress=False)
    images = [percentile_normalize(im, *PERCENTILES) for im in isbi.images]  # as train() reads them
    labels = isbi_targets(isbi.labels)
    tr_images = [images[i] for i in train_slices]
    tr_targets = [labels[i] for i in train_slices]
    tr_weights = [class_balance_weights(t) for t in tr_targets]
    mean, std = input_statistics(tr_images)
    tuned = copy.deepcopy(pretrained).cpu()
    tuned.input_mean.fill_(mean)
    tuned.input_std.fill_(std)
    tuned.percentiles = PERCENTILES
    # the same network (width, depth, batch norm, drop-out): the weights are the only difference
    scratch = StandardizedUNet(base_channels=tuned.base_channels, depth=tuned.depth,
                               dropout=tuned.dropout, batch_norm=tuned.batch_norm,
                               input_mean=mean, input_std=std, percentiles=PERCENTILES)
    he_init_(scratch, seed)
    runs = []
    for name, model in (("pre-trained", tuned), ("from scratch", scratch)):
        start = held_out_scores(model, images, labels, [watch])["pixel_error"]
        result = fit(model.train(), tr_images, tr_targets, tr_weights, seconds=seconds, tile=252,
                     batch=4, lr=1e-3, seed=seed, device=device, val_every=val_every,
                     validate=lambda m: held_out_scores(m, images, labels, [watch]),
                     progress=progress)
        curve = [(0.0, start)] + [(h["seconds"], h["val_pixel_error"])
                                  for h in result.history if "val_pixel_error" in h]
        final = held_out_scores(result.model.to("cpu"), images, labels, list(held_out))
        runs.append(TransferRun(name, result.steps, result.seconds, curve, final))
        torch.manual_seed(seed)
    return runs
