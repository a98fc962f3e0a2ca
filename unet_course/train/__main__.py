"""``python -m unet_course.train``: the headless main job (see ``--help``).

    python -m unet_course.train                                  # synthetic cells, cpu preset, 3 min
    python -m unet_course.train --data isbi2012 --minutes 15 --out runs/isbi
    python -m unet_course.train --data my_cells/ --preset paper --device cuda --out runs/mine
    python -m unet_course.train --out runs/isbi --data isbi2012 --minutes 30 --resume
    torchrun --nproc_per_node=4 -m unet_course.train --preset paper --out runs/ddp
    python -m unet_course.train.plot runs/isbi                     # runs/isbi/curves.png

Bad options and unusable data end with one line ``error: <reason>`` and exit status 2.
"""
from __future__ import annotations

import argparse
import sys

from ..cli import Parser
from .config import PRESETS, make_config
from .loop import TrainingDiverged, train

DEFAULT_MINUTES = {"cpu": 3.0, "paper": 60.0}


def _on_off(text: str) -> bool:
    if text.lower() in ("on", "true", "yes", "1"):
        return True
    if text.lower() in ("off", "false", "no", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected on or off, got {text!r}")


def preset_summary(name: str) -> str:
    """What a preset trains with, read from PRESETS (so the help cannot drift from it)."""
    v = PRESETS[name]
    optimizer = (f"SGD momentum {v['momentum']:g}" if v["optimizer"] == "sgd" else "Adam")
    drop = f", the last {v['lr_drop']:.0%} of the run at lr / 10" if v.get("lr_drop") else ""
    norm = ", batch norm" if v.get("batch_norm") else ""
    return (f"base {v['base_channels']}{norm}, {v['tile']} tiles x {v['batch']}, {optimizer}, "
            f"lr {v['lr']:g}{drop}")


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m unet_course.train",
               description="Train a U-Net (Ronneberger et al. 2015: the weighted cross-entropy "
                           "of Eq. 1 with the weight map of Eq. 2, elastic deformation) on "
                           "synthetic cells, ISBI 2012 or your own images. Presets: paper, the "
                           f"paper's set-up ({preset_summary('paper')}; the paper gives no lr; "
                           "the default on a GPU); "
                           "cpu, the course's choice for a few CPU minutes "
                           f"({preset_summary('cpu')}, bfloat16 where the CPU computes it; the "
                           "default without a GPU). Writes DIR/model.pt, checkpoint.pt, "
                           "metrics.csv, config.json; python -m unet_course.train.plot DIR "
                           "draws the curves.")
    p.add_argument("--data", default="synthetic",
                   help="synthetic (default, no download), isbi2012, or a folder with images/ "
                        "and labels/ (matching names, PNG/TIFF; instance ids or binary masks)")
    p.add_argument("--preset", choices=sorted(PRESETS), default=None,
                   help="cpu (Adam, minutes on a CPU; default without a GPU) or paper (SGD "
                        "momentum 0.99, as the paper; default on a GPU): see above")
    p.add_argument("--steps", type=int, help="stop after N steps")
    p.add_argument("--minutes", type=float,
                   help="stop after M minutes of training (without --steps: 3 on the cpu "
                        "preset, 60 on paper)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--out", default="runs/unet", help="run folder (default runs/unet)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--seed", type=int, default=0)
    o = p.add_argument_group("overrides (default: the preset's value)")
    o.add_argument("--lr", type=float)
    o.add_argument("--optimizer", choices=["sgd", "adam"])
    o.add_argument("--momentum", type=float)
    o.add_argument("--lr-drop", type=float,
                   help="last fraction of the run at lr / 10 (cpu preset 0.2, paper 0)")
    o.add_argument("--schedule", choices=["drop", "cosine"],
                   help="drop: lr / 10 for the last --lr-drop of the run; cosine: half a cosine "
                        "from lr to lr / 100")
    o.add_argument("--ema", type=float, help="decay of the weight average that is validated "
                                             "and saved (0: off)")
    o.add_argument("--batch", type=int, help="tiles per step (per process under torchrun)")
    o.add_argument("--tile", type=int, help="input tile side, e.g. 252 or 572")
    o.add_argument("--base", type=int, dest="base_channels", help="channels of the first level")
    o.add_argument("--batch-norm", action=argparse.BooleanOptionalAction, dest="batch_norm",
                   help="Conv-BN-ReLU blocks (not in the paper; on in the cpu preset, off in paper)")
    o.add_argument("--dropout", type=float, help="drop-out at the end of the contracting path (0.5)")
    o.add_argument("--train-images", type=int, help="synthetic: training images (24)")
    o.add_argument("--val-images", type=int, help="synthetic: held-out images (8)")
    o.add_argument("--image-size", type=int, help="synthetic: image side (256)")
    o.add_argument("--weight-map", type=_on_off, metavar="on|off", help="Eq. 2 weights (on)")
    o.add_argument("--elastic", type=_on_off, metavar="on|off", help="elastic deformation (on)")
    o.add_argument("--amp", action=argparse.BooleanOptionalAction,
                   help="mixed precision: CUDA float16 (off by default) or CPU bfloat16 (on "
                        "where the CPU computes bfloat16 in hardware)")
    o.add_argument("--channels-last", action="store_true", help="CUDA memory layout (off)")
    o.add_argument("--val-every", type=int)
    o.add_argument("--checkpoint-every", type=int)
    o.add_argument("--workers", type=int, dest="num_workers", help="DataLoader workers (0)")
    o.add_argument("--threads", type=int, help="CPU threads per process (cores // processes)")
    o.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    settings = {k: v for k, v in vars(args).items()
                if k not in ("out", "resume", "no_progress", "channels_last", "preset")}
    settings.update(channels_last=args.channels_last or None)
    try:
        cfg = make_config(args.preset, **settings)
        if cfg.steps is None and cfg.minutes is None:
            cfg.minutes = DEFAULT_MINUTES[cfg.preset]
        run = train(cfg, out=args.out, resume=args.resume, progress=not args.no_progress)
    except (ValueError, FileNotFoundError, TrainingDiverged, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; resume with the same options and --resume", file=sys.stderr)
        return 130
    finally:
        from .distributed import cleanup
        cleanup()  # leave the torchrun process group (no-op in one process)
    if run.out is not None and (getattr(run, "model", None) is not None):
        m = run.metrics
        print(f"done: {run.steps} steps, {run.seconds / 60:.1f} min; validation: foreground IoU "
              f"(pixels pooled) {m.get('val_iou', float('nan')):.3f}, cells separated "
              f"{100 * m.get('val_separated', float('nan')):.0f}%, misclassification rate "
              f"{m.get('val_misclassification_rate', float('nan')):.4f}; model: {run.out / 'model.pt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
