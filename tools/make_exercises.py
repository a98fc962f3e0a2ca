"""Make exercises/ from solutions/: the ONE source of every exercise.

A solution notebook marks each answer inside a code cell:

    def output_size(n, depth=4):
        ### BEGIN SOLUTION
        return size_path(n, depth)[-1].size
        ### END SOLUTION

The exercise notebook gets, at the same indentation,

        raise NotImplementedError("Exercise: write the body of output_size")

and everything else unchanged, outputs and execution counts removed. Lines between
`### BEGIN HIDDEN TESTS` and `### END HIDDEN TESTS` (asserts that the solution passes its
own check, so nbval guards the solutions) are dropped from the exercise without a stub.

    python tools/make_exercises.py          # regenerate exercises/
    python tools/make_exercises.py --check  # exit 1 if exercises/ is out of date
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
# Asserts that the solution passes its own check; removed (no stub) from exercises.
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
_DEF = re.compile(r"^\s*(?:async\s+)?(?:def|class)\s+(\w+)")


def stub_source(source: str, where: str = "") -> str:
    """Replace every BEGIN/END SOLUTION block in one cell's source by a NotImplementedError stub."""
    out, inside, hidden, owner = [], False, False, None
    for number, line in enumerate(source.splitlines(), 1):
        match = _DEF.match(line)
        if match and not inside:
            owner = match.group(1)
        stripped = line.strip()
        if stripped.startswith(HIDDEN_BEGIN) or stripped.startswith(HIDDEN_END):
            if hidden == stripped.startswith(HIDDEN_BEGIN):
                raise ValueError(f"{where} line {number}: unbalanced {stripped}")
            hidden = not hidden
        elif hidden:
            continue
        elif stripped.startswith(BEGIN):
            if inside:
                raise ValueError(f"{where} line {number}: {BEGIN} inside another solution block")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            what = f"the body of {owner}" if owner else "your code here"
            out.append(f'{indent}raise NotImplementedError("Exercise: write {what}")')
        elif stripped.startswith(END):
            if not inside:
                raise ValueError(f"{where} line {number}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside or hidden:
        raise ValueError(f"{where}: a BEGIN marker is never closed by its END marker")
    return "\n".join(out)


def make_exercise(solution: nbformat.NotebookNode, name: str = "") -> nbformat.NotebookNode:
    """The exercise notebook for one solution notebook (a new object; the input is not changed)."""
    exercise = nbformat.from_dict(solution)
    found = 0
    for index, cell in enumerate(exercise.cells):
        if cell.cell_type != "code":
            continue
        found += BEGIN in cell.source
        cell.source = stub_source(cell.source, f"{name} cell {index}")
        cell.outputs, cell.execution_count = [], None
    if not found:
        raise ValueError(f"{name}: no '{BEGIN}' block, so there is nothing for a student to write")
    exercise.metadata["unet_course"] = {"generated_from": f"solutions/{name}",
                                        "regenerate_with": "make exercises"}
    return exercise


def expected_exercises(root: Path = ROOT) -> dict[Path, str]:
    """Map each exercises/ path to the text it should have."""
    result = {}
    for path in sorted((root / "solutions").glob("*.ipynb")):
        solution = nbformat.read(path, as_version=4)
        text = nbformat.writes(make_exercise(solution, path.name)) + "\n"
        result[root / "exercises" / path.name] = text
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale exercises")
    args = parser.parse_args(argv)
    expected = expected_exercises()
    stale = [p for p, text in expected.items() if not p.exists() or p.read_text() != text]
    extra = [p for p in (ROOT / "exercises").glob("*.ipynb") if p not in expected]
    if args.check:
        for p in stale:
            print(f"out of date: {p.relative_to(ROOT)} (run `make exercises`)")
        for p in extra:
            print(f"no solution for: {p.relative_to(ROOT)}")
        if not stale and not extra:
            print(f"exercises/ is up to date with solutions/ ({len(expected)} notebooks)")
        return 1 if stale or extra else 0
    for p in stale:
        p.write_text(expected[p])
        print(f"wrote {p.relative_to(ROOT)}")
    for p in extra:
        p.unlink()
        print(f"removed {p.relative_to(ROOT)} (its solution is gone)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
