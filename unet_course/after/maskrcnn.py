"""Mask R-CNN (optional): torchvision's implementation on the course's touching cells.

He, Gkioxari, Dollár & Girshick, "Mask R-CNN" (ICCV 2017, arXiv 1703.06870): "Mask R-CNN
extends Faster R-CNN by adding a branch for predicting an object mask in parallel with the
existing branch for bounding box recognition." (Abstract) "we propose a simple,
quantization-free layer, called RoIAlign, that faithfully preserves exact spatial
locations." (Sec. 1) Each detected cell gets its own mask, so touching cells are separated
by construction instead of by a thin background border (the U-Net's weight map).

This part is OPTIONAL: the core course never imports torchvision. torchvision from the package
registry fails to load its compiled operators with the CPU build of torch this course pins
(``torchvision.ops.nms`` raises), so ``torchvision_status()`` imports it AND calls
``torchvision.ops.nms`` on a tiny tensor; everything else raises ``MaskRCNNUnavailable`` with
the reason when that fails. It runs where torchvision works (Colab, GPU machines).

Where the course simplifies: ResNet-50-FPN without pretrained weights (the paper starts from
ImageNet), grey images repeated to three channels, one object class ("cell"), a short
training run with Adam; torchvision's defaults elsewhere.
"""
from __future__ import annotations

import numpy as np

__all__ = ["MaskRCNNUnavailable", "torchvision_status", "require_torchvision",
           "instance_targets", "maskrcnn_model", "train_maskrcnn", "predict_instances"]


class MaskRCNNUnavailable(RuntimeError):
    """torchvision is missing or its operators do not load with this torch."""


def torchvision_status() -> tuple[bool, str]:
    """(works, message): import torchvision and run one ``torchvision.ops.nms``."""
    try:
        import torch
        import torchvision
        from torchvision.ops import nms
        kept = nms(torch.tensor([[0.0, 0, 10, 10], [1, 1, 11, 11]]), torch.tensor([0.9, 0.8]), 0.5)
        if kept.tolist() != [0]:
            raise RuntimeError(f"nms returned {kept.tolist()}, expected [0]")
        return True, f"torchvision {torchvision.__version__} works (ops.nms ran)"
    except Exception as error:  # ImportError, or a RuntimeError from operators that do not load
        why = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        return False, (f"Mask R-CNN skipped: torchvision is not usable here ({type(error).__name__}: "
                       f"{why}). It is optional: install a torchvision built for this torch "
                       f"(e.g. on Colab or a GPU machine) to run it; the rest of the course "
                       f"does not need it.")


def require_torchvision() -> None:
    """Raise MaskRCNNUnavailable with the reason when torchvision does not work."""
    ok, message = torchvision_status()
    if not ok:
        raise MaskRCNNUnavailable(message)


def instance_targets(instances: np.ndarray) -> dict:
    """Mask R-CNN's training target for one instance image (0 = background, ids > 0):
    {"boxes": (K, 4) float32 x0 y0 x1 y1, "labels": (K,) int64 all 1, "masks": (K, H, W) uint8}.
    Pure numpy + torch (no torchvision needed)."""
    import torch
    instances = np.asarray(instances)
    if instances.ndim != 2:
        raise ValueError(f"instances must be a 2-D label image, got shape {instances.shape}")
    ids = [i for i in np.unique(instances) if i > 0]
    boxes, masks = [], []
    for i in ids:
        rows, cols = np.nonzero(instances == i)
        boxes.append([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1])
        masks.append(instances == i)
    h, w = instances.shape
    return {"boxes": torch.tensor(np.array(boxes, np.float32).reshape(-1, 4)),
            "labels": torch.ones(len(ids), dtype=torch.int64),
            "masks": torch.from_numpy(np.array(masks, np.uint8).reshape(-1, h, w))}


def maskrcnn_model(image_size: int = 256, max_cells: int = 200):
    """torchvision's Mask R-CNN (ResNet-50-FPN, no pretrained weights), two classes."""
    require_torchvision()
    from torchvision.models.detection import maskrcnn_resnet50_fpn
    return maskrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=2,
                                 min_size=image_size, max_size=image_size,
                                 box_detections_per_img=max_cells,
                                 image_mean=[0.5] * 3, image_std=[0.25] * 3)


def _batch(images, device):
    import torch
    return [torch.as_tensor(np.asarray(im, np.float32))[None].expand(3, -1, -1).to(device)
            for im in images]


def train_maskrcnn(model, images, instances, steps: int | None = None, seconds: float | None = None,
                   batch: int = 2, lr: float = 1e-4, seed: int = 0, device=None,
                   progress: bool = False) -> list[float]:
    """A short training run (Adam) on whole images with random flips, until ``steps`` or
    ``seconds`` of training time (process CPU time on a CPU, wall time on a GPU, as
    ``unet_course.after.fit``); returns the losses."""
    import time
    import torch
    from tqdm.auto import tqdm
    device = torch.device(device or "cpu")
    model.to(device).train()
    rng = np.random.default_rng(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    if steps is None and seconds is None:
        raise ValueError("give steps or seconds (the training budget)")
    clock = time.process_time if device.type == "cpu" else time.perf_counter
    losses, spent, bar = [], 0.0, tqdm(total=steps, disable=not progress, desc="Mask R-CNN")
    while (steps is None or len(losses) < steps) and (seconds is None or spent < seconds):
        start = clock()
        picks = rng.integers(len(images), size=batch)
        flips = rng.integers(2, size=(batch, 2)).astype(bool)
        ims, targets = [], []
        for k, (fy, fx) in zip(picks, flips):
            im, inst = np.asarray(images[k]), np.asarray(instances[k])
            im, inst = (im[::-1], inst[::-1]) if fy else (im, inst)
            im, inst = (im[:, ::-1], inst[:, ::-1]) if fx else (im, inst)
            ims.append(np.ascontiguousarray(im))
            targets.append({k2: v.to(device) for k2, v in instance_targets(np.ascontiguousarray(inst)).items()})
        loss = sum(model(_batch(ims, device), targets).values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
        spent += clock() - start
        bar.update(1)
    bar.close()
    return losses


def predict_instances(model, image: np.ndarray, score_threshold: float = 0.5,
                      mask_threshold: float = 0.5) -> np.ndarray:
    """An instance image (H, W) int32: detected masks pasted from the highest score down,
    each pixel kept by the first (most confident) cell that claims it."""
    import torch
    model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        out = model(_batch([image], device))[0]
    result = np.zeros(np.asarray(image).shape, np.int32)
    keep = (out["scores"] >= score_threshold).cpu().numpy()
    masks = (out["masks"][:, 0] >= mask_threshold).cpu().numpy()[keep]
    for k, mask in enumerate(masks, start=1):  # torchvision sorts by score already
        result[mask & (result == 0)] = k
    return result
