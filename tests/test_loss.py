"""unet_course.loss: the paper's weighted cross-entropy (Eq. 1) on hand-computed cases, against
torch's cross-entropy, and its errors."""
import math

import pytest
import torch
import torch.nn.functional as F

from unet_course.loss import weighted_cross_entropy


def test_one_pixel_two_equal_scores_is_log_two():
    logits = torch.zeros(1, 2, 1, 1)
    target = torch.zeros(1, 1, 1, dtype=torch.long)
    assert weighted_cross_entropy(logits, target).item() == pytest.approx(math.log(2))
    weight = torch.full((1, 1, 1), 3.0)
    assert weighted_cross_entropy(logits, target, weight).item() == pytest.approx(3 * math.log(2))


def test_hand_computed_weighted_mean_over_pixels():
    # pixel 1: scores (0, ln 3) -> p = (1/4, 3/4), true class 1: -log(3/4), weight 2
    # pixel 2: scores (0, 0)    -> p = (1/2, 1/2), true class 0: -log(1/2), weight 1
    logits = torch.tensor([[[[0.0, 0.0]], [[math.log(3), 0.0]]]])  # (1, 2, 1, 2)
    target = torch.tensor([[[1, 0]]])
    weight = torch.tensor([[[2.0, 1.0]]])
    expected = (2 * -math.log(3 / 4) + 1 * -math.log(1 / 2)) / 2  # sum(w * nll) / pixels
    assert weighted_cross_entropy(logits, target, weight).item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("shape", [(1, 2, 4, 4), (3, 2, 7, 5), (2, 5, 3, 3)])
def test_unit_weights_equal_torch_cross_entropy(shape):
    g = torch.Generator().manual_seed(sum(shape))
    logits = torch.randn(shape, generator=g) * 3
    target = torch.randint(0, shape[1], (shape[0], *shape[2:]), generator=g)
    ours = weighted_cross_entropy(logits, target)
    ones = weighted_cross_entropy(logits, target, torch.ones(target.shape))
    ref = F.cross_entropy(logits, target)
    torch.testing.assert_close(ours, ref)
    torch.testing.assert_close(ones, ref)


def test_weights_scale_each_pixel_and_zero_weight_has_no_gradient():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 2, 3, 3, generator=g, requires_grad=True)
    target = torch.randint(0, 2, (2, 3, 3), generator=g)
    weight = torch.rand(2, 3, 3, generator=g) * 5
    weight[0, 1, 1] = 0
    loss = weighted_cross_entropy(logits, target, weight)
    ref = (weight * F.cross_entropy(logits, target, reduction="none")).mean()
    torch.testing.assert_close(loss, ref)
    loss.backward()
    assert torch.all(logits.grad[0, :, 1, 1] == 0)
    assert logits.grad.abs().sum() > 0


def test_valid_network_size_mismatch_names_both_shapes_and_the_fix():
    logits = torch.zeros(1, 2, 388, 388)
    target = torch.zeros(1, 572, 572, dtype=torch.long)
    with pytest.raises(ValueError) as info:
        weighted_cross_entropy(logits, target)
    msg = str(info.value)
    assert "388x388" in msg and "572x572" in msg and "92 px per side" in msg
    assert "TileDataset" in msg


@pytest.mark.parametrize("logits, target, weight, words", [
    (torch.zeros(2, 2, 4, 4), torch.zeros(2, 1, 4, 4, dtype=torch.long), None, "channel axis"),
    (torch.zeros(2, 4, 4), torch.zeros(2, 4, 4, dtype=torch.long), None, "(N, classes, H, W)"),
    (torch.zeros(2, 2, 4, 4), torch.zeros(3, 4, 4, dtype=torch.long), None, "batch sizes differ"),
    (torch.zeros(1, 2, 4, 4), torch.zeros(1, 4, 4), None, "integer class indices"),
    (torch.zeros(1, 2, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long), torch.ones(1, 5, 5),
     "target's shape"),
    (torch.zeros(1, 2, 4, 4), torch.full((1, 4, 4), 255, dtype=torch.long), None, "0/255 mask"),
    (torch.zeros(1, 2, 4, 4), torch.full((1, 4, 4), -1, dtype=torch.long), None, "class indices 0..1"),
])
def test_bad_inputs_are_named(logits, target, weight, words):
    with pytest.raises(ValueError, match=None) as info:
        weighted_cross_entropy(logits, target, weight)
    assert words in str(info.value)


@pytest.mark.parametrize("bad, words", [(float("nan"), "finite"), (float("inf"), "finite"),
                                        (-0.5, ">= 0")])
def test_non_finite_or_negative_weights_are_rejected(bad, words):
    weight = torch.ones(1, 3, 3)
    weight[0, 1, 2] = bad
    with pytest.raises(ValueError) as info:
        weighted_cross_entropy(torch.zeros(1, 2, 3, 3), torch.zeros(1, 3, 3, dtype=torch.long), weight)
    assert words in str(info.value)
