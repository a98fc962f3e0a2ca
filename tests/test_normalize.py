"""Input normalisation (unet_course.normalize): percentiles per image, stored in the model."""
import numpy as np
import pytest
import torch

from unet_course.checkpoint import load_model, save_model
from unet_course.normalize import PERCENTILES, StandardizedUNet, percentile_normalize, prepare_image
from unet_course.tiling import predict_tiled


def test_percentile_normalize_matches_csbdeep_formula_and_is_idempotent():
    rng = np.random.default_rng(0)
    x = rng.gamma(2.0, 30.0, (64, 80)).astype(np.float32) + 400
    lo, hi = np.percentile(x.astype(np.float64), PERCENTILES)
    y = percentile_normalize(x)
    np.testing.assert_allclose(y, (x - lo) / (hi - lo), rtol=1e-5, atol=1e-6)
    assert y.dtype == np.float32 and y.min() < 0 and y.max() > 1  # not clipped
    np.testing.assert_allclose(percentile_normalize(y), y, atol=1e-5)  # twice == once
    assert not percentile_normalize(np.full((4, 4), 7, np.uint16)).any()  # constant image: 0


@pytest.mark.parametrize("bad", [np.array([["a"]]), np.zeros((0, 3)), np.array([[np.nan, 1.0]])])
def test_percentile_normalize_refuses_what_it_cannot_scale(bad):
    with pytest.raises(ValueError, match="dtype|NaN|non-empty"):
        percentile_normalize(bad)
    with pytest.raises(ValueError, match="percentiles"):
        percentile_normalize(np.ones((2, 2)), 50, 10)


def _as_stored(image01):
    """The same pixels as a microscope may write them: uint8, uint16 x 257, uint16 using only
    0-235, float32 raw intensities (offset and gain)."""
    v = np.round(image01 * 235).astype(np.uint8)
    return {"uint8": v, "uint16 x 257": v.astype(np.uint16) * 257,
            "uint16 0-235": v.astype(np.uint16), "float32 raw": v.astype(np.float32) * 37.5 + 812.0}


def test_prediction_does_not_depend_on_dtype_or_range():
    """Issue 25: one trained model, the same image stored four ways -> the same probabilities."""
    from unet_course.data import synthetic_dataset
    from unet_course.train import make_config, train
    run = train(make_config("cpu", steps=2, base_channels=4, tile=188, batch=1, val_images=1,
                            train_images=2, image_size=96, val_every=10 ** 6), progress=False)
    assert run.model.percentiles == PERCENTILES
    image = synthetic_dataset(1, 96, seed=5).image[0]
    probs = {k: predict_tiled(run.model, v, progress=False)[1] for k, v in _as_stored(image).items()}
    ref = probs["uint8"]
    assert ref.std() > 0
    for kind, p in probs.items():
        assert np.abs(p - ref).max() <= 1e-3, kind


def test_percentiles_are_saved_with_the_model_and_old_files_keep_0_1(tmp_path):
    model = StandardizedUNet(base_channels=2, input_mean=0.3, input_std=0.2, percentiles=(2, 98))
    save_model(model, tmp_path / "m.pt")
    back = load_model(tmp_path / "m.pt")
    assert back.percentiles == (2.0, 98.0)
    image = np.arange(100, dtype=np.uint16).reshape(10, 10) * 3
    np.testing.assert_allclose(prepare_image(back, image), percentile_normalize(image, 2, 98))
    record = torch.load(tmp_path / "m.pt", weights_only=True)
    del record["input_norm"]["percentiles"]            # a file written before percentiles
    torch.save(record, tmp_path / "old.pt")
    old = load_model(tmp_path / "old.pt")
    assert old.percentiles is None
    np.testing.assert_allclose(prepare_image(old, np.array([[0, 255]], np.uint8)), [[0, 1]])
