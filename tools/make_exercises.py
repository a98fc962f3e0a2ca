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

A student's work is never overwritten (as nbgrader records a checksum of each cell it hands
out, every exercise records `template_sha256`, a checksum of the cells it was generated with):

- an exercise whose cells still match that checksum is ours, and is rewritten when it is out of
  date (outputs a student's run left in it go; no code does);
- one whose cells differ (a student's answers or notes) is KEPT and named; if its template has
  changed since, the command says so and exits 1. `--force` overwrites it after saving a copy
  next to it (exercises/NN_name.ipynb.bak);
- `--check` judges what the repository holds: git's index copy of each exercise (the committed
  one in a fresh clone), so answers filled into the working copy do not fail `make test`. A
  committed copy that holds answers passes when it was generated from today's solutions (its
  checksum), with a note (`--strict`, for the course's own CI, fails it). Without git (a zip
  download) the working copy is judged the same way.

    python tools/make_exercises.py            # regenerate exercises/, keeping a student's work
    python tools/make_exercises.py --force    # overwrite it too (a .bak copy is kept)
    python tools/make_exercises.py --strip    # strip lessons' and solutions' outputs, then regenerate
    python tools/make_exercises.py --check    # exit 1 if the repository's exercises/ is stale
    python tools/make_exercises.py --check --strict  # ... or holds anything but the generated text
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
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


def fingerprint(nb: nbformat.NotebookNode) -> str:
    """Checksum of a notebook's cells (type and source; not outputs, counts or metadata)."""
    cells = [[cell.cell_type, cell.source] for cell in nb.cells]
    return hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode()).hexdigest()


def recorded_template(nb: nbformat.NotebookNode) -> str | None:
    """The checksum of the template an exercise was generated with (None: not one of ours)."""
    return nb.metadata.get("unet_course", {}).get("template_sha256")


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
                                        "regenerate_with": "make exercises",
                                        "template_sha256": fingerprint(exercise)}
    return exercise


def expected_exercises(root: Path = ROOT) -> dict[Path, str]:
    """Map each exercises/ path to the text it should have."""
    result = {}
    for path in sorted((root / "solutions").glob("*.ipynb")):
        solution = nbformat.read(path, as_version=4)
        text = nbformat.writes(make_exercise(solution, path.name)) + "\n"
        result[root / "exercises" / path.name] = text
    return result


def git_copy(path: Path, root: Path = ROOT) -> str | None:
    """Git's index copy of `path` (the committed one unless staged since); None without git,
    outside a work tree or for an untracked file."""
    try:
        found = subprocess.run(["git", "-C", str(root), "show", f":./{path.relative_to(root)}"],
                               capture_output=True, text=True, encoding="utf-8", timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return found.stdout if found.returncode == 0 else None


def in_git(root: Path = ROOT) -> bool:
    try:
        return subprocess.run(["git", "-C", str(root), "rev-parse", "--is-inside-work-tree"],
                              capture_output=True, text=True, timeout=60).stdout.strip() == "true"
    except (OSError, subprocess.SubprocessError):
        return False


def _read(text: str | None):
    if text is None:
        return None
    try:
        return nbformat.reads(text, as_version=4)
    except Exception:  # not a notebook (a broken save): treat as a student's, never overwrite
        return nbformat.v4.new_notebook(metadata={"unet_course": {"template_sha256": "unreadable"}})


def touched(nb: nbformat.NotebookNode, template: nbformat.NotebookNode | None) -> bool:
    """True if the notebook's cells differ from the template it was generated with: by its own
    checksum or, for one made before exercises carried it, from `template` (git's copy)."""
    recorded = recorded_template(nb)
    if recorded is not None:
        return fingerprint(nb) != recorded
    return template is None or fingerprint(nb) != fingerprint(template)


def _write(path: Path, text: str) -> None:
    """Write text to path through a temporary file (never half-written)."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(temp, path)


def _backup(path: Path) -> Path:
    """Copy path to the first free path.bak, path.bak1, ... and return it."""
    number, backup = 0, path.with_name(path.name + ".bak")
    while backup.exists():
        number += 1
        backup = path.with_name(f"{path.name}.bak{number}")
    _write(backup, path.read_text(encoding="utf-8"))
    return backup


def check(root: Path = ROOT, strict: bool = False) -> tuple[list[str], list[str]]:
    """(problems, notes) of exercises/ against solutions/. An exercise that holds a student's
    changes is judged by what the repository holds (git's index copy) or, without git, by the
    template checksum it records; every other exercise by its working copy. `strict` (the
    course's own CI): git's copy must be exactly as generated, answers committed are a problem."""
    expected = expected_exercises(root)
    git = in_git(root)
    problems, notes = [], []
    for path, text in expected.items():
        name, want = path.relative_to(root), nbformat.reads(text, as_version=4)
        working = path.read_text(encoding="utf-8") if path.exists() else None
        if working == text:
            continue
        held = git_copy(path, root) if git else None
        nb = _read(working)
        if working is None:
            problems.append(f"missing: {name} (run `make exercises`)")
        elif touched(nb, _read(held)):  # a student's work: judge the repository's copy
            problems += _judge_students(name, nb, held, text, want, notes, strict)
        elif recorded_template(nb) != recorded_template(want):
            problems.append(f"out of date: {name}: solutions/{path.name} changed since it was "
                            f"generated (run `make exercises`)")
        elif held is not None and held != text:  # outputs or metadata committed
            problems.append(f"out of date: git's copy of {name} differs from what solutions/"
                            f"{path.name} gives (outputs or metadata; run `make exercises`)")
    for path in sorted((root / "exercises").glob("*.ipynb")):
        if path in expected:
            continue
        tracked = git and git_copy(path, root) is not None
        ours = recorded_template(_read(path.read_text(encoding="utf-8"))) is not None
        if tracked or (not git and ours):
            problems.append(f"no solution for: {path.relative_to(root)}")
        else:
            notes.append(f"{path.relative_to(root)} is not an exercise of the course (left alone)")
    return problems, notes


def _judge_students(name, nb, held, text, want, notes, strict=False) -> list[str]:
    """Problems of an exercise whose working copy holds a student's changes (notes: what was
    judged instead)."""
    if held == text:
        notes.append(f"{name} holds your changes (not checked); the repository's copy is up to date")
        return []
    judged, where = (nb, "") if held is None else (_read(held), "git's copy of ")
    if strict and held is not None:
        return [f"{where}{name} is not what solutions/{name.name} gives (answers or hand edits "
                f"committed?): the course's repository holds exercises exactly as generated; "
                f"`make exercises FORCE=1` regenerates it (after a .bak copy)"]
    if recorded_template(judged) == recorded_template(want):
        notes.append(f"{where}{name} holds changes to its template (a student's answers?); it was "
                     f"generated from today's solutions/{name.name}")
        return []
    return [f"out of date: {where}{name}: solutions/{name.name} changed since it was generated "
            f"(your copy holds changes and is kept: see `make exercises`)"]


def regenerate(root: Path = ROOT, force: bool = False) -> int:
    """Write every out-of-date exercise; keep (or with force back up and overwrite) a student's."""
    expected = expected_exercises(root)
    refused = []
    for path, text in expected.items():
        name = path.relative_to(root)
        if not path.exists():
            _write(path, text)
            print(f"wrote {name}")
            continue
        current = path.read_text(encoding="utf-8")
        if current == text:
            continue
        nb, want = _read(current), nbformat.reads(text, as_version=4)
        if not touched(nb, _read(git_copy(path, root))):
            _write(path, text)
            print(f"wrote {name}")
        elif force:
            backup = _backup(path)
            _write(path, text)
            print(f"overwrote {name}, which held changes to its template (your answers?); "
                  f"they are saved in {backup.relative_to(root)}")
        elif recorded_template(nb) == recorded_template(want):
            print(f"kept {name}: it holds your changes (its template, solutions/{path.name}, "
                  f"has not changed)")
        else:
            refused.append(name)
            print(f"NOT updated {name}: it holds changes to its template (your answers?) and "
                  f"solutions/{path.name} has changed since. Keep working in it, or move it "
                  f"aside and run `make exercises` again for the new version, or overwrite it "
                  f"with `make exercises FORCE=1` (saves a .bak copy of it first)")
    for path in sorted((root / "exercises").glob("*.ipynb")):
        if path in expected:
            continue
        nb = _read(path.read_text(encoding="utf-8"))
        if recorded_template(nb) is not None and (force or not touched(nb, None)):
            kept = f"; its changes are saved in {_backup(path).relative_to(root)}" \
                if touched(nb, None) else ""
            path.unlink()
            print(f"removed {path.relative_to(root)} (its solution is gone){kept}")
        else:
            print(f"left {path.relative_to(root)} alone: no solution makes it, and it is not an "
                  f"untouched exercise of ours")
    if refused:
        print(f"{len(refused)} exercise(s) kept as they are, not regenerated: "
              f"{', '.join(map(str, refused))}")
    return 1 if refused else 0


def strip(root: Path = ROOT) -> None:
    """Remove outputs (and jupytext metadata) from every lesson and solution with nbstripout,
    keeping cell ids.
    Exercises are left to `regenerate`, which rewrites only those that hold no student's work."""
    files = sorted(str(p) for folder in ("notebooks", "solutions") for p in (root / folder).glob("*.ipynb"))
    subprocess.run([sys.executable, "-m", "nbstripout", "--keep-id", "--extra-keys",
                    "metadata.jupytext", *files], check=True)
    print(f"stripped the outputs of {len(files)} lessons and solutions")


def main(argv=None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="only report exercises that are out of date in the repository")
    parser.add_argument("--strict", action="store_true",
                        help="with --check: git's copy must be exactly as generated (the course's CI)")
    parser.add_argument("--force", action="store_true",
                        help="also overwrite exercises that hold a student's changes (a .bak copy is kept)")
    parser.add_argument("--strip", action="store_true",
                        help="first strip the outputs of notebooks/ and solutions/ (make strip)")
    parser.add_argument("--root", type=Path, default=root, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.check:
        problems, notes = check(root, args.strict)
        for line in notes + problems:
            print(line)
        if not problems:
            print(f"exercises/ is up to date with solutions/ "
                  f"({len(list((root / 'solutions').glob('*.ipynb')))} notebooks)")
        return 1 if problems else 0
    if args.strip:
        strip(root)
    return regenerate(root, args.force)


if __name__ == "__main__":
    sys.exit(main())
