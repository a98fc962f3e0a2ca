"""Checks for exercises 02-04: center_crop, the conv block, the up step, fan-in and He's std.

The references are `unet_course.model`'s functions and blocks. For the student's
nn.Modules the check copies the student's weights into the library block (the layers are
matched by type and order), runs both on the same input and compares the outputs.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .. import model
from .core import CheckResult, report, short, check_function, describe_difference

__all__ = ["check_center_crop", "check_conv_block", "check_up_step", "check_fan_in", "check_he_std"]


def _ramp(*shape: int) -> torch.Tensor:
    """0, 1, 2, ... in the given shape: every pixel has its own value, so a shifted crop shows."""
    return torch.arange(math.prod(shape), dtype=torch.float32).reshape(shape)


# --------------------------------------------------------------------------- 02: center_crop

def check_center_crop(student_fn) -> CheckResult:
    """center_crop(x, size): the central window, size an int or (h, w); ValueError when the
    target is larger than the input or the difference is odd."""
    cases = [
        (_ramp(1, 1, 8, 8), 4), (_ramp(1, 1, 8, 8), 8), (_ramp(1, 1, 8, 8), 2),
        (_ramp(2, 3, 10, 12), (6, 8)), (_ramp(1, 2, 7, 7), 3), (_ramp(1, 1, 7, 9), (1, 3)),
        (_ramp(1, 1, 568, 568), 392), (_ramp(1, 4, 280, 280), 200), (_ramp(1, 1, 136, 136), 104),
        (_ramp(1, 1, 64, 64), 56), (_ramp(1, 1, 10, 20), (10, 4)),
        # any number of leading axes: only the last two are height and width
        (_ramp(8, 8), 4), (_ramp(3, 10, 12), (6, 8)), (_ramp(2, 2, 3, 9, 7), (5, 3)),
        # the reference raises a ValueError for these
        (_ramp(1, 1, 4, 4), 6), (_ramp(1, 1, 8, 8), 5), (_ramp(1, 1, 8, 9), (4, 4)),
        (_ramp(1, 1, 56, 56), 64), (_ramp(1, 1, 8, 8), (4, 10)),
    ]

    def compare(expected, actual):
        if not isinstance(actual, torch.Tensor):
            return f"expected a torch tensor, got {short(actual)}"
        why = describe_difference(expected, actual)
        if why and expected.shape == actual.shape:
            why += " (is the window centred? cut (H - h) // 2 pixels at the top and left)"
        elif why and expected.ndim != 4:
            why += " (slice the last two axes whatever the number of axes: x[..., top:top + h, left:left + w])"
        return why

    return check_function(student_fn, model.center_crop, cases, name="center_crop", compare=compare)


# --------------------------------------------------------------------------- 03: blocks

def _hw(size) -> tuple[int, int]:
    """A side length or a (height, width) pair as (height, width)."""
    return (size, size) if isinstance(size, int) else tuple(size)


def _noise(n: int, channels: int, size) -> torch.Tensor:
    """A fixed random (n, channels, H, W) input for a side length or (H, W)."""
    h, w = _hw(size)
    return torch.randn(n, channels, h, w, generator=torch.Generator().manual_seed(h * 1000 + w))


def _build(student_cls, *args):
    """(module, None) or (None, CheckResult) when construction fails."""
    name = getattr(student_cls, "__name__", "your class")
    try:
        return student_cls(*args), None
    except NotImplementedError as error:
        tb = error.__traceback__
        while tb.tb_next is not None:  # the frame that raised: whose __init__ is unfinished?
            tb = tb.tb_next
        raiser = type(tb.tb_frame.f_locals.get("self")).__name__
        if raiser not in (name, "NoneType") and isinstance(student_cls, type) \
                and not isinstance(tb.tb_frame.f_locals.get("self"), student_cls):
            return None, report(False, "not implemented", (
                f"{name} uses {raiser}, which is not implemented yet: finish {raiser} (and its "
                f"check) first, then run this check again."))
        return None, report(False, "not implemented", (
            f"{name}: not implemented yet. Replace the lines `raise NotImplementedError(...)` "
            f"with your code, run that cell, then run this check again."))
    except Exception as error:
        return None, report(False, "failed", f"{name}{args} raised {type(error).__name__}: {error}")


def _layers(module: nn.Module, kind) -> list[nn.Module]:
    """The layers of one kind in the order they were registered (ConvTranspose2d is not a Conv2d)."""
    return [m for m in module.modules() if isinstance(m, kind)]


def _padding(layer: nn.Module):
    return (0, 0) if layer.padding == "valid" else layer.padding if isinstance(layer.padding, str) \
        else tuple(layer.padding)


def _describe(layer: nn.Module) -> str:
    kind = "ConvTranspose2d" if isinstance(layer, nn.ConvTranspose2d) else "Conv2d"
    return (f"{kind}({layer.in_channels}, {layer.out_channels}, "
            f"kernel_size={tuple(layer.kernel_size)}, stride={tuple(layer.stride)}, "
            f"padding={_padding(layer)}, bias={layer.bias is not None})")


_ORDINAL = {1: "1st", 2: "2nd", 3: "3rd"}


def _differences(mine: nn.Module, ref: nn.Module) -> list[str]:
    """The attributes in which a student's conv layer differs from the reference layer."""
    pairs = (("in_channels", mine.in_channels, ref.in_channels),
             ("out_channels", mine.out_channels, ref.out_channels),
             ("kernel_size", tuple(mine.kernel_size), tuple(ref.kernel_size)),
             ("stride", tuple(mine.stride), tuple(ref.stride)),
             ("padding", _padding(mine), _padding(ref)),
             ("bias", mine.bias is not None, ref.bias is not None))
    return [f"{what} {m} instead of {r}" for what, m, r in pairs if m != r]


def _same_structure(name: str, student: nn.Module, reference: nn.Module) -> str | None:
    """None if the student's conv layers match the reference's one to one, else why not.

    Transposed convs are compared first: a missing up-conv is the more telling message.
    """
    for kind, what in ((nn.ConvTranspose2d, "ConvTranspose2d"), (nn.Conv2d, "Conv2d")):
        mine, ref = _layers(student, kind), _layers(reference, kind)
        if len(mine) != len(ref):
            why = f"{name} should have {len(ref)} {what} layer(s), yours has {len(mine)}"
            if kind is nn.ConvTranspose2d and ref and not mine:
                why += (" (the paper's up-conv is ONE layer, a transposed convolution: "
                        "nn.ConvTranspose2d(C, C // 2, kernel_size=2, stride=2))")
            return why
        if [_describe(m) for m in mine] != [_describe(r) for r in ref] \
                and sorted(map(_describe, mine)) == sorted(map(_describe, ref)):
            return (f"{name} has the right {what} layers, but creates them in a different order: the "
                    f"check matches layers in the order they are created in __init__, so create "
                    f"them in the order forward uses them")
        for i, (m, r) in enumerate(zip(mine, ref)):
            diffs = _differences(m, r)
            if diffs:
                why = (f"the {_ORDINAL.get(i + 1, f'{i + 1}th')} {what} created in {name} should be "
                       f"{_describe(r)}, yours is {_describe(m)}: {', '.join(diffs)}")
                if kind is nn.Conv2d and any(d.startswith("padding") for d in diffs):
                    why += " (the paper's 3x3 convs are unpadded: leave padding at its default, 0)"
                return why
    return None


@torch.no_grad()
def _copy_weights(student: nn.Module, reference: nn.Module, swap_concat: bool = False) -> None:
    """Copy the student's conv weights into the reference, layer by layer.

    swap_concat: the student concatenated [up-sampled, skip] instead of [skip, up-sampled];
    swapping the two halves of the first 3x3 conv's input channels makes the reference do
    the same computation.
    """
    for kind in (nn.Conv2d, nn.ConvTranspose2d):
        for i, (m, r) in enumerate(zip(_layers(student, kind), _layers(reference, kind))):
            w = m.weight
            if swap_concat and kind is nn.Conv2d and i == 0:
                half = w.shape[1] // 2
                w = torch.cat([w[:, half:], w[:, :half]], dim=1)
            r.weight.copy_(w)
            if m.bias is not None:
                r.bias.copy_(m.bias)


_BLOCK_HINT = "check that a ReLU follows EACH 3x3 conv and that the layers run in the order they were created"
_UP_HINT = ("check: no ReLU after the up-conv, the CENTRE of the skip map is kept, a ReLU follows "
            "each 3x3 conv")
_BLOCK_SHAPE_HINT = ("two unpadded 3x3 convs take 4 pixels off each side length, H x W -> H-4 x W-4: "
                     "do both convs run, with no padding and nothing else in between?")
_UP_SHAPE_HINT = ("the up-conv doubles the size and the two 3x3 convs take 4 pixels off: H x W -> "
                  "2H-4 x 2W-4. Crop the skip map to the up-sampled map's size; do not pad or resize "
                  "the up-sampled map")


def _shape_hint(expected, actual, hint: str = _BLOCK_HINT, shape_hint: str = _BLOCK_SHAPE_HINT) -> str | None:
    why = describe_difference(expected, actual, rtol=1e-4, atol=1e-5)
    if why is None:
        return None
    if not isinstance(actual, torch.Tensor):
        return f"expected a tensor, got {short(actual)}"
    if expected.shape != actual.shape:
        return f"{why} ({shape_hint})"
    if (actual < 0).any():
        return why + " (your output has negative values: does a ReLU follow EACH 3x3 conv?)"
    return f"{why} ({hint})"


def _structure_failure(student_cls, args: tuple, reference, name: str,
                       parameter_note: str = "") -> CheckResult | None:
    """Build the student's module with `args` and compare its layers and parameter count with
    `reference`; the failed CheckResult (already printed) or None when both match."""
    student, failed = _build(student_cls, *args)
    if failed is not None:
        return failed
    call = f"{name}({', '.join(map(str, args))})"
    why = _same_structure(call, student, reference)
    if why:
        return report(False, "failed", why)
    mine, ref = model.count_parameters(student), model.count_parameters(reference)
    if mine != ref:
        return report(False, "failed", f"{call} has {mine} parameters, expected {ref}{parameter_note}")
    return None


def check_conv_block(student_cls) -> CheckResult:
    """ConvBlock(in_channels, out_channels): two unpadded 3x3 convs, each followed by a ReLU;
    compared with `model.DoubleConv` carrying the same weights."""
    name = getattr(student_cls, "__name__", "ConvBlock")
    failed = _structure_failure(student_cls, (3, 8), model.DoubleConv(3, 8), name,
                                " (two 3x3 convs with biases)")
    if failed is not None:
        return failed

    built: dict = {}

    def block(c_in, c_out):
        if (c_in, c_out) not in built:
            torch.manual_seed(c_in * 1000 + c_out)
            built[c_in, c_out] = student_cls(c_in, c_out)
        return built[c_in, c_out]

    def run_student(c_in, c_out, input_size):
        with torch.no_grad():
            return block(c_in, c_out)(_noise(2, c_in, input_size))

    def run_reference(c_in, c_out, input_size):
        x = _noise(2, c_in, input_size)
        reference = model.DoubleConv(c_in, c_out)
        _copy_weights(block(c_in, c_out), reference)
        with torch.no_grad():
            return reference(x)

    cases = [((c_in, c_out), {"input_size": n})
             for c_in, c_out in ((3, 8), (1, 4), (8, 16), (16, 8)) for n in (5, 12, 29, (12, 29))]
    return check_function(run_student, run_reference, cases, name=name, compare=_shape_hint)


def check_up_step(student_cls) -> CheckResult:
    """UpStep(in_channels).forward(x, skip): 2x2 up-conv halving the channels, crop the skip
    map to the centre, concatenate [skip, up-sampled], two unpadded 3x3 convs + ReLU;
    compared with `model.Up(in_channels, in_channels // 2)` carrying the same weights."""
    name = getattr(student_cls, "__name__", "UpStep")
    failed = _structure_failure(student_cls, (16,), model.Up(16, 8), name)
    if failed is not None:
        return failed

    built: dict = {}

    def step(c):
        if c not in built:
            torch.manual_seed(c)
            built[c] = student_cls(c)
        return built[c]

    def inputs(c, size, skip_size):
        g = torch.Generator().manual_seed(sum(_hw(size)) * 100 + sum(_hw(skip_size)))
        return (torch.randn(2, c, *_hw(size), generator=g),
                torch.randn(2, c // 2, *_hw(skip_size), generator=g))

    def run_student(c, size, skip_size):
        with torch.no_grad():
            return step(c)(*inputs(c, size, skip_size))

    def run_reference(c, size, skip_size, swap=False):
        reference = model.Up(c, c // 2)
        _copy_weights(step(c), reference, swap_concat=swap)
        with torch.no_grad():
            return reference(*inputs(c, size, skip_size))

    # A common slip: concatenating [up-sampled, skip]. Recognise it by its exact outputs.
    try:
        student_out = run_student(16, 6, 20)
        if describe_difference(run_reference(16, 6, 20), student_out, rtol=1e-4, atol=1e-5) is not None \
                and describe_difference(run_reference(16, 6, 20, swap=True), student_out,
                                        rtol=1e-4, atol=1e-5) is None:
            return report(False, "failed", (
                f"{name}: you concatenate [up-sampled, skip]; the course (like Fig. 1) puts the "
                f"cropped skip map FIRST: torch.cat([skip, x], dim=1)"))
    except Exception:
        pass  # check_function below reports it (or that it is not implemented yet)

    # (in_channels, x size, skip size): the skip map is larger by 0 to 2 x 4 pixels, as in the U-Net;
    # sizes are side lengths or (height, width): non-square maps catch a crop that uses one axis's
    # offset for both (6x10 up-sampled to 12x20, skip 20x20: crop 4 rows, 0 columns)
    cases = [((c,), {"size": s, "skip_size": k})
             for c, s, k in ((16, 6, 12), (16, 6, 20), (8, 5, 18), (32, 7, 14), (4, 28, 64),
                             (16, (6, 10), (20, 20)), (8, (9, 5), (26, 18)), (4, (7, 12), (22, 32)))]
    return check_function(run_student, run_reference, cases, name=name,
                          compare=lambda expected, actual: _shape_hint(expected, actual, _UP_HINT, _UP_SHAPE_HINT))


# --------------------------------------------------------------------------- 04: fan-in

_LAYERS = [
    nn.Conv2d(1, 64, 3), nn.Conv2d(64, 64, 3), nn.Conv2d(64, 128, 3), nn.Conv2d(512, 1024, 3),
    nn.Conv2d(1024, 512, 3), nn.ConvTranspose2d(1024, 512, 2, stride=2),
    nn.ConvTranspose2d(128, 64, 2, stride=2), nn.Conv2d(64, 2, 1),
    # layers that are not in the U-Net
    nn.Conv2d(3, 16, 5), nn.Conv2d(8, 8, (3, 1)), nn.Conv2d(8, 4, 3, padding=1),
    nn.ConvTranspose2d(16, 8, 4, stride=2), nn.ConvTranspose2d(16, 8, 3, stride=1),
    nn.ConvTranspose2d(6, 3, 1), nn.ConvTranspose2d(8, 4, 3, stride=2),  # kernel not a multiple of the stride
    nn.Linear(100, 10),
]


def _show_layer(value) -> str:
    return repr(value) if isinstance(value, nn.Module) else short(value)


def _number(value):
    """A plain float for ints, floats, numpy numbers and one-element tensors; None otherwise."""
    try:
        return float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError, RuntimeError):
        return None


def _fan_in_hint(layer: nn.Module, expected: int, actual) -> str:
    """Why a fan-in may be wrong, from the value the student returned ("" if no guess)."""
    value = _number(actual)
    if value is None or value == expected:
        return ""
    if isinstance(layer, nn.ConvTranspose2d):
        (kh, kw), (sh, sw) = layer.kernel_size, layer.stride
        if value == expected * 2:
            return " (twice the answer: for a transposed conv count the pixels of the INPUT that reach one output pixel)"
        if value == layer.in_channels * kh * kw:
            return (" (that counts all kh*kw weights per input channel; but the input pixels are spread "
                    "`stride` apart, so one output pixel receives only ceil(kh/sh) * ceil(kw/sw) of them)")
        if value == layer.in_channels * (kh // sh) * (kw // sw):
            return (" (when the kernel is not a multiple of the stride, round UP: ceil(kh/sh), "
                    "the most input pixels any output pixel receives)")
        if value == layer.in_channels and expected != layer.in_channels:
            return (f" (that is in_channels alone, right only when the kernel equals the stride, as in "
                    f"the paper's 2x2 stride-2 up-conv; here one output pixel receives "
                    f"ceil({kh}/{sh}) x ceil({kw}/{sw}) = {math.ceil(kh / sh) * math.ceil(kw / sw)} input "
                    f"pixels per input channel: N = in_channels * ceil(kh/sh) * ceil(kw/sw))")
    kernel = math.prod(getattr(layer, "kernel_size", (1,)))
    n_out = getattr(layer, "out_channels", getattr(layer, "out_features", None))
    n_in = getattr(layer, "in_channels", getattr(layer, "in_features", None))
    if n_out is not None and n_out != n_in and value in (n_out * kernel, n_out):
        where = ("weight.shape[0] of a ConvTranspose2d" if isinstance(layer, nn.ConvTranspose2d)
                 else "weight.shape[1] of a Conv2d" if isinstance(layer, nn.Conv2d) else "in_features")
        return (f" (that counts the OUTPUT channels, {n_out}: one output unit receives input from "
                f"every INPUT channel, so use in_channels ({where}))")
    return ""


def check_fan_in(student_fn) -> CheckResult:
    """fan_in(layer): incoming connections of one output unit (C_in*k*k for a conv, C_in for
    the 2x2 stride-2 up-conv, in_features for a Linear layer)."""
    current = {}

    def reference(layer):  # check_function calls it first, with the same layer, then compare
        current["layer"] = layer
        return model.fan_in(layer)

    def compare(expected, actual):
        why = describe_difference(expected, actual)
        return why and why + _fan_in_hint(current["layer"], expected, actual)
    return check_function(student_fn, reference, [(m,) for m in _LAYERS], name="fan_in",
                          show=_show_layer, compare=compare)


def check_he_std(student_fn) -> CheckResult:
    """he_std(layer): sqrt(2 / fan_in(layer)), the paper's standard deviation (Sec. 3)."""
    def compare(expected, actual):
        why = describe_difference(expected, actual)
        value = _number(actual)
        if why and value is not None:
            if math.isclose(value, expected / math.sqrt(2), rel_tol=1e-4):
                why += (" (that is sqrt(1/N) or sqrt(2/N) with N twice too large: the factor 2 makes up "
                        "for the ReLU, which keeps half of the variance; check N with your fan_in)")
            elif math.isclose(value, expected ** 2, rel_tol=1e-4):
                why += " (that is the variance 2/N; the standard deviation is its square root)"
        return why
    return check_function(student_fn, model.he_std, [(m,) for m in _LAYERS], name="he_std",
                          show=_show_layer, compare=compare)
