"""Checks for exercise 07: the paper's energy (Sec. 3, Eq. 1) and one SGD-with-momentum step.

References are the libraries that already do the job: ``torch.nn.functional.cross_entropy``
(unit weights) and ``unet_course.loss.weighted_cross_entropy`` (with a weight map) for the
energy; ``torch.optim.SGD(momentum=m)`` (dampening 0, no Nesterov) for the step, run over
several steps with a learning rate that changes on the way. When an answer differs, the check
recomputes the usual wrong versions and names the one that matches.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..loss import weighted_cross_entropy as reference_energy
from .core import NOT_IMPLEMENTED, CheckResult, describe_difference, report, short

__all__ = ["check_weighted_cross_entropy", "check_sgd_momentum_step"]

_TODO = "Replace the line `raise NotImplementedError(...)` with your code, run that cell, then run this check again."


def _not_implemented(name: str) -> CheckResult:
    return report(False, "not implemented", f"{name}: {NOT_IMPLEMENTED}. {_TODO}")


# ---------------------------------------------------------------- the energy (Eq. 1)

def _energy_cases():
    """(logits, target, weight, label): unit weights first (torch's cross_entropy is the
    reference there), then weight maps; 2 and 3 classes, batches of 1 and 2, non-square."""
    g = torch.Generator().manual_seed(7)
    cases = []
    for n, c, h, w in [(2, 2, 5, 3), (1, 2, 4, 4), (1, 3, 6, 6)]:
        logits = 3 * torch.randn(n, c, h, w, generator=g, dtype=torch.float64)
        target = torch.randint(0, c, (n, h, w), generator=g)
        cases.append((logits, target, torch.ones(n, h, w, dtype=torch.float64), "unit weights"))
    for n, c, h, w in [(1, 2, 6, 6), (2, 2, 4, 7), (2, 3, 5, 5)]:
        logits = 3 * torch.randn(n, c, h, w, generator=g, dtype=torch.float64)
        target = torch.randint(0, c, (n, h, w), generator=g)
        weight = 1 + 9 * torch.rand(n, h, w, generator=g, dtype=torch.float64) ** 3  # a few heavy pixels
        cases.append((logits, target, weight, "a weight map"))
    # A confident network: logits in the hundreds, so some soft-max probabilities are below the
    # smallest float64 (about 1e-308) and torch.log(torch.softmax(...)) gives -inf there.
    logits = 400 * torch.randn(2, 2, 6, 6, generator=g, dtype=torch.float64)
    target = torch.randint(0, 2, (2, 6, 6), generator=g)
    weight = 1 + 9 * torch.rand(2, 6, 6, generator=g, dtype=torch.float64) ** 3
    cases.append((logits, target, weight, LARGE))
    return cases


LARGE = "large logits"


def _unstable(logits, call, expected, actual) -> str:
    """The message for an answer that is right for moderate logits but not for large ones."""
    got = "inf or nan" if not torch.isfinite(actual).all() else f"{float(actual):.6g}"
    return (f"{call}: expected {float(expected):.6g}, got {got}. Your function is right for moderate "
            f"logits but not for large ones (a confident network; here up to "
            f"±{float(logits.abs().max()):.0f}): there the soft-max probability of a class rounds "
            f"to exactly 0, and torch.log(0) = -inf (adding a small epsilon inside the log gives "
            f"a wrong finite value instead). torch.log(torch.softmax(...)) is unstable: use "
            f"F.log_softmax(logits, dim=1), which computes log p directly (each logit minus the "
            f"log-sum-exp of all logits) and stays finite")


def _energy_reference(logits, target, weight, label):
    if label == "unit weights":
        return F.cross_entropy(logits, target)  # torch's own: mean of -log p_l(x)(x)
    return reference_energy(logits, target, weight)


def _energy_mistake(logits, target, weight, actual) -> str | None:
    """Which known wrong version gives `actual` (None if none does)."""
    logp = F.log_softmax(logits, dim=1)
    pick = lambda a: a.gather(1, target[:, None])[:, 0]  # noqa: E731  value of the true class
    nll = -pick(logp)
    n_pix = nll.numel()
    wrong = {
        "the sign is flipped: the paper's Eq. 1 drops the minus sign; the energy to minimise "
        "is E = -Σ w(x) log p_l(x)(x) (it must be >= 0)": (weight * nll).mean().neg(),
        "this is the SUM over pixels; divide by the number of pixels (N·H·W) as "
        "unet_course.loss does (the mean, so the lr does not depend on the tile size)": (weight * nll).sum(),
        "this is summed over pixels and averaged over the batch only; divide by ALL pixels "
        "(N·H·W)": (weight * nll).sum() / len(nll),
        "divided by Σ w(x); the course divides the weighted sum by the number of pixels "
        "(so tiles full of borders are not toned down)": (weight * nll).sum() / weight.sum(),
        "the weights are not applied: multiply each pixel's -log p by w(x) before averaging":
            nll.mean(),
        "the weights multiply after averaging (mean(w)·mean(-log p)); weight EACH pixel: "
        "mean(w · (-log p))": weight.mean() * nll.mean(),
        "this uses the logits themselves; take log_softmax over the class axis (dim=1) first":
            -(weight * pick(logits)).mean(),
        "this uses the soft-max probability p, not its log: take log_softmax (dim=1)":
            -(weight * pick(F.softmax(logits, 1))).mean(),
        "the soft-max runs over the wrong axis: classes are dim=1 of (N, classes, H, W)":
            -(weight * pick(F.log_softmax(logits, dim=-1))).mean(),
        "the soft-max runs over the batch axis (dim=0): classes are dim=1":
            -(weight * pick(F.log_softmax(logits, dim=0))).mean(),
        "this picks the log-probability of the WRONG class (1 - target?): use the true label "
        "l(x) = target, e.g. gather(1, target[:, None])": -(weight * pick(logp.flip(1))).mean(),
    }
    for why, value in wrong.items():
        if describe_difference(value.detach(), actual, rtol=1e-5, atol=1e-8) is None:
            return why
    return None


def check_weighted_cross_entropy(student_fn) -> CheckResult:
    """weighted_cross_entropy(logits, target, weight) -> scalar tensor: mean of w·(-log p_l)."""
    name = "weighted_cross_entropy"
    cases = _energy_cases()
    for logits, target, weight, label in cases:
        call = f"{name}({short(logits)}, {short(target)}, {label})"
        expected = _energy_reference(logits, target, weight, label)
        x = logits.clone().requires_grad_(True)
        try:
            actual = student_fn(x, target.clone(), weight.clone())
        except NotImplementedError:
            return _not_implemented(name)
        except Exception as error:
            return report(False, "failed", f"{call} raised {type(error).__name__}: "
                                           f"{str(error).splitlines()[0][:160]}")
        if not isinstance(actual, torch.Tensor):
            return report(False, "failed", (
                f"{call}: expected a torch tensor (a scalar the optimiser can backpropagate), "
                f"got {short(actual)}; keep the computation in torch (no .item(), no numpy)"))
        if actual.numel() != 1:
            hint = " (one value per pixel: average them)" if actual.shape == target.shape else ""
            return report(False, "failed", f"{call}: expected a single number, got a tensor of "
                                           f"shape {tuple(actual.shape)}{hint}")
        why = describe_difference(expected.reshape(actual.shape), actual.detach(), rtol=1e-5, atol=1e-8)
        if why and label == LARGE:
            mistake = _energy_mistake(logits, target, weight, actual.detach().reshape(()))
            return report(False, "failed", f"{call}: {mistake}" if mistake else
                          _unstable(logits, call, expected, actual.detach()))
        if torch.isnan(actual).any():
            return report(False, "failed", (
                f"{call}: got NaN: the log of a negative number? Take log_softmax of the logits "
                f"(over dim=1), not torch.log of the logits"))
        if why:
            mistake = _energy_mistake(logits, target, weight, actual.detach().reshape(()))
            return report(False, "failed", f"{call}: {mistake or why}")
        if not actual.requires_grad:
            return report(False, "failed", f"{call}: the value is right but carries no gradient; "
                                           f"keep it a torch computation on `logits`")
        actual.sum().backward()
        ref = logits.clone().requires_grad_(True)  # float64 gradient: torch's per-pixel loss
        (weight * F.cross_entropy(ref, target, reduction="none")).mean().backward()
        why = describe_difference(ref.grad, x.grad, rtol=1e-4, atol=1e-6)
        if why:
            return report(False, "failed", f"{call}: the value is right but its gradient is not "
                                           f"({why}); was something detached?")
    return report(True, "passed", (
        f"{name}: correct on all {len(cases)} inputs (value and gradient; unit weights against "
        f"torch's cross_entropy, weight maps against unet_course.loss; large logits too)."))


# ---------------------------------------------------------------- one SGD-with-momentum step

_STEP_LRS = (0.1, 0.1, 0.1, 0.03, 0.03, 0.01)  # the lr drops on the way, as in a schedule


def _step_cases():
    """(param, [grads per step], momentum): several shapes and momenta."""
    g = torch.Generator().manual_seed(3)
    cases = []
    for shape, m in [((3,), 0.9), ((2, 3, 3, 3), 0.99), ((4, 5), 0.5)]:
        param = torch.randn(shape, generator=g, dtype=torch.float64)
        grads = [torch.randn(shape, generator=g, dtype=torch.float64) for _ in _STEP_LRS]
        cases.append((param, grads, m))
    return cases


def _torch_trajectory(param, grads, momentum):
    """[(param, buffer)] after each step of torch.optim.SGD (dampening 0, no Nesterov)."""
    p = param.clone().requires_grad_(True)
    opt = torch.optim.SGD([p], lr=_STEP_LRS[0], momentum=momentum)
    out = []
    for grad, lr in zip(grads, _STEP_LRS):
        opt.param_groups[0]["lr"] = lr
        p.grad = grad.clone()
        opt.step()
        out.append((p.detach().clone(), opt.state[p]["momentum_buffer"].clone()))
    return out


def _wrong_steps():
    """Known wrong versions of one step: (param, grad, buffer, lr, m) -> (param, buffer)."""
    def make(update, start=lambda g, m, lr: g):
        """A step from `update`, whose first buffer (when the buffer is empty) is start(g, m, lr)."""
        def step(p, g, v, lr, m):
            return update(p, g, v, lr, m, start(g, m, lr) if v is None else None)
        return step

    def torch_like(p, g, v, lr, m, v0):
        v = v0 if v is None else m * v + g
        return p - lr * v, v

    def ema(p, g, v, lr, m, v0):
        v = v0 if v is None else m * v + (1 - m) * g
        return p - lr * v, v

    def lr_inside(p, g, v, lr, m, v0):
        v = v0 if v is None else m * v + lr * g
        return p - v, v

    def stale(p, g, v, lr, m, v0):  # step with the old buffer, then update it
        old = torch.zeros_like(g) if v is None else v
        return p - lr * old, m * old + g

    def step_then_add(p, g, v, lr, m, v0):  # step 1 right (v = g); later steps use the old buffer
        return (p - lr * g, g.clone()) if v is None else (p - lr * v, m * v + g)

    def update_after(p, g, v, lr, m, v0):  # v = g on step 1, the step, then v = m·v + g
        v = v0 if v is None else v
        return p - lr * v, m * v + g

    def skip_first(p, g, v, lr, m, v0):
        return (p, g) if v is None else (p - lr * (m * v + g), m * v + g)

    def nesterov(p, g, v, lr, m, v0):
        v = v0 if v is None else m * v + g
        return p - lr * (g + m * v), v

    def no_momentum(p, g, v, lr, m, v0):
        v = v0 if v is None else m * v + g
        return p - lr * g, v

    def ascent(p, g, v, lr, m, v0):
        v = v0 if v is None else m * v + g
        return p + lr * v, v

    return {
        "the buffer is an exponential average, v = m·v + (1 - m)·g (dampening = m); torch's "
        "momentum adds the whole gradient, v = m·v + g, and starts with v = g on step 1 "
        "(that is why its steady step is lr/(1 - m))": make(ema, start=lambda g, m, lr: (1 - m) * g),
        "on step 1 the empty buffer was filled with (1 - m)·g; torch starts it with the gradient "
        "itself, v = g": make(torch_like, start=lambda g, m, lr: (1 - m) * g),
        "on step 1 the empty buffer was filled with m·g; torch starts it with the gradient "
        "itself, v = g (an empty buffer counts as zero: m·0 + g = g)": make(torch_like, start=lambda g, m, lr: m * g),
        "on step 1 the buffer stayed zero, so the parameter did not move; torch starts the "
        "buffer with the gradient, v = g, and steps at once": make(torch_like, start=lambda g, m, lr: 0 * g),
        "on step 1 you only filled the buffer and did not move the parameter; torch sets v = g "
        "AND takes the step p - lr·v": make(skip_first),
        "the step uses the OLD buffer and updates it afterwards; first v = m·v + g, then "
        "p = p - lr·v (with the new v)": make(stale),
        "the step used the buffer of the PREVIOUS step and added this step's gradient afterwards, "
        "so from step 2 on your parameter lags one gradient behind; torch's order: first the "
        "buffer, v = m·v + g, then the step with that NEW buffer, p = p - lr·v": make(step_then_add),
        "the buffer was updated AFTER the step (on step 1 too: you returned m·g + g); torch's "
        "order: first v = m·v + g (v = g on step 1), then p = p - lr·v, and it returns that same v":
            make(update_after),
        "the lr is applied inside the buffer (v = m·v + lr·g, p = p - v): the same steps while lr "
        "is constant, but torch keeps lr outside (v = m·v + g, p = p - lr·v), so the buffer you "
        "return differs from torch's by the factor lr and, after an lr change, so do the steps":
            make(lr_inside, start=lambda g, m, lr: lr * g),
        "this is the Nesterov step (p - lr·(g + m·v)); torch's default (nesterov=False) is "
        "p - lr·v": make(nesterov),
        "the parameter moved by lr·g: use the buffer, p = p - lr·v": make(no_momentum),
        "the parameter moved UP the gradient: subtract, p = p - lr·v": make(ascent),
    }


def _trajectory(step_fn, param, grads, momentum):
    """[(param, buffer)] of a step function (its own buffer fed back each step)."""
    p, v, out = param.clone(), None, []
    for grad, lr in zip(grads, _STEP_LRS):
        p, v = step_fn(p.clone(), grad.clone(), None if v is None else v.clone(), lr, momentum)
        out.append((p.clone(), v.clone()))
    return out


def _same(a, b) -> bool:
    return all(describe_difference(x[0], y[0], 1e-7, 1e-10) is None and
               describe_difference(x[1], y[1], 1e-7, 1e-10) is None for x, y in zip(a, b))


def check_sgd_momentum_step(student_fn) -> CheckResult:
    """sgd_momentum_step(param, grad, buffer, lr, momentum) -> (new_param, new_buffer);
    buffer None on the first step. Compared with torch.optim.SGD over several steps."""
    name = "sgd_momentum_step"
    cases = _step_cases()
    wrong = _wrong_steps()
    steps = 0
    for param, grads, m in cases:
        expected = _torch_trajectory(param, grads, m)
        p, v, got, failure = param.clone(), None, [], None
        for k, (grad, lr) in enumerate(zip(grads, _STEP_LRS), 1):
            buffer = "None (step 1: empty)" if v is None else short(v)
            call = f"{name}({short(p)}, grad, buffer={buffer}, lr={lr}, momentum={m}) at step {k}"
            try:
                out = student_fn(p.clone(), grad.clone(), None if v is None else v.clone(), lr, m)
            except NotImplementedError:
                return _not_implemented(name)
            except Exception as error:
                if failure:  # already wrong: the steps so far name the mistake
                    break
                hint = (" On the first step the buffer is None (empty): start it as the gradient, "
                        "v = g (torch's rule with dampening 0)."
                        if v is None and isinstance(error, TypeError) and "NoneType" in str(error) else "")
                return report(False, "failed", f"{call} raised {type(error).__name__}: {error}.{hint}")
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                return report(False, "failed", f"{call}: expected a pair (new_param, new_buffer), "
                                               f"got {short(out)}")
            for what, value in zip(("new_param", "new_buffer"), out):
                if not isinstance(value, torch.Tensor) or value.shape != p.shape:
                    return report(False, "failed", f"{call}: {what} should be a tensor of the "
                                                   f"parameter's shape {tuple(p.shape)}, got {short(value)}")
            got.append((out[0].detach().clone(), out[1].detach().clone()))
            p, v = got[-1]
            why_p = describe_difference(expected[k - 1][0], p, 1e-7, 1e-10)
            why_v = describe_difference(expected[k - 1][1], v, 1e-7, 1e-10)
            if (why_p or why_v) and not failure:
                what = (f"the parameter differs from torch.optim.SGD's ({why_p})" if why_p else
                        f"the parameter is right but the buffer differs from torch's "
                        f"optimizer.state[p]['momentum_buffer'] ({why_v})")
                failure = (k, call, what)
            steps += not failure
        if failure:  # whose whole trajectory is the student's? (first steps alone can tie)
            k, call, what = failure
            for mistake, fn in wrong.items():
                if _same(_trajectory(fn, param, grads, m)[:len(got)], got):
                    return report(False, "failed", f"{call}: {mistake}")
            return report(False, "failed", f"{call}: {what}")
    return report(True, "passed", (
        f"{name}: correct on all {len(cases)} parameters over {len(_STEP_LRS)} steps each "
        f"({steps} steps, first step and lr changes included), matching torch.optim.SGD."))
