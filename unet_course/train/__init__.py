"""Training the U-Net as the paper did (Sec. 3), and the command ``python -m unet_course.train``.

    from unet_course.train import make_config, train, load_model, course_model
    run = train(make_config("cpu", steps=300), out="runs/demo")   # run.model, run.metrics
    model = load_model("runs/demo/model.pt")                       # eval mode, model.config
    model = course_model()        # the small model lessons 08-10 share (trained once, cached)

Modules, read in this order: ``config`` (presets and settings), ``sources`` (data and split),
``loop`` (``train_step`` and ``train``), ``validate`` (IoU, cells separated), ``state``
(checkpoints and resuming), ``log`` (metrics.csv, progress, callback), ``distributed``
(devices, threads, torchrun), ``course`` (``course_model``), ``__main__`` (the command),
``plot`` (a run's curves: ``python -m unet_course.train.plot RUN_DIR``).
"""
from ..checkpoint import load_model, save_model  # noqa: F401
from .config import PRESETS, TrainConfig, make_config  # noqa: F401
from .course import COURSE_SETTINGS, course_model  # noqa: F401
from .loop import Run, TrainingDiverged, train, train_step  # noqa: F401
from .validate import evaluate, predict_image  # noqa: F401

__all__ = ["train", "train_step", "make_config", "TrainConfig", "PRESETS", "Run",
           "TrainingDiverged", "course_model", "COURSE_SETTINGS", "load_model", "save_model",
           "evaluate", "predict_image"]
