"""Validation (unet_course.train.validate) predicts through tiling, and course_model() says
what it does (unet_course.train.course) — on tiny networks and configurations."""
import re

import numpy as np
import pytest
import torch

from unet_course.data import synthetic_cells
from unet_course.model import he_init_
from unet_course.normalize import PERCENTILES, StandardizedUNet, percentile_normalize
from unet_course.tiling import context_margin, plan_tiles, predict_tiled
from unet_course.train import course as course_module
from unet_course.train import evaluate, predict_image


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def trained_like(padding="valid", depth=4, seed=0):
    """A network as the trainer builds it (percentile rule, standardised input), tiny."""
    model = StandardizedUNet(base_channels=4, depth=depth, padding=padding, input_mean=0.3,
                             input_std=0.4, percentiles=PERCENTILES)
    return he_init_(model, seed).eval()


def cells(sizes, seed=0):
    """Validation images as the trainer holds them (percentile-normalised), with targets and
    instances."""
    data = [synthetic_cells(n, seed=seed + i) for i, n in enumerate(sizes)]
    return ([percentile_normalize(d.image) for d in data], [d.mask for d in data],
            [d.instances for d in data])


@pytest.mark.parametrize("padding, depth", [("valid", 4), ("valid", 3), ("same", 2)])
def test_validation_probabilities_are_predict_tiled(padding, depth):
    """ONE prediction path: what validation scores is what predict_tiled (and the predict
    command) gives, for valid and padded networks, also when predict_tiled cuts tiles."""
    model = trained_like(padding, depth)
    images, targets, instances = cells([64, 90])
    images[1] = images[1][:, :71]  # not square
    got = evaluate(model, images, targets[:1] + [targets[1][:, :71]],
                   instances[:1] + [instances[1][:, :71]])
    for image, p in zip(images, got["probabilities"]):
        assert p.shape == image.shape
        np.testing.assert_array_equal(p, predict_tiled(model, image)[1])
        small = 2 * context_margin(model) + 2 ** (depth + 1) + (4 if padding == "valid" else 0)
        assert len(plan_tiles(model, image.shape, small).starts) >= 4  # really tiled
        np.testing.assert_allclose(p, predict_tiled(model, image, tile_size=small)[1], atol=1e-5)
        np.testing.assert_array_equal(predict_image(model, image), p)


def test_raw_images_are_normalised_by_the_models_rule():
    """predict_image takes an image as stored (uint8 here), as predict_tiled does."""
    model = trained_like()
    image = (synthetic_cells(60, seed=5).image * 200 + 20).astype(np.uint8)
    np.testing.assert_allclose(predict_image(model, image),
                               predict_image(model, percentile_normalize(image)), atol=1e-5)


def test_the_scores_are_computed_from_those_probabilities():
    model = trained_like(seed=1)
    images, targets, instances = cells([48, 56], seed=3)
    model.train()
    got = evaluate(model, images, targets, instances)
    assert model.training and all(m.training for m in model.modules())  # mode restored
    pred = np.concatenate([p.ravel() > 0.5 for p in got["probabilities"]])
    truth = np.concatenate([t.ravel() > 0 for t in targets])
    assert got["val_misclassification_rate"] == pytest.approx(np.mean(pred != truth))
    assert got["val_iou"] == pytest.approx((pred & truth).sum() / (pred | truth).sum())
    assert 0 <= got["val_separated"] <= 1


# --------------------------------------------------------------------------- course_model()

TINY = dict(base_channels=4, tile=188, batch=2, train_images=2, val_images=1, image_size=96,
            val_every=6, steps=6)


def test_course_model_says_what_it_trains_how_long_and_where(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("UNET_COURSE_CACHE", str(tmp_path))
    monkeypatch.setattr(course_module, "COURSE_SETTINGS", {**course_module.COURSE_SETTINGS, **TINY})
    model = course_module.course_model()
    captured = capsys.readouterr()
    path = next(tmp_path.glob("course_model_*.pt"))
    lines = captured.out.strip().splitlines()
    assert lines[0].startswith("Training the course model once: a depth-4 U-Net (base 4, batch norm), "
                               "6 steps of 2 tiles of 188 px on 2 synthetic images, Adam lr 0.002")
    assert str(path) in lines[0]  # where it will be cached, before training
    estimate = re.search(r"about ([\d.]+) (s|min) on this CPU \(([\d.]+) s per step measured "
                         r"over 3 steps, x 6 steps\)", captured.out)
    seconds = float(estimate.group(1)) * (60 if estimate.group(2) == "min" else 1)
    assert seconds == pytest.approx(6 * float(estimate.group(3)), abs=0.5)
    assert re.search(r"training: 100%.*6/6", captured.err)  # the progress bar
    assert lines[-1].startswith("Trained in ") and str(path) in lines[-1]
    assert not model.training
    again = course_module.course_model(progress=False)
    assert capsys.readouterr().out.strip() == f"Course model loaded from {path}"
    for p, q in zip(model.state_dict().values(), again.state_dict().values()):
        assert torch.equal(p, q)
