"""Every worked example in a lesson or exercise is computed by code, not just typed.

Three kinds, read from the notebooks themselves (exercises/ are generated from solutions/, so
checking solutions/ checks the exercises' text too):

1. inline code spans `expr == value` in markdown, and `# expr == value` comments in code cells:
   evaluated in the notebook's namespace (a solution's own definitions and imports; a lesson's
   imports) and against the package where the function has a twin there (PACKAGE_TWINS);
2. size pairs "572 → 388" in prose: each must be the network's output size for that input
   (unet_course.sizes.output_size), a skip map cropped on the way up (568 → 392), or an entry of
   OTHER_PAIRS with its computation;
3. examples written in words or tables (EXPLICIT): the text as it appears in the notebook, the
   expression that computes it and the value the text states.

A new example in one of these forms is checked as soon as it is written; one that cannot be
parsed belongs in EXPLICIT.
"""
import ast
import math
import re
from functools import lru_cache
from pathlib import Path

import nbformat
import pytest
import torch

import unet_course
from unet_course import sizes, tiling

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
NOTEBOOKS = LESSONS + SOLUTIONS

# Functions an exercise asks for that the package also has: an example is checked against both.
PACKAGE_TWINS = {
    "axis_starts": tiling._axis_starts,
    "tile_grid": tiling.tile_grid,
    "output_size": sizes.output_size,
    "input_size_for": sizes.input_size_for,
    "is_valid_input_size": sizes.is_valid_input_size,
}

_SPAN = re.compile(r"`([^`\n]+)`")
_COMMENT = re.compile(r"#\s*(.+)$", re.M)


def _is_equality(text):
    """`text` parsed as `left == right` (one comparison), or None."""
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None
    if isinstance(tree, ast.Compare) and len(tree.ops) == 1 and isinstance(tree.ops[0], ast.Eq):
        return tree
    return None


def equality_examples(nb):
    """(cell index, 'expr == value') for every inline equality in markdown or a code comment."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            candidates = _SPAN.findall(cell.source)
        elif cell.cell_type == "code":
            candidates = _COMMENT.findall(cell.source)
        else:
            continue
        found += [(index, text.strip()) for text in candidates if _is_equality(text.strip())]
    return found


def _exec(nodes, namespace):
    """Run some top-level statements of a notebook cell in namespace."""
    exec(compile(ast.Module(body=nodes, type_ignores=[]), "<notebook cell>", "exec"), namespace)


@lru_cache(maxsize=None)
def notebook_namespace(path):
    """Names a notebook's examples may use: unet_course, the notebook's top-level imports and,
    for a solution, its own definitions (the cells that define functions or classes; no check
    cell is run)."""
    nb = nbformat.read(path, as_version=4)
    namespace = {"unet_course": unet_course, "math": math}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython magics: such a cell defines nothing an example uses
            continue
        imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
        defines = [node for node in tree.body
                   if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
        _exec(imports, namespace)
        if Path(path).parent.name == "solutions":
            _exec(defines, namespace)
    return namespace


def _ids(items):
    return [f"{Path(path).parent.name}/{Path(path).name[:2]}:{text}" for path, _, text in items]


EQUALITIES = [(path, index, text) for path in NOTEBOOKS
              for index, text in equality_examples(nbformat.read(path, as_version=4))]


def test_the_examples_are_found():
    """The parser sees the exercises' examples (a parser that finds nothing checks nothing)."""
    texts = [text for _, _, text in EQUALITIES]
    assert "axis_starts(512, 388, 384) == [0, 384]" in texts
    assert any(text.startswith("tile_grid(") for text in texts)


@pytest.mark.parametrize("path, index, text", EQUALITIES, ids=_ids(EQUALITIES))
def test_inline_equality_holds(path, index, text):
    namespace = notebook_namespace(path)
    tree = _is_equality(text)
    left = eval(ast.unparse(tree.left), dict(namespace))
    right = eval(ast.unparse(tree.comparators[0]), dict(namespace))
    where = f"{Path(path).relative_to(ROOT)} cell {index}"
    assert left == right, f"{where}: the text says `{text}`, but the left side is {left!r}"
    call = tree.left
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in PACKAGE_TWINS:
        twin = eval(ast.unparse(call), {**namespace, call.func.id: PACKAGE_TWINS[call.func.id]})
        assert twin == right, f"{where}: the package's {call.func.id} gives {twin!r}, text: `{text}`"


def test_a_wrong_example_is_caught():
    """The parser and evaluation catch the example exercise 08 used to give."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "Examples: `axis_starts(200, 68, 64) == [0, 64, 128]`; `2 + 2` is 4.")])
    [(_, text)] = equality_examples(nb)
    namespace = notebook_namespace(ROOT / "solutions" / "08_tile_grid.ipynb")
    tree = _is_equality(text)
    assert eval(ast.unparse(tree.left), dict(namespace)) == [0, 64, 128, 192]
    assert eval(ast.unparse(tree.left), dict(namespace)) != eval(ast.unparse(tree.comparators[0]))


# --- 2. size pairs "a → b" --------------------------------------------------------------
_PAIR = re.compile(r"(?<![\w.×])(\d+)(?:×\d+)? (?:→|->) (\d+)(?![\w.])")


def _skip_pairs(n=572, depth=4):
    """(size of the skip map, size it is cropped to) at each level, for an n input tile."""
    path = sizes.size_path(n, depth)
    down = {l.level: l.size for l in path if l.path == "contracting" and l.op == "conv 3x3"}
    up = {l.level: l.size for l in path if l.op == "up-conv 2x2"}
    return {(down[level], up[level]) for level in range(depth)}


# Pairs that are not input → output tile sizes, each with what computes it.
OTHER_PAIRS = {
    (10, 8): ("one valid 3×3 convolution", lambda: 10 - 3 + 1),
    (10, 5): ("one 2×2 max-pool", lambda: 10 // 2),
    (1, 64): ("channels of the paper's first conv", lambda: _paper_convs()[0].out_channels),
    (64, 64): ("channels of the paper's second conv", lambda: _paper_convs()[1].out_channels),
    (1024, 512): ("channels of the lowest up-conv", lambda: unet_course.model.UpConv(1024).out_channels),
    (2, 4): ("a 2×2 map through a stride-2 up-conv", lambda: 2 * 2),
    (28, 56): ("the lowest map through the 2×2 up-conv (Fig. 1)",
               lambda: unet_course.model.UpConv(8)(torch.zeros(1, 8, 28, 28)).shape[-1]),
    (56, 52): ("two valid 3×3 convolutions", lambda: 56 - 2 - 2),
}


def _paper_convs():
    """The Conv2d layers of the paper's network (Fig. 1: base 64), in order."""
    return [m for m in unet_course.model.UNet().modules() if isinstance(m, torch.nn.Conv2d)]


def size_pairs():
    found = []
    for path in NOTEBOOKS:
        for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
            found += [(path, index, m.group(0)) for m in _PAIR.finditer(cell.source)]
    return found


PAIRS = size_pairs()


@pytest.mark.parametrize("path, index, text", PAIRS, ids=_ids(PAIRS))
def test_size_pair_holds(path, index, text):
    a, b = map(int, _PAIR.fullmatch(text).groups())
    where = f"{Path(path).relative_to(ROOT)} cell {index}"
    if (a, b) in OTHER_PAIRS:
        what, compute = OTHER_PAIRS[(a, b)]
        assert compute() == b, f"{where}: '{text}' ({what}) computes to {compute()}"
        return
    if (a, b) in _skip_pairs():
        return
    assert sizes.is_valid_input_size(a), (
        f"{where}: '{text}' is no valid U-Net tile (depth 4), no skip crop and not in OTHER_PAIRS")
    assert sizes.output_size(a) == b, f"{where}: '{text}', but output_size({a}) = {sizes.output_size(a)}"


def test_skip_pairs_are_the_paper_s():
    assert _skip_pairs() == {(568, 392), (280, 200), (136, 104), (64, 56)}


# --- 3. examples in words or tables -------------------------------------------------------
def _mirror_row(nb_path):
    """The 'position' and 'pixel' rows of exercise 00's table, as written."""
    text = "\n".join(c.source for c in nbformat.read(nb_path, as_version=4).cells)
    positions = re.search(r"^position\s+([-\d |]+)$", text, re.M).group(1)
    pixels = re.search(r"^pixel\s+([-\d |]+)$", text, re.M).group(1)
    return ([int(v) for v in positions.replace("|", " ").split()],
            [int(v) for v in pixels.replace("|", " ").split()])


def _conv_parameter_counts(c_in, c_out, k):
    return c_in * c_out * k * k + c_out


# (notebook, text as written there, expression, value the text states)
EXPLICIT = [
    ("solutions/00_mirror_pad.ipynb", "pixel      2  3  2  1 | 0  1  2  3 | 2  1  0  1  2",
     "[mirror_index(i, 4) for i in _mirror_row(PATH)[0]]", "_mirror_row(PATH)[1]"),
    ("solutions/00_mirror_pad.ipynb", "`0 1 2 3 2 1 | 0 1 2 3 2 1 | …`\nfor n = 4",
     "[mirror_index(i, 4) for i in range(12)]", "[0, 1, 2, 3, 2, 1] * 2"),
    ("solutions/01_sizes.ipynb", "(388 for 572)", "output_size(572)", "388"),
    ("solutions/01_sizes.ipynb", "(572 for\n388)", "input_size_for(388)", "572"),
    ("solutions/01_sizes.ipynb", "`output_size(572)` should be 388", "output_size(572)", "388"),
    ("solutions/01_sizes.ipynb", "`input_size_for(388)` 572", "input_size_for(388)", "572"),
    ("solutions/01_sizes.ipynb", "(e.g. 390 at depth 4)", "raises(input_size_for, 390)", "True"),
    ("solutions/03_blocks.ipynb", "2,097,664 + 4,719,104 + 2,359,808 = 9,176,576",
     "[_conv_parameter_counts(1024, 512, 2), _conv_parameter_counts(1024, 512, 3), "
     "_conv_parameter_counts(512, 512, 3), sum(p.numel() for p in UpStep(1024).parameters())]",
     "[2_097_664, 4_719_104, 2_359_808, 9_176_576]"),
    ("solutions/04_fan_in.ipynb", "9 for the\nfirst layer, 576 for a 3×3 conv on 64 channels, 1024 "
     "for the first up-conv and 64 for the final 1×1",
     "[fan_in(nn.Conv2d(1, 64, 3)), fan_in(nn.Conv2d(64, 64, 3)), "
     "fan_in(nn.ConvTranspose2d(1024, 512, 2, stride=2)), fan_in(nn.Conv2d(64, 2, 1))]",
     "[9, 576, 1024, 64]"),
    ("solutions/07_training.ipynb", "With m = 0.99 that is **100 lr**",
     "steady_step(sgd_momentum_step, momentum=0.99)", "100.0"),
    ("solutions/08_tile_grid.ipynb", "the second tile covers 384…771",
     "[axis_starts(512, 388, 384)[1], axis_starts(512, 388, 384)[1] + 388 - 1]", "[384, 771]"),
    ("solutions/08_tile_grid.ipynb", "the third tile ends at 195, so a fourth is needed for pixels 196…199",
     "[axis_starts(200, 68, 64)[2] + 68 - 1, len(axis_starts(200, 68, 64))]", "[195, 4]"),
    ("notebooks/01_valid_convolutions.ipynb", "92 pixels of context per side",
     "(572 - output_size(572)) // 2", "92"),
    ("notebooks/01_valid_convolutions.ipynb", "*n* = 16*k* + 60 ≥ 188; the output is *n* − 184",
     "[valid_input_sizes(1, 240), {n - output_size(n) for n in valid_input_sizes(1, 2000)}]",
     "[[188, 204, 220, 236], {184}]"),
    ("notebooks/02_crop_and_concat.ipynb", "4, 16, 40, 88", "skip_crops(572)[::-1]", "[4, 16, 40, 88]"),
]


def raises(function, *args):
    try:
        function(*args)
    except ValueError:
        return True
    return False


def steady_step(step, momentum, lr=1.0, steps=3000):
    """The step size after many steps with a constant gradient 1, in units of lr."""
    param, buffer = torch.zeros(1, dtype=torch.float64), None
    for _ in range(steps):
        new, buffer = step(param, torch.ones(1, dtype=torch.float64), buffer, lr, momentum)
        param, last = new, float(param - new)
    return round(last / lr, 6)


@pytest.mark.parametrize("where, text, expression, value", EXPLICIT,
                         ids=[f"{w[:12]}:{e[:40]}" for w, _, e, _ in EXPLICIT])
def test_explicit_example_holds(where, text, expression, value):
    path = ROOT / where
    source = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    assert text in source, (f"{where} no longer says {text!r}: update EXPLICIT in "
                            f"tests/test_worked_examples.py with the new wording and its computation")
    namespace = {**vars(sizes), **notebook_namespace(path), "PATH": path, "raises": raises,
                 "steady_step": steady_step, "_mirror_row": _mirror_row,
                 "_conv_parameter_counts": _conv_parameter_counts}
    namespace.setdefault("nn", torch.nn)
    got, stated = eval(expression, namespace), eval(value, namespace)
    assert got == stated, f"{where}: the text says {text!r} ({value}), the code gives {got!r}"
