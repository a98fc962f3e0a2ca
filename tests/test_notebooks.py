"""Every committed notebook is stored clean and follows the lesson shape.

nbval (run by `make test`) executes notebooks/ and solutions/; these tests check what
execution cannot: stored outputs, kernels, titles and the lesson table in the README.
"""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# exercises/ is not here: a student's working copy holds outputs; the repository's copy is
# checked through tools/make_exercises.py (generated without outputs, with the python3 kernel).
ALL = sorted(p for d in ("notebooks", "solutions") for p in (ROOT / d).glob("*.ipynb"))
LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("*.ipynb"))


def _ids(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


def test_there_are_notebooks():
    """Lists, not a generator (a generator is always true; the exercises' sync with the
    solutions is checked by `tools/make_exercises.py --check` in `make test`)."""
    assert LESSONS and SOLUTIONS and EXERCISES, "no lessons, solutions or exercises found"


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_stored_without_outputs(path):
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs or execution counts; run `make strip`"


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_runs_with_the_python3_kernel(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3", \
        f"{path.name}: set the python3 kernel (`jupytext --set-kernel python3`)"
    assert "jupytext" not in nb["metadata"], f"{path.name}: run `make strip` to drop jupytext metadata"


@pytest.mark.parametrize("path", LESSONS, ids=_ids(LESSONS))
def test_lesson_shape(path):
    """Title with number, paper section and CPU time; learning goals; exercise/summary."""
    nb = json.loads(path.read_text())
    first = "".join(nb["cells"][0]["source"])
    number = path.name[:2]
    assert re.match(rf"# Lesson {number} · ", first), f"{path.name}: title must start '# Lesson {number} · '"
    assert "**Paper:**" in first and "**CPU time:**" in first, f"{path.name}: state paper section and CPU time"
    assert "You will learn" in first, f"{path.name}: list what the student will learn"
    text = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "## Summary" in text, f"{path.name}: end with a summary"


def test_readme_lists_every_lesson():
    readme = (ROOT / "README.md").read_text()
    for path in LESSONS:
        assert f"notebooks/{path.name}" in readme, f"README's lesson table lacks {path.name}"


def _root_conftest():
    import importlib.util
    spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_kernel_start_is_retried_after_a_kernel_dies():
    calls = []

    def flaky(**kwargs):
        calls.append(kwargs)
        if len(calls) < 3:
            raise RuntimeError("Kernel died before replying to kernel_info")
        return "km", "kc"
    assert _root_conftest().retrying(flaky, tries=3)(kernel_name="python3") == ("km", "kc")
    assert len(calls) == 3 and calls[-1] == {"kernel_name": "python3"}

    def dead(**kwargs):
        calls.append(kwargs)
        raise RuntimeError("Kernel died before replying to kernel_info")
    calls.clear()
    with pytest.raises(RuntimeError, match="Kernel died"):
        _root_conftest().retrying(dead, tries=2)()
    assert len(calls) == 2


def test_nbval_starts_kernels_through_the_retry():
    nbval_kernel = pytest.importorskip("nbval.kernel")
    assert hasattr(nbval_kernel.start_new_kernel, "retries")


# Students read one plain time per lesson; CPU models, instruction sets, threads and loads live
# on the results page (RESULTS.md, made from benchmarks/results/*.csv), not in lessons (issue 34).
HARDWARE = re.compile(r"xeon|epyc|\bavx|\bamx\b|onednn_max_cpu_isa|aten_cpu_capability", re.I)
PLAIN_TIME = re.compile(r"\*\*CPU time:\*\* (?:under|about) \d+ minutes? on a laptop CPU\b[^\n]*")
NOT_PLAIN = re.compile(r"thread|core|float|bfloat|nbval|\bload\b|\b(?:19|20)\d\d\b|\d\s*s\b|\bs of\b", re.I)
TIMES = re.compile(r"\b\d+(?:\.\d+)?\s*(?:s|sec|seconds?|min|minutes?|h|hours?)\b")


@pytest.mark.parametrize("path", LESSONS, ids=_ids(LESSONS))
def test_lessons_name_no_cpu_model_or_instruction_set(path):
    nb = json.loads(path.read_text())
    found = [f"cell {i} ({c['cell_type']}): {m.group(0)!r}" for i, c in enumerate(nb["cells"])
             for m in HARDWARE.finditer("".join(c["source"]))]
    assert not found, (f"{path.name} names CPU models or instruction sets ({'; '.join(found)}): "
                       "lessons state one plain time; provenance belongs on RESULTS.md")


@pytest.mark.parametrize("path", LESSONS, ids=_ids(LESSONS))
def test_lesson_header_states_one_plain_time(path):
    header = "".join(json.loads(path.read_text())["cells"][0]["source"])
    lines = [line for line in header.splitlines() if "**CPU time:**" in line]
    assert len(lines) == 1, f"{path.name}: the header needs exactly one '**CPU time:**' line, found {len(lines)}"
    line = lines[0]
    assert PLAIN_TIME.fullmatch(line), (f"{path.name}: write the time as '**CPU time:** about N minutes on a "
                                        f"laptop CPU' (or 'under 1 minute ...'), got {line!r}")
    assert len(TIMES.findall(line)) == 1 and not NOT_PLAIN.search(line) and len(line) <= 140, \
        f"{path.name}: one plain time, no seconds, threads, dates or hardware in the header: {line!r}"


# What each exercise asks the student to write, by the package's names. A lesson shows their
# code (inspect.getsource) only after the cell that sends the student to the exercise (issue 34).
EXERCISE_ANSWERS = {
    "00": {"mirror_indices", "mirror_pad"},
    "01": {"_walk", "output_size", "is_valid_input_size", "input_size_for", "conv_output_size"},
    "02": {"center_crop"},
    "03": {"DoubleConv", "Up"},
    "04": {"fan_in", "he_std"},
    "05": {"naive_border_weights", "border_weights", "class_balance_weights"},
    "06": {"dense_field", "warp"},
    "07": {"weighted_cross_entropy", "sgd_momentum_step"},
    "08": {"tile_grid", "_axis_starts", "_axis_count"},
    "09": {"misclassification_rate", "rand_f_score"},
    "10": {"nested_node", "dice_coefficient"},
}


@pytest.mark.parametrize("path", LESSONS, ids=_ids(LESSONS))
def test_no_exercise_answer_printed_before_the_exercise(path):
    cells = json.loads(path.read_text())["cells"]
    sources = ["".join(c["source"]) for c in cells]
    exercise = next((i for i, (c, s) in enumerate(zip(cells, sources))
                     if c["cell_type"] == "markdown" and "## Exercise" in s), len(cells))
    answers = EXERCISE_ANSWERS.get(path.name[:2], set())
    early = [f"cell {i}: getsource({name})" for i, s in enumerate(sources[:exercise])
             for name in re.findall(r"getsource\(\s*([\w.]+)\s*\)", s) if name.split(".")[-1] in answers]
    assert not early, (f"{path.name} prints an exercise's answer before sending the student to the "
                       f"exercise ({'; '.join(early)}): move it after the '## Exercise' cell")


def test_every_exercise_answer_is_listed():
    """EXERCISE_ANSWERS covers every lesson that has an exercise (a new lesson must be added)."""
    numbers = {p.name[:2] for p in SOLUTIONS}
    assert numbers <= set(EXERCISE_ANSWERS), f"add the answers of exercises {sorted(numbers - set(EXERCISE_ANSWERS))}"


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_no_notebook_forces_a_thread_count(path):
    """Lessons take torch's default threads (which respect OMP_NUM_THREADS as the student set
    it): a global set_num_threads made a lesson 3-4x slower per step on a 2-core CPU with another
    process busy (issue 32). A like-for-like timing uses unet_course.device.torch_threads."""
    nb = json.loads(path.read_text())
    found = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
             and re.search(r"set_num(_interop)?_threads\s*\(", "".join(c["source"]))]
    assert not found, (f"{path.name}: cells {found} call torch.set_num_threads; take torch's default "
                       f"(or `with unet_course.device.torch_threads(n):` around a timing only)")
