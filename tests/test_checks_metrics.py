"""Checks of exercise 09 accept the reference answers and name the usual slips."""
import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.metrics import adapted_rand_error

from unet_course import metrics
from unet_course.checks import check_misclassification_rate, check_rand_f_score


def stub(*args):
    raise NotImplementedError("Exercise: write the body of stub")


def misclassification_rate(pred, label):
    return float(np.mean((pred > 0.5) != (label > 0)))


def rand_via_skimage(pred_mask, label_mask, self_pairs=True, singletons=True, restrict=True,
                     structure=None):
    """The F-score through scikit-image, with switches for the slips a learner makes."""
    true = ndi.label(label_mask, structure)[0]
    pred = ndi.label(pred_mask, structure)[0]
    if singletons:
        holes = pred == 0
        pred = np.where(holes, pred.max() + 1 + np.cumsum(holes).reshape(pred.shape), pred)
    if not restrict:
        true = np.where(true == 0, true.max() + 1, true)
    if self_pairs:  # add n to the three sums skimage forms (pairs of a pixel with itself)
        table = np.histogram2d(true.ravel(), pred.ravel(),
                               bins=[np.arange(true.max() + 2), np.arange(pred.max() + 2)])[0][1:]
        n = table.sum()
        ab, a, b = (table ** 2).sum(), (table.sum(1) ** 2).sum(), (table.sum(0) ** 2).sum()
        p, r = ab / b, ab / a
        return 2 * p * r / (p + r)
    return 1 - adapted_rand_error(true, pred)[0]


def test_references_pass_and_stubs_are_not_implemented(capsys):
    assert check_misclassification_rate(misclassification_rate) and check_misclassification_rate(metrics.misclassification_rate)
    assert "metrics.misclassification_rate" in capsys.readouterr().out
    assert check_rand_f_score(rand_via_skimage)
    assert "✓ rand_f_score: correct on all" in capsys.readouterr().out
    for check in (check_misclassification_rate, check_rand_f_score):
        result = check(stub)
        assert result.status == "not implemented"
        assert "not implemented yet" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, hint", [
    (lambda p, t: float(np.mean((p >= 0.5) != (t > 0))), "pred > 0.5"),
    (lambda p, t: float(np.mean((p > 0.5) != (t == 1))), "0 and 255"),
    (lambda p, t: int(np.count_nonzero((p > 0.5) != (t > 0))), "NUMBER of wrong pixels"),
    (lambda p, t: float(np.mean((p > 0.5) == (t > 0))), "accuracy"),
    (metrics.pixel_error, "challenge's pixel error (1 - the best F-score"),
])
def test_misclassification_slips_are_named(wrong, hint, capsys):
    assert not check_misclassification_rate(wrong)
    out = capsys.readouterr().out
    assert out.startswith("✗ misclassification_rate on '") and hint in out, out
    assert "misclassification_rate" in out


@pytest.mark.parametrize("slip, hint", [
    (dict(self_pairs=False), "each pixel with itself"),
    (dict(singletons=False), "singleton"),
    (dict(restrict=False), "foreground-restricted"),
    (dict(structure=np.ones((3, 3))), "4-connected"),
])
def test_rand_f_score_slips_are_named(slip, hint, capsys):
    assert not check_rand_f_score(lambda p, t: rand_via_skimage(p, t, **slip))
    out = capsys.readouterr().out
    assert out.startswith("✗ rand_f_score on '") and hint in out, out


def test_a_crash_is_reported_not_raised(capsys):
    assert not check_rand_f_score(lambda p, t: 1 / 0)
    assert "ZeroDivisionError" in capsys.readouterr().out
