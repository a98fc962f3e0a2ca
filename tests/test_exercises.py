"""Exercises and solutions come from ONE source (solutions/) and behave for students.

- exercises/ is exactly what tools/make_exercises.py makes from solutions/;
- it holds no solution code;
- an untouched exercise notebook runs headless without errors and each check cell says
  "not implemented yet";
- the solutions pass their own checks (their hidden asserts run under nbval).
"""
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import make_exercises as mk  # noqa: E402

SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
_CHECK_CALL = re.compile(r"^\s*(\w+\s*=\s*)?(checks\.)?check_\w+\(", re.M)


def test_exercises_are_up_to_date():
    expected = mk.expected_exercises(ROOT)
    assert sorted(expected) == sorted((ROOT / "exercises").glob("*.ipynb")), \
        "exercises/ and solutions/ hold different notebooks: run `make exercises`"
    stale = [p.name for p, text in expected.items() if p.read_text() != text]
    assert not stale, f"exercises out of date with solutions/: {stale}; run `make exercises`"


def _solution_blocks(source):
    return re.findall(rf"{re.escape(mk.BEGIN)}\n(.*?)\n\s*{re.escape(mk.END)}", source, re.S)


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_exercise_holds_no_solution_code(path):
    solution = nbformat.read(path, as_version=4)
    exercise = nbformat.read(ROOT / "exercises" / path.name, as_version=4)
    text = "\n".join(c.source for c in exercise.cells)
    for marker in (mk.BEGIN, mk.END, mk.HIDDEN_BEGIN, mk.HIDDEN_END):
        assert marker not in text
    blocks = [b for c in solution.cells for b in _solution_blocks(c.source)]
    assert blocks, f"{path.name} has no solution block"
    for block in blocks:
        assert block not in text


def test_stub_replaces_block_at_its_indentation():
    src = "def f(x):\n    '''doc'''\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\n"
    assert mk.stub_source(src) == (
        "def f(x):\n    '''doc'''\n    raise NotImplementedError(\"Exercise: write the body of f\")")


def test_hidden_tests_are_dropped_without_stub():
    src = "r = check(f)\n### BEGIN HIDDEN TESTS\nassert r\n### END HIDDEN TESTS"
    assert mk.stub_source(src) == "r = check(f)"


@pytest.mark.parametrize("src", [
    "### BEGIN SOLUTION\nx = 1",                       # never closed
    "x = 1\n### END SOLUTION",                          # no begin
    "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION",
    "### END HIDDEN TESTS",
])
def test_broken_markers_are_reported(src):
    with pytest.raises(ValueError):
        mk.stub_source(src, "nb cell 3")


def test_a_notebook_without_exercise_is_rejected():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    with pytest.raises(ValueError, match="nothing for a student to write"):
        mk.make_exercise(nb, "empty.ipynb")


@pytest.mark.slow
@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_untouched_exercise_runs_and_says_not_implemented(path):
    from nbclient import NotebookClient

    exercise = nbformat.read(ROOT / "exercises" / path.name, as_version=4)
    NotebookClient(exercise, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "exercises")}}).execute()
    check_cells = [c for c in exercise.cells if c.cell_type == "code" and _CHECK_CALL.search(c.source)]
    assert check_cells, f"{path.name}: no cell calls a check_... function"
    for cell in check_cells:
        printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        assert "not implemented yet" in printed, f"{path.name}: check cell printed {printed!r}:\n{cell.source}"
