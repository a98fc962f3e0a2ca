"""What a run leaves behind and shows while it runs (rank 0 only).

- ``DIR/config.json``: the resolved configuration (the settings that applied, presets
  applied: the synthetic-data settings only for synthetic data, the validation share only for
  a folder), the network, the device, the number of processes, the data description and,
  where the split names them, the training and validation files;
- ``DIR/metrics.csv``: one row per step: step, loss (under torchrun the mean over ranks), lr,
  val_iou (foreground IoU, pixels pooled over the validation images), val_separated,
  val_misclassification_rate (the share of wrong pixels at 0.5; NOT the ISBI pixel error)
  (filled at validation steps, the last step included), seconds of training so far; on
  resume, rows after the checkpoint's step are dropped so the file reads like one
  uninterrupted run (a file written before 2026-12-07's rename, with val_pixel_error for the
  same rate, is read and rewritten under the new name: ``RENAMED``) (``python -m unet_course.train.plot
  DIR`` draws it);
- a tqdm.auto progress bar with the loss and the throughput (tiles/s);
- ``callback(record)``: called with every row (``record["event"] == "step"``), after each
  validation (``"validation"``, with ``"image"`` and ``"probabilities"`` of the first
  validation image for snapshots) and at the end (``"end"``): a notebook draws its live plot
  from it. ``Run.history`` keeps the rows.
"""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from ..data.files import temp_file

__all__ = ["COLUMNS", "RENAMED", "RunLog", "write_json", "config_record", "upgrade_row"]

COLUMNS = ("step", "loss", "lr", "val_iou", "val_separated", "val_misclassification_rate",
           "seconds")
# old column name -> new: runs logged before 2026-12-07 called the share of wrong pixels at 0.5
# "val_pixel_error", which is the ISBI challenge's different number (unet_course.metrics)
RENAMED = {"val_pixel_error": "val_misclassification_rate"}


def upgrade_row(row: dict) -> dict:
    """A metrics.csv row with old column names (``RENAMED``) under the new ones."""
    return {RENAMED.get(k, k): v for k, v in row.items()}
SYNTHETIC_ONLY = ("train_images", "val_images", "image_size")  # settings of data="synthetic"


def config_record(settings: dict, split, given: bool = False, **facts) -> dict:
    """What config.json records: ``settings`` (TrainConfig.to_dict()) without those that did
    not apply to this data, the split's description and files, and ``facts`` (device, ...).
    given: the split was handed to train() (cfg.data was not read)."""
    record = dict(settings)
    data = "given to train() as a split" if given else settings["data"]
    if data != "synthetic":
        for key in SYNTHETIC_ONLY:
            record.pop(key, None)
    if given or data in ("synthetic", "isbi2012"):  # val_fraction splits folders only
        record.pop("val_fraction", None)
    record.update(data=data, data_description=split.description)
    files = getattr(split, "files", None)  # the file names, where the split carries them
    if files is not None:
        record["files"] = files._asdict() if hasattr(files, "_asdict") else files
    return {**record, **facts}


def write_json(path: Path, data: dict) -> None:
    handle, tmp = temp_file(path)
    with os.fdopen(handle, "w") as f:
        json.dump(data, f, indent=2, default=str)
    os.replace(tmp, path)


class RunLog:
    def __init__(self, out, active: bool, callback=None, progress=True, total=None,
                 start: int = 0, batch: int = 1):
        self.out = Path(out) if out is not None and active else None
        self.active, self.callback, self.history = active, callback, []
        self.batch = batch
        self.bar = None
        if active and progress:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=total, initial=start, desc="training", unit="step",
                            dynamic_ncols=True)
        if self.out is not None:
            self.out.mkdir(parents=True, exist_ok=True)
            self._restart_csv(start)

    def _restart_csv(self, start: int) -> None:
        path, rows = self.out / "metrics.csv", []
        if start > 0 and path.exists():
            with open(path, newline="") as f:
                rows = [upgrade_row(r) for r in csv.DictReader(f) if int(r["step"]) <= start]
            unknown = set(rows[0]) - set(COLUMNS) if rows else set()
            if unknown:
                raise ValueError(f"{path}: columns {sorted(unknown)} are not this version's "
                                 f"({', '.join(COLUMNS)}); resume into a new --out folder")
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, COLUMNS)
            writer.writeheader()
            writer.writerows(rows)

    def config(self, data: dict) -> None:
        if self.out is not None:
            write_json(self.out / "config.json", data)

    def row(self, step: int, loss: float, lr: float, seconds: float, val: dict | None = None,
            rate: float | None = None) -> None:
        if not self.active:
            return
        record = {"step": step, "loss": loss, "lr": lr, "val_iou": None, "val_separated": None,
                  "val_misclassification_rate": None, "seconds": round(seconds, 3)}
        if val:  # a custom validate's other keys stay in the history, not in metrics.csv
            record.update({k: v for k, v in val.items() if k != "probabilities"})
        self.history.append(record)
        if self.out is not None:
            with open(self.out / "metrics.csv", "a", newline="") as f:
                csv.DictWriter(f, COLUMNS, extrasaction="ignore").writerow(record)
        if self.bar is not None:
            self.bar.update(1)
            postfix = {"loss": f"{loss:.4f}"}
            if rate:
                postfix["tiles/s"] = f"{rate * self.batch:.1f}"
            if val and "val_iou" in val:
                postfix["pooled IoU"] = f"{val['val_iou']:.3f}"
            self.bar.set_postfix(postfix, refresh=False)
        if self.callback is not None:
            self.callback({"event": "step", **record})

    def validation(self, step: int, val: dict, image=None) -> None:
        if self.active and self.callback is not None:
            record = {"event": "validation", "step": step,
                      **{k: v for k, v in val.items() if k != "probabilities"}}
            if image is not None and "probabilities" in val:  # evaluate's, for snapshots
                record.update(image=image, probabilities=val["probabilities"][0])
            self.callback(record)

    def message(self, text: str) -> None:
        """A line for the person watching: on the progress bar, or printed when the run has a
        folder; silent for a run with neither (e.g. course_model, lesson 10's fit)."""
        if not self.active or (self.bar is None and self.out is None):
            return
        if self.bar is not None:
            self.bar.write(text)
        else:
            print(text, flush=True)

    def close(self, run=None) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.active and self.callback is not None and run is not None:
            self.callback({"event": "end", "run": run})
