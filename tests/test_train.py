"""unet_course.train and unet_course.checkpoint on tiny configurations (base 4, 188 tiles, a few
steps): one step learns, checkpoints round-trip, resuming is bitwise exact on the CPU, the NaN
guard, every data source, the command end to end, the last step validated and logged,
config.json, the help text, and 2 gloo processes = 1 with double batch when drop-out is off
(with drop-out on they are the same in distribution only: tests/test_distributed.py)."""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from unet_course.checkpoint import load_model, save_model
from unet_course.model import UNet
from unet_course.normalize import StandardizedUNet
from unet_course.train import TrainingDiverged, make_config, train, train_step
from unet_course.train import course as course_module
from unet_course.train.loop import build_model, make_optimizer
from unet_course.train.sources import load_split

ROOT = Path(__file__).resolve().parents[1]
# lr_drop 0: the resume tests stop a run early and continue it, and the drop's place depends on
# the run's length (a resumed run with a longer budget drops later; config.py says so)
TINY = dict(base_channels=4, tile=188, batch=2, train_images=2, val_images=1, image_size=96,
            val_every=3, checkpoint_every=3, lr_drop=0.0)
TINY_CLI = ["--base", "4", "--tile", "188", "--train-images", "2", "--val-images", "1",
            "--image-size", "96", "--lr-drop", "0", "--no-progress"]


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def losses(run):
    return [row["loss"] for row in run.history]


def test_one_step_reduces_the_loss_on_a_fixed_batch():
    cfg = make_config("cpu", optimizer="sgd", lr=0.01, dropout=0.0, **TINY)
    split = load_split(cfg)
    model, g = build_model(cfg, split, "cpu"), torch.Generator().manual_seed(0)
    optimizer = make_optimizer(cfg, model)
    image = torch.rand(2, 1, 188, 188, generator=g)
    target = (image[:, 0, 92:96, 92:96] > 0.5).long()
    batch = (image, target, torch.ones(2, 4, 4))
    first = train_step(model, optimizer, batch).item()
    with torch.no_grad():
        from unet_course.loss import weighted_cross_entropy
        after = weighted_cross_entropy(model(image), target, batch[2]).item()
    assert after < first


def test_model_file_round_trip(tmp_path):
    model = StandardizedUNet(base_channels=4, input_mean=0.4, input_std=0.2).eval()
    path = save_model(model, tmp_path / "m.pt", {"steps": 3})
    loaded = load_model(path)
    assert isinstance(loaded, StandardizedUNet) and not loaded.training
    assert loaded.config == {"steps": 3}
    x = torch.rand(1, 1, 188, 188)
    assert torch.equal(model(x), loaded(x))
    # the agreed format: UNet kwargs + state dict, readable without this module
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "unet-course-model" and raw["version"] == 1
    assert UNet(**raw["model_args"]).base_channels == 4
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temporary file left
    plain = load_model(save_model(UNet(base_channels=4), tmp_path / "plain.pt"))
    assert type(plain) is UNet


def test_truncated_foreign_and_missing_model_files(tmp_path):
    path = save_model(UNet(base_channels=4), tmp_path / "m.pt")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated"):
        load_model(path)
    torch.save(UNet(base_channels=4).state_dict(), tmp_path / "sd.pt")
    with pytest.raises(ValueError, match="not a unet_course checkpoint"):
        load_model(tmp_path / "sd.pt")
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "none.pt")


@pytest.mark.parametrize("ema", [0.0, 0.9])
def test_resume_is_bitwise_identical_on_cpu(tmp_path, ema):
    whole = train(make_config("cpu", steps=6, ema=ema, **TINY), out=tmp_path / "a", progress=False)
    train(make_config("cpu", steps=3, ema=ema, **TINY), out=tmp_path / "b", progress=False)
    resumed = train(make_config("cpu", steps=6, ema=ema, **TINY), out=tmp_path / "b", resume=True,
                    progress=False)
    assert losses(resumed) == losses(whole)[3:]  # bitwise: == on floats
    for p, q in zip(whole.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(p, q)
    rows = (tmp_path / "b" / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("step,loss,lr,val_iou") and len(rows) == 7
    assert load_model(tmp_path / "b" / "model.pt").config["steps_done"] == 6
    assert load_model(tmp_path / "b" / "checkpoint.pt").config["seed"] == 0  # a training file loads too


def test_the_weight_average_is_what_is_validated_and_saved(tmp_path):
    run = train(make_config("cpu", steps=3, ema=0.5, **TINY), out=tmp_path, progress=False)
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    raw, average = saved["model"]["state_dict"], saved["ema"]
    assert int(average["n_averaged"]) == 3
    model_pt = load_model(tmp_path / "model.pt").state_dict()
    for k, v in model_pt.items():
        assert torch.equal(v, average["module." + k]) and torch.equal(v, run.model.state_dict()[k])
    assert any(not torch.equal(model_pt[k], raw[k]) for k in raw)  # not the last step's weights
    with pytest.raises(ValueError, match="ema must be a decay"):
        make_config("cpu", ema=1.0)


def test_the_weight_average_warms_up_then_keeps_its_decay():
    from unet_course.train.loop import _ema_with_warmup
    update, current = _ema_with_warmup(0.99), [torch.ones(3)]
    early, late = [torch.zeros(3)], [torch.zeros(3)]
    update(early, current, torch.tensor(1))        # decay (1 + 1) / (10 + 1) = 2/11
    update(late, current, torch.tensor(10 ** 6))   # decay 0.99
    assert torch.allclose(early[0], torch.full((3,), 9 / 11))
    assert torch.allclose(late[0], torch.full((3,), 0.01))


def test_mixed_precision_defaults_to_bfloat16_on_a_cpu_that_has_it(tmp_path, monkeypatch):
    from unet_course.device import cpu_has_native_bfloat16
    monkeypatch.delenv("UNET_COURSE_AMP", raising=False)
    assert make_config("cpu", device="cpu").amp is cpu_has_native_bfloat16()
    assert make_config("cpu", device="cpu", amp=False).amp is False
    assert make_config("cpu", device="cuda").amp is False   # on a GPU: an option, off by default
    on = train(make_config("cpu", steps=2, amp=True, **TINY), progress=False)
    off = train(make_config("cpu", steps=2, amp=False, **TINY), progress=False)
    assert losses(on)[0] != losses(off)[0] and all(np.isfinite(losses(on)))  # bfloat16 forward
    assert on.model.final.weight.dtype == torch.float32   # the weights stay float32
    import unet_course.train.__main__ as cli
    assert cli.parser().parse_args(["--no-amp"]).amp is False
    assert cli.parser().parse_args([]).amp is None   # None: make_config decides


def test_unet_course_amp_overrides_the_default_and_names_bad_values(monkeypatch):
    for value, amp in (("0", False), ("off", False), ("1", True), ("ON", True)):
        monkeypatch.setenv("UNET_COURSE_AMP", value)
        assert make_config("cpu", device="cpu").amp is amp
        assert make_config("cpu", device="cpu", amp=not amp).amp is (not amp)  # explicit wins
    monkeypatch.setenv("UNET_COURSE_AMP", "maybe")
    with pytest.raises(ValueError, match="UNET_COURSE_AMP.*'maybe'"):
        make_config("cpu", device="cpu")


def test_resume_refuses_another_configuration_or_a_truncated_checkpoint(tmp_path):
    train(make_config("cpu", steps=3, **TINY), out=tmp_path, progress=False)
    with pytest.raises(ValueError, match=r"another configuration \(lr: checkpoint 0.002, now 0.1"):
        train(make_config("cpu", steps=6, **{**TINY, "lr": 0.1}), out=tmp_path, resume=True,
              progress=False)
    ckpt = tmp_path / "checkpoint.pt"
    ckpt.write_bytes(ckpt.read_bytes()[:1000])
    with pytest.raises(ValueError, match="truncated"):
        train(make_config("cpu", steps=6, **TINY), out=tmp_path, resume=True, progress=False)
    with pytest.raises(ValueError, match="no checkpoint"):
        train(make_config("cpu", steps=6, **TINY), out=tmp_path / "new", resume=True, progress=False)


def test_nan_guard_names_the_step_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    from unet_course.train import loop
    real, calls = loop.weighted_cross_entropy, []

    def poisoned(*args, **kwargs):
        calls.append(1)
        loss = real(*args, **kwargs)
        return loss * float("nan") if len(calls) == 5 else loss

    monkeypatch.setattr(loop, "weighted_cross_entropy", poisoned)
    cfg = make_config("cpu", steps=8, **{**TINY, "checkpoint_every": 2})
    with pytest.raises(TrainingDiverged) as info:
        train(cfg, out=tmp_path, progress=False)
    msg = str(info.value)
    assert "step 5" in msg and "learning rate" in msg and "checkpoint" in msg
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert saved["step"] == 4
    assert all(torch.isfinite(v).all() for v in saved["model"]["state_dict"].values())


def test_callback_sees_steps_validations_and_the_end():
    events = []
    run = train(make_config("cpu", steps=3, **TINY), callback=events.append, progress=False)
    kinds = [e["event"] for e in events]
    assert kinds.count("step") == 3 and kinds.count("validation") == 1 and kinds[-1] == "end"
    val = next(e for e in events if e["event"] == "validation")
    assert val["probabilities"].shape == val["image"].shape == (96, 96)
    assert 0 <= run.metrics["val_iou"] <= 1 and 0 <= run.metrics["val_separated"] <= 1


def test_synthetic_split_is_seeded_and_held_out():
    cfg = make_config("cpu", **TINY)
    a, b = load_split(cfg), load_split(cfg)
    assert np.array_equal(a.train_images[0], b.train_images[0])
    assert len(a.train_images) == 2 and len(a.val_images) == 1
    assert not any(np.array_equal(a.val_images[0], im) for im in a.train_images)
    assert a.train_weights[0].max() > 1  # Eq. 2's border weights
    off = load_split(make_config("cpu", weight_map=False, **TINY))
    assert np.all(off.train_weights[0] == 1)


def test_isbi_split_is_slices_0_24_and_25_29():
    try:
        split = load_split(make_config("cpu", data="isbi2012", **TINY))
    except Exception as error:  # no copy of the data and no network
        pytest.skip(f"ISBI 2012 not available: {error}")
    assert len(split.train_images) == 25 and len(split.val_images) == 5
    assert split.train_targets[0].dtype == np.int64 and set(np.unique(split.train_targets[0])) == {0, 1}


def _write_folder(root: Path, n=3, size=96):
    from unet_course.data import synthetic_dataset, write_image
    data = synthetic_dataset(n, size, seed=5)
    for i in range(n):
        write_image(root / "images" / f"im{i}.png", (data.image[i] * 255).astype(np.uint8))
        if i == 0:  # a binary mask
            write_image(root / "labels" / f"im{i}.png", (data.instances[i] > 0).astype(np.uint8) * 255)
        else:  # instance ids
            write_image(root / "labels" / f"im{i}.tif", data.instances[i].astype(np.uint16))


def test_a_user_folder_trains_and_mismatches_are_named(tmp_path):
    _write_folder(tmp_path)
    cfg = make_config("cpu", data=str(tmp_path), steps=2, **TINY)
    split = load_split(cfg)
    assert len(split.train_images) == 2 and len(split.val_images) == 1
    assert split.val_instances[0].max() > 1  # the binary mask became components too, if chosen
    run = train(cfg, progress=False)
    assert run.steps == 2
    (tmp_path / "images" / "extra.png").write_bytes((tmp_path / "images" / "im0.png").read_bytes())
    with pytest.raises(ValueError, match="extra"):
        load_split(cfg)
    (tmp_path / "images" / "extra.png").unlink()
    from unet_course.data import write_image
    write_image(tmp_path / "labels" / "im1.tif", np.zeros((50, 50), np.uint16))
    with pytest.raises(ValueError, match=r"does not match its image im1.png"):
        load_split(cfg)
    with pytest.raises(ValueError, match="images/ and labels/"):
        load_split(make_config("cpu", data=str(tmp_path / "images"), **TINY))


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="252"):
        make_config("cpu", tile=250)
    with pytest.raises(ValueError, match="preset"):
        make_config("gpu")
    with pytest.raises(ValueError, match="unknown setting"):
        make_config("cpu", learning_rate=1)
    with pytest.raises(ValueError, match="optimizer"):
        make_config("cpu", optimizer="rmsprop")
    assert make_config("paper").base_channels == 64 and make_config("paper").momentum == 0.99


def test_batch_norm_is_the_cpu_presets_deviation_only():
    """The paper preset keeps Fig. 1's Conv-ReLU blocks; the cpu preset trains Conv-BN-ReLU
    (measured in bench_train.csv), says so in --help, and --no-batch-norm turns it off."""
    from unet_course.train.__main__ import parser, preset_summary
    assert make_config("cpu").batch_norm and not make_config("paper").batch_norm
    assert not make_config("cpu", batch_norm=False).batch_norm
    assert "batch norm" in preset_summary("cpu") and "batch norm" not in preset_summary("paper")
    assert parser().parse_args(["--no-batch-norm"]).batch_norm is False
    assert parser().parse_args([]).batch_norm is None            # None: the preset decides
    model = build_model(make_config("cpu", **TINY), load_split(make_config("cpu", **TINY)), "cpu")
    assert model.batch_norm and any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert not build_model(make_config("cpu", **{**TINY, "batch_norm": False}),
                           load_split(make_config("cpu", **TINY)), "cpu").batch_norm


def _cli(*args, env=None, timeout=300):
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "unet_course.train", *args], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=timeout)


@pytest.mark.slow
def test_command_end_to_end(tmp_path):
    done = _cli("--steps", "3", "--val-every", "2", "--out", str(tmp_path), *TINY_CLI)
    assert done.returncode == 0, done.stderr
    assert "foreground IoU" in done.stdout and "model.pt" in done.stdout
    model = load_model(tmp_path / "model.pt")
    assert model.base_channels == 4 and model.config["steps_done"] == 3
    assert {p.name for p in tmp_path.iterdir()} >= {"model.pt", "checkpoint.pt", "metrics.csv",
                                                    "config.json"}
    for bad in (["--tile", "250"], ["--data", str(tmp_path / "nowhere")], ["--bogus"],
                ["--out", str(tmp_path), "--resume", "--lr", "0.5"]):
        fail = _cli("--steps", "1", *bad)
        assert fail.returncode != 0
        lines = fail.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in fail.stderr
    assert "--preset" in _cli("--help").stdout


@pytest.mark.slow
@pytest.mark.parametrize("batch_norm", [False, True], ids=["no-batch-norm", "batch-norm"])
def test_two_gloo_ranks_follow_one_process_with_double_batch(tmp_path, batch_norm):
    """Equal up to float rounding (the gradient sums run in another order) with drop-out and
    batch norm OFF (with drop-out on, each rank draws its own masks: equal in distribution
    only). With batch norm, the cpu preset's default, each rank normalises by its own tile's
    statistics and one process by both tiles', so they differ (distributed.py's docstring;
    what holds with batch norm is tested in tests/test_distributed.py)."""
    common = ["--steps", "3", "--optimizer", "sgd", "--lr", "0.01", "--dropout", "0",
              "--batch-norm" if batch_norm else "--no-batch-norm",
              "--device", "cpu", "--no-amp", "--val-every", "100", *TINY_CLI]  # float32 sums
    one = _cli(*common, "--batch", "2", "--out", str(tmp_path / "one"))
    assert one.returncode == 0, one.stderr
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                          "--nproc_per_node=2", "-m", "unet_course.train", *common, "--batch", "1",
                          "--out", str(tmp_path / "two")], capture_output=True, text=True,
                         cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    assert two.returncode == 0, two.stderr[-2000:]
    a = load_model(tmp_path / "one" / "model.pt").state_dict()
    b = load_model(tmp_path / "two" / "model.pt").state_dict()
    assert b["input_mean"] == a["input_mean"]
    moved = [(a[k] - load_model(tmp_path / "one" / "checkpoint.pt").state_dict()[k]).abs().max()
             for k in a]
    if batch_norm:  # not one process with double batch: each rank saw its own tile's statistics
        assert any(not torch.allclose(b[k].float(), a[k].float(), rtol=1e-3, atol=1e-4)
                   for k in a if "running_" not in k), "batch norm: two ranks matched one process"
    else:
        for k in a:
            torch.testing.assert_close(b[k], a[k], rtol=1e-4, atol=1e-5)
    one_losses = (tmp_path / "one" / "metrics.csv").read_text().splitlines()[1:]
    two_losses = (tmp_path / "two" / "metrics.csv").read_text().splitlines()[1:]
    assert len(one_losses) == len(two_losses) == 3  # only rank 0 wrote its rows
    assert max(moved) == 0  # the model file is the final checkpoint's model


def test_course_model_is_trained_once_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("UNET_COURSE_CACHE", str(tmp_path))
    monkeypatch.setattr(course_module, "COURSE_SETTINGS",
                        {**course_module.COURSE_SETTINGS, **TINY, "steps": 2})
    first = course_module.course_model()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert any(f.endswith(".pt") for f in files) and any(f.endswith(".lock") for f in files)
    mtime = next(tmp_path.glob("*.pt")).stat().st_mtime_ns
    second = course_module.course_model()
    assert next(tmp_path.glob("*.pt")).stat().st_mtime_ns == mtime  # loaded, not retrained
    assert not second.training and second.config["steps_done"] == 2
    for p, q in zip(first.state_dict().values(), second.state_dict().values()):
        assert torch.equal(p, q)


def test_dataloader_workers_give_the_same_run():
    cfg = make_config("cpu", steps=2, **TINY)
    alone = train(cfg, progress=False)
    helped = train(make_config("cpu", steps=2, num_workers=1, **TINY), progress=False)
    assert losses(alone) == losses(helped)


def _rows(run_dir):
    with open(Path(run_dir) / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_the_last_step_is_validated_and_logged(tmp_path):
    """Issue 25: a run whose last step is not a multiple of val_every (58 steps, validation
    every 100) must still write its final validation into metrics.csv; so must a run that
    the clock stops."""
    by_steps = train(make_config("cpu", steps=4, **{**TINY, "val_every": 3}),
                     out=tmp_path / "steps", progress=False)
    rows = _rows(tmp_path / "steps")
    assert [r["step"] for r in rows if r["val_iou"]] == ["3", "4"]
    assert float(rows[-1]["val_iou"]) == pytest.approx(by_steps.metrics["val_iou"])
    by_time = train(make_config("cpu", minutes=0.005, **{**TINY, "val_every": 10 ** 6}),
                    out=tmp_path / "minutes", progress=False)
    rows = _rows(tmp_path / "minutes")
    assert len(rows) == by_time.steps
    assert [r["step"] for r in rows if r["val_iou"]] == [rows[-1]["step"]]


def test_config_json_records_the_settings_that_applied(tmp_path):
    """Issue 25: a folder run's config.json must not record the synthetic-data settings."""
    _write_folder(tmp_path / "data")
    folder = make_config("cpu", data=str(tmp_path / "data"), steps=1, **TINY)
    train(folder, out=tmp_path / "folder", progress=False)
    saved = json.loads((tmp_path / "folder" / "config.json").read_text())
    split = load_split(folder)
    assert not {"train_images", "val_images", "image_size"} & set(saved)
    assert saved["val_fraction"] == folder.val_fraction and saved["data"] == folder.data
    assert saved["data_description"] == split.description and "im" in saved["data_description"]
    assert saved["network"] == "StandardizedUNet" and saved["processes"] == 1
    files = getattr(split, "files", None)  # where the split names its files
    assert files is not None and saved["files"] == files
    from unet_course.checkpoint import load_model  # model.pt names them for evaluate --model
    trained = load_model(tmp_path / "folder" / "model.pt").config["train_names"]
    assert trained == [Path(n).stem for n in files["train"]] and trained
    train(make_config("cpu", steps=1, **TINY), out=tmp_path / "synthetic", progress=False)
    saved = json.loads((tmp_path / "synthetic" / "config.json").read_text())
    assert saved["train_images"] == 2 and saved["image_size"] == 96
    assert "val_fraction" not in saved and saved["data_description"].startswith("synthetic")


def test_help_says_what_each_preset_trains_with():
    """Issue 25: the help opened with 'as the paper did (... SGD momentum 0.99 ...)' while the
    cpu preset, the default without a GPU, trains with Adam."""
    import unet_course.train.__main__ as cli
    text = " ".join(cli.parser().format_help().split())
    assert "as the paper did" not in text
    cpu, paper = text.split("cpu, the course's choice")[1], text.split("Presets: paper")[1]
    assert cpu.split(";")[0].count("batch norm, 428 tiles x 1, Adam, lr 0.002, the last 20% of the run at lr / 10") == 1
    assert "572 tiles x 1, SGD momentum 0.99" in paper.split(";")[0]
    assert "unet_course.train.plot" in text


def test_plot_draws_metrics_csv(tmp_path):
    from unet_course.train import plot
    train(make_config("cpu", steps=4, **{**TINY, "lr_drop": 0.5, "val_every": 2}), out=tmp_path,
          progress=False)
    metrics = plot.read_metrics(tmp_path / "metrics.csv")
    fig = plot.draw(metrics)
    ax_loss, ax_val = fig.axes
    assert list(ax_loss.lines[0].get_ydata()) == metrics["loss"]
    assert [line.get_xdata()[0] for line in ax_loss.lines[1:]] == [3.0]  # the lr drop
    iou = next(line for line in ax_val.lines if line.get_label() == "foreground IoU (pixels pooled)")
    assert list(iou.get_xdata()) == [2.0, 4.0]
    assert plot.main([str(tmp_path)]) == 0
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file
    assert plot.main([str(tmp_path / "nowhere")]) == 2


def test_cosine_schedule_runs_from_lr_to_a_hundredth_and_the_plot_shows_it(tmp_path):
    from unet_course.train import plot
    from unet_course.train.loop import learning_rate
    cfg = make_config("cpu", minutes=2.0, schedule="cosine", lr=0.002)
    assert learning_rate(cfg, 0, 0.0) == pytest.approx(0.002)
    assert learning_rate(cfg, 0, 60.0) == pytest.approx(0.002 * (0.01 + 0.99 / 2))
    assert learning_rate(cfg, 0, 120.0) == pytest.approx(0.002 / 100)
    by_steps = make_config("cpu", steps=10, schedule="cosine", lr=1.0)
    rates = [learning_rate(by_steps, k, 0.0) for k in range(11)]
    assert all(a > b for a, b in zip(rates, rates[1:]))              # falls every step
    with pytest.raises(ValueError, match="schedule.*'linear'"):
        make_config("cpu", schedule="linear")
    train(make_config("cpu", steps=6, **{**TINY, "schedule": "cosine", "val_every": 3}),
          out=tmp_path, progress=False)
    fig = plot.draw(plot.read_metrics(tmp_path / "metrics.csv"))
    assert len(fig.axes) == 3 and fig.axes[2].get_ylabel() == "lr"  # loss, scores, lr twin


def test_a_run_logged_under_the_old_name_val_pixel_error_resumes_and_plots(tmp_path):
    """Runs logged before 2026-12-07 called the share of wrong pixels at 0.5 val_pixel_error
    (the ISBI challenge's name for another number): resume rewrites their metrics.csv under
    val_misclassification_rate, values kept, and the plot reads either."""
    from unet_course.train.plot import read_metrics
    train(make_config("cpu", steps=3, **TINY), out=tmp_path, progress=False)
    path = tmp_path / "metrics.csv"
    new = path.read_text()
    old = new.replace("val_misclassification_rate", "val_pixel_error")
    assert old != new
    path.write_text(old)
    assert read_metrics(path)["val_misclassification_rate"] == read_metrics(
        tmp_path / "metrics.csv")["val_misclassification_rate"]
    assert "val_pixel_error" not in read_metrics(path)
    train(make_config("cpu", steps=4, **TINY), out=tmp_path, resume=True, progress=False)
    lines = path.read_text().splitlines()
    assert lines[0] == "step,loss,lr,val_iou,val_separated,val_misclassification_rate,seconds"
    assert lines[1:4] == new.splitlines()[1:4] and len(lines) == 5
    path.write_text(new.replace("val_misclassification_rate", "val_something_else"))
    with pytest.raises(ValueError, match="val_something_else.*new --out folder"):
        train(make_config("cpu", steps=5, **TINY), out=tmp_path, resume=True, progress=False)
