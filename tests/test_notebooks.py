"""Every committed notebook is stored clean and follows the lesson shape.

nbval (run by `make test`) executes notebooks/ and solutions/; these tests check what
execution cannot: stored outputs, kernels, titles and the lesson table in the README.
"""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALL = sorted(p for d in ("notebooks", "solutions", "exercises") for p in (ROOT / d).glob("*.ipynb"))
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
