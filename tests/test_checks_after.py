"""Exercise 10's checks accept the reference and name plausible wrong answers."""
import pytest
import torch

from unet_course import checks
from unet_course.after import dice_coefficient, nested_node


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise: write the body of stub")


@pytest.mark.parametrize("check, reference", [(checks.check_nested_node, nested_node),
                                              (checks.check_dice_coefficient, dice_coefficient)])
def test_reference_passes_and_stub_is_not_implemented(check, reference, capsys):
    assert check(reference).status == "passed"
    assert "✓" in capsys.readouterr().out
    result = check(stub)
    assert not result and result.status == "not implemented"
    assert "not implemented yet" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, words", [
    (lambda prev, below, up, conv: conv(torch.cat([up(below), *prev], 1)), "comes first"),
    (lambda prev, below, up, conv: conv(torch.cat([*prev[::-1], up(below)], 1)), "reverse order"),
    (lambda prev, below, up, conv: torch.cat([*prev, up(below)], 1), "conv block) is missing"),
    (lambda prev, below, up, conv: conv(torch.cat([prev[-1], up(below)], 1)), "ALL 2 earlier nodes"),
    (lambda prev, below, up, conv: conv(torch.cat([*prev, below], 1)), "up-sample"),
    (lambda prev, below, up, conv: conv(sum(prev) + up(below)), "do not add them"),
])
def test_nested_node_mistakes_are_named(wrong, words, capsys):
    result = checks.check_nested_node(wrong)
    out = capsys.readouterr().out
    assert not result and result.status == "failed" and words in out, out


def _soft(p, y, eps):
    return p.flatten(1), y.flatten(1)


@pytest.mark.parametrize("wrong, words", [
    (lambda p, y, eps=1e-6: ((p * y).flatten(1).sum(1) + eps) / (p.flatten(1).sum(1) + y.flatten(1).sum(1) + eps),
     "factor 2"),
    (lambda p, y, eps=1e-6: ((p * y).flatten(1).sum(1) + eps)
     / (p.flatten(1).sum(1) + y.flatten(1).sum(1) - (p * y).flatten(1).sum(1) + eps), "IoU"),
    (lambda p, y, eps=1e-6: (2 * (p * y).sum() + eps) / (p.sum() + y.sum() + eps), "each image"),
    (lambda p, y, eps=1e-6: dice_coefficient(p.reshape(1, -1), y.reshape(1, -1), eps).expand(len(p)),
     "whole batch"),
    (lambda p, y, eps=1e-6: dice_coefficient((p > 0.5).float(), y, eps), "thresholded"),
    (lambda p, y, eps=1e-6: (2 * (p * y).flatten(1).sum(1) + eps)
     / ((p * p).flatten(1).sum(1) + (y * y).flatten(1).sum(1) + eps), "V-Net"),
    (lambda p, y, eps=1e-6: 2 * (p * y).flatten(1).sum(1) / (p.flatten(1).sum(1) + y.flatten(1).sum(1)),
     "NaN"),
])
def test_dice_mistakes_are_named(wrong, words, capsys):
    result = checks.check_dice_coefficient(wrong)
    out = capsys.readouterr().out
    assert not result and result.status == "failed" and words in out, out
