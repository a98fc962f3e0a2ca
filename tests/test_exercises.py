"""Exercises and solutions come from ONE source (solutions/) and behave for students.

- exercises/ as the repository holds it is exactly what tools/make_exercises.py makes from
  solutions/ (a student's filled-in working copy does not fail this);
- an exercise holds no solution code;
- an untouched exercise notebook runs headless without errors and each check cell says
  "not implemented yet";
- the solutions pass their own checks (their hidden asserts run under nbval);
- a student's filled-in exercise survives `make exercises` and `make strip` (run here on a copy
  of the course in a temporary folder, with and without git).
"""
import re
import shutil
import subprocess
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
    problems, _ = mk.check(ROOT)
    assert not problems, "\n".join(problems)


def _generated(path):
    """The exercise made from the solution at path (what a student starts from)."""
    return nbformat.reads(mk.expected_exercises(ROOT)[ROOT / "exercises" / path.name], as_version=4)


def _solution_blocks(source):
    return re.findall(rf"{re.escape(mk.BEGIN)}\n(.*?)\n\s*{re.escape(mk.END)}", source, re.S)


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_exercise_holds_no_solution_code(path):
    solution = nbformat.read(path, as_version=4)
    exercise = _generated(path)
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

    exercise = _generated(path)  # not the working copy: a student may have filled it in
    NotebookClient(exercise, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "exercises")}}).execute()
    check_cells = [c for c in exercise.cells if c.cell_type == "code" and _CHECK_CALL.search(c.source)]
    assert check_cells, f"{path.name}: no cell calls a check_... function"
    for cell in check_cells:
        printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        assert "not implemented yet" in printed, f"{path.name}: check cell printed {printed!r}:\n{cell.source}"


# --- a student's work survives our commands ---------------------------------------------------
STUB = 'raise NotImplementedError("Exercise: write the body of axis_starts")'
ANSWER = "return [k * step for k in range(1 + max(0, -(-(n - tile_out) // step)))]"
NAME = "08_tile_grid.ipynb"


def _course_copy(tmp_path, git):
    """The course's notebooks in a temporary folder (a git repository with one commit if git)."""
    root = tmp_path / "course"
    for folder in ("notebooks", "solutions", "exercises"):
        shutil.copytree(ROOT / folder, root / folder)
    for path in mk.expected_exercises(root):  # as generated, whatever the working copy holds
        path.write_text(mk.expected_exercises(ROOT)[ROOT / "exercises" / path.name])
    if git:
        if not shutil.which("git"):
            pytest.skip("git is not installed")
        for command in (["init", "-q"], ["add", "-A"],
                        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "course"]):
            subprocess.run(["git", "-C", str(root), *command], check=True, capture_output=True)
    return root


def _fill_in(root, name=NAME):
    """Answer the first exercise of a notebook and save it with outputs, as Jupyter does."""
    path = root / "exercises" / name
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if STUB in c.source)
    cell.source = cell.source.replace(STUB, ANSWER)
    cell.execution_count = 1
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="✓ axis_starts\n")]
    nbformat.write(nb, path)
    return path, path.read_text()


def _change_solution(root, name=NAME):
    path = root / "solutions" / name
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source += "\n\nA sentence added to the solution."
    nbformat.write(nb, path)


def _run(capsys, root, *args):
    code = mk.main(list(args), root=root)
    return code, capsys.readouterr().out


@pytest.mark.parametrize("git", [True, False], ids=["git", "zip"])
def test_a_filled_in_exercise_passes_the_check(tmp_path, capsys, git):
    root = _course_copy(tmp_path, git)
    _fill_in(root)
    code, out = _run(capsys, root, "--check")
    assert code == 0, out
    assert f"exercises/{NAME} holds" in out and "up to date" in out


@pytest.mark.parametrize("git", [True, False], ids=["git", "zip"])
def test_the_check_fails_when_a_solution_changed_without_regenerating(tmp_path, capsys, git):
    root = _course_copy(tmp_path, git)
    _change_solution(root)
    code, out = _run(capsys, root, "--check")
    assert code == 1
    assert f"out of date: exercises/{NAME}: solutions/{NAME} changed" in out
    assert "make exercises" in out


@pytest.mark.parametrize("git", [True, False], ids=["git", "zip"])
def test_a_filled_in_exercise_of_a_changed_solution_still_fails_the_check(tmp_path, capsys, git):
    """Filling in does not hide that the repository's exercise is stale."""
    root = _course_copy(tmp_path, git)
    _change_solution(root)
    _fill_in(root)
    code, out = _run(capsys, root, "--check")
    assert code == 1 and "out of date" in out and NAME in out


@pytest.mark.parametrize("git", [True, False], ids=["git", "zip"])
@pytest.mark.parametrize("command", [[], ["--strip"]], ids=["make exercises", "make strip"])
def test_a_filled_in_exercise_survives(tmp_path, capsys, git, command):
    root = _course_copy(tmp_path, git)
    path, answered = _fill_in(root)
    code, out = _run(capsys, root, *command)
    assert code == 0, out
    assert path.read_text() == answered, "the student's answer was overwritten"
    assert f"kept exercises/{NAME}: it holds your changes" in out


@pytest.mark.parametrize("git", [True, False], ids=["git", "zip"])
def test_a_filled_in_exercise_is_not_replaced_by_a_new_template(tmp_path, capsys, git):
    root = _course_copy(tmp_path, git)
    path, answered = _fill_in(root)
    _change_solution(root)
    code, out = _run(capsys, root)
    assert code == 1
    assert path.read_text() == answered
    assert f"NOT updated exercises/{NAME}: it holds changes to its template" in out
    assert "FORCE=1" in out


def test_force_overwrites_and_keeps_a_copy(tmp_path, capsys):
    root = _course_copy(tmp_path, git=False)
    path, answered = _fill_in(root)
    _change_solution(root)
    code, out = _run(capsys, root, "--force")
    assert code == 0
    assert path.read_text() == mk.expected_exercises(root)[path]
    assert (path.parent / (NAME + ".bak")).read_text() == answered
    assert f"overwrote exercises/{NAME}, which held changes" in out and f"{NAME}.bak" in out


@pytest.mark.parametrize("git", [True, False], ids=["git", "zip"])
def test_an_untouched_stale_exercise_is_regenerated_and_outputs_are_stripped(tmp_path, capsys, git):
    root = _course_copy(tmp_path, git)
    _change_solution(root)
    lesson = root / "notebooks" / "00_the_task_and_the_data.ipynb"
    nb = nbformat.read(lesson, as_version=4)
    code_cell = next(c for c in nb.cells if c.cell_type == "code")
    code_cell.execution_count, code_cell.outputs = 3, [nbformat.v4.new_output("stream", text="x\n")]
    nbformat.write(nb, lesson)
    code, out = _run(capsys, root, "--strip")
    assert code == 0, out
    assert f"wrote exercises/{NAME}" in out
    assert (root / "exercises" / NAME).read_text() == mk.expected_exercises(root)[root / "exercises" / NAME]
    stripped = nbformat.read(lesson, as_version=4)
    assert all(not c.get("outputs") and c.get("execution_count") is None
               for c in stripped.cells if c.cell_type == "code")


def test_a_student_s_own_notebook_in_exercises_is_left_alone(tmp_path, capsys):
    root = _course_copy(tmp_path, git=True)
    mine = root / "exercises" / "my_notes.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), mine)
    code, out = _run(capsys, root, "--check")
    assert code == 0, out
    assert "my_notes.ipynb is not an exercise of the course" in out
    code, out = _run(capsys, root)
    assert code == 0 and mine.exists() and "left exercises/my_notes.ipynb alone" in out


def test_committed_answers_pass_with_a_note_and_fail_when_strict(tmp_path, capsys):
    """A student who commits answers still passes `make test`; the course's CI can be strict."""
    root = _course_copy(tmp_path, git=True)
    _fill_in(root)
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-qam", "my answers"], check=True, capture_output=True)
    code, out = _run(capsys, root, "--check")
    assert code == 0 and f"git's copy of exercises/{NAME} holds changes to its template" in out
    code, out = _run(capsys, root, "--check", "--strict")
    assert code == 1 and f"git's copy of exercises/{NAME} is not what solutions/{NAME} gives" in out
