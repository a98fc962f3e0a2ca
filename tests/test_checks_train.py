"""Exercise 07's checks accept the right answers and name plausible wrong ones."""
import pytest
import torch
import torch.nn.functional as F

from unet_course import checks
from unet_course.loss import weighted_cross_entropy


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise: write the body of stub")


def _nll(logits, target):
    return -F.log_softmax(logits, 1).gather(1, target[:, None])[:, 0]


def energy(logits, target, weight):
    return (weight * _nll(logits, target)).mean()


def sgd_step(p, g, v, lr, m):
    v = g.clone() if v is None else m * v + g
    return p - lr * v, v


def sgd_step_zero_buffer(p, g, v, lr, m):  # an empty buffer taken as zero: m*0 + g = g, also right
    v = torch.zeros_like(g) if v is None else v
    v = m * v + g
    return p - lr * v, v


def sgd_step_in_place(p, g, v, lr, m):  # in place, like torch itself
    if v is None:
        v = g.clone()
    else:
        v.mul_(m).add_(g)
    p.sub_(lr * v)
    return p, v


@pytest.mark.parametrize("check, answer", [
    (checks.check_weighted_cross_entropy, energy),
    (checks.check_weighted_cross_entropy, weighted_cross_entropy),
    (checks.check_weighted_cross_entropy,
     lambda x, t, w: (w * F.cross_entropy(x, t, reduction="none")).mean()),
    (checks.check_sgd_momentum_step, sgd_step),
    (checks.check_sgd_momentum_step, sgd_step_zero_buffer),
    (checks.check_sgd_momentum_step, sgd_step_in_place),
])
def test_right_answers_pass(check, answer, capsys):
    result = check(answer)
    out = capsys.readouterr().out
    assert result and result.status == "passed" and "✓" in out, out


@pytest.mark.parametrize("check", [checks.check_weighted_cross_entropy, checks.check_sgd_momentum_step])
def test_stub_is_not_implemented(check, capsys):
    result = check(stub)
    assert not result and result.status == "not implemented"
    assert "not implemented yet" in capsys.readouterr().out


def _pick(a, t):
    return a.gather(1, t[:, None])[:, 0]


@pytest.mark.parametrize("wrong, words", [
    (lambda x, t, w: (w * -_nll(x, t)).mean(), "minus sign"),
    (lambda x, t, w: (w * _nll(x, t)).sum(), "SUM over pixels"),
    (lambda x, t, w: (w * _nll(x, t)).sum() / len(t), "averaged over the batch only"),
    (lambda x, t, w: (w * _nll(x, t)).sum() / w.sum(), "divided by Σ w(x)"),
    (lambda x, t, w: _nll(x, t).mean(), "weights are not applied"),
    (lambda x, t, w: w.mean() * _nll(x, t).mean(), "after averaging"),
    (lambda x, t, w: -(w * _pick(x, t)).mean(), "logits themselves"),
    (lambda x, t, w: -(w * torch.log(_pick(x, t))).mean(), "NaN"),
    (lambda x, t, w: -(w * _pick(F.softmax(x, 1), t)).mean(), "not its log"),
    (lambda x, t, w: -(w * _pick(F.log_softmax(x, -1), t)).mean(), "wrong axis"),
    (lambda x, t, w: -(w * _pick(F.log_softmax(x, 0), t)).mean(), "batch axis"),
    (lambda x, t, w: -(w * _pick(F.log_softmax(x, 1), 1 - t)).mean(), "WRONG class"),
    (lambda x, t, w: w * _nll(x, t), "one value per pixel"),
    (lambda x, t, w: energy(x, t, w).detach().item(), "keep the computation in torch"),
    (lambda x, t, w: energy(x, t, w).detach(), "carries no gradient"),
])
def test_energy_mistakes_are_named(wrong, words, capsys):
    result = checks.check_weighted_cross_entropy(wrong)
    out = capsys.readouterr().out
    assert not result and result.status == "failed" and words in out, out


def _first(v, g, start):
    return start if v is None else v


@pytest.mark.parametrize("wrong, words", [
    # exponential moving average (dampening = m)
    (lambda p, g, v, lr, m: (lambda v: (p - lr * v, v))((1 - m) * g if v is None else m * v + (1 - m) * g),
     "exponential average"),
    # first buffer (1 - m) g, then torch's rule
    (lambda p, g, v, lr, m: (lambda v: (p - lr * v, v))((1 - m) * g if v is None else m * v + g),
     "filled with (1 - m)·g"),
    (lambda p, g, v, lr, m: (lambda v: (p - lr * v, v))(m * g if v is None else m * v + g),
     "filled with m·g"),
    (lambda p, g, v, lr, m: (lambda v: (p - lr * v, v))(0 * g if v is None else m * v + g),
     "buffer stayed zero"),
    (lambda p, g, v, lr, m: (p, g) if v is None else (p - lr * (m * v + g), m * v + g),
     "only filled the buffer"),
    (lambda p, g, v, lr, m: (p - lr * (0 * g if v is None else v), m * (0 * g if v is None else v) + g),
     "OLD buffer"),
    (lambda p, g, v, lr, m: (lambda v: (p - v, v))(lr * g if v is None else m * v + lr * g),
     "lr is applied inside the buffer"),
    (lambda p, g, v, lr, m: (lambda v: (p - lr * (g + m * v), v))(g if v is None else m * v + g),
     "Nesterov"),
    (lambda p, g, v, lr, m: (lambda v: (p - lr * g, v))(g if v is None else m * v + g),
     "moved by lr·g"),
    (lambda p, g, v, lr, m: (lambda v: (p + lr * v, v))(g if v is None else m * v + g),
     "UP the gradient"),
    (lambda p, g, v, lr, m: (lambda v: (p - lr * v, v))(m * v + g), "buffer is None"),
    (lambda p, g, v, lr, m: sgd_step(p, g, v, lr, m)[0], "expected a pair"),
    (lambda p, g, v, lr, m: (p - lr * g, g if v is None else 0.5 * (v + g)), "differs"),
])
def test_sgd_mistakes_are_named(wrong, words, capsys):
    result = checks.check_sgd_momentum_step(wrong)
    out = capsys.readouterr().out
    assert not result and result.status == "failed" and words in out, out


def test_lr_inside_the_buffer_is_caught_only_through_buffer_and_lr_changes(capsys):
    """With a constant lr the parameters of 'lr inside' equal torch's: the check must rely on
    the returned buffer (step 1) — the message says so."""
    def lr_inside(p, g, v, lr, m):
        v = lr * g if v is None else m * v + lr * g
        return p - v, v
    result = checks.check_sgd_momentum_step(lr_inside)
    out = capsys.readouterr().out
    assert not result and "at step 1" in out and "factor lr" in out, out
