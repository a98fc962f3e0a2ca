"""The package's shape (ARCHITECTURE.md): one idea per module, small files, no import circles,
the package never imports notebooks or checks, and the architecture page names only modules
that exist."""
import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "unet_course"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_LINES = 500  # checks aside (issue: no module over ~500 lines)


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every unet_course module that `path` imports, at any depth of the file (lazy imports count)."""
    here = _name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("unet_course"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if not module.startswith("unet_course"):
                continue
            for alias in node.names:  # `from . import x` may name a submodule
                sub = f"{module}.{alias.name}"
                found.add(sub if (PACKAGE.parent / sub.replace(".", "/")).with_suffix(".py").exists()
                          or (PACKAGE.parent / sub.replace(".", "/")).is_dir() else module)
    return found - {_name(path)}


GRAPH = {_name(p): _imports(p) for p in MODULES}


def _reaches(start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        for nxt in GRAPH.get(node, ()):
            # a package's __init__ re-exporting its own submodules is not a circle
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_no_import_circle(module):
    for imported in GRAPH[module]:
        if module.startswith(imported + "."):  # a submodule importing its own package's __init__
            continue
        parent_init = imported.startswith(module + ".")  # a package re-exporting a submodule
        assert parent_init or not _reaches(imported, module), \
            f"{module} imports {imported}, which imports {module} back"


@pytest.mark.parametrize("path", MODULES, ids=[_name(p) for p in MODULES])
def test_modules_are_small(path):
    if "checks" in path.parts:
        return
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines; split it by idea"


def test_package_never_imports_checks_or_notebooks():
    for module, imported in GRAPH.items():
        if module.startswith("unet_course.checks"):
            continue
        bad = {m for m in imported if m.startswith("unet_course.checks")}
        assert not bad, f"{module} imports the exercise checks {bad}"
    for path in MODULES:
        assert not re.search(r"\.ipynb|import_notebook|nbformat", path.read_text()), \
            f"{path.relative_to(ROOT)} reads notebooks"


def test_architecture_page_names_existing_modules():
    page = (ROOT / "ARCHITECTURE.md").read_text()
    named = set(re.findall(r"`(unet_course(?:/[\w]+)*(?:\.py|/))`", page))
    assert len(named) >= 10, "the architecture page should name the package's modules"
    missing = sorted(n for n in named if not (ROOT / n).exists())
    assert not missing, f"ARCHITECTURE.md names modules that do not exist: {missing}"
    for path in MODULES:  # and every module of the package is on the page
        rel = str(path.relative_to(ROOT))
        if path.name == "__init__.py" or "checks" in path.parts:
            continue
        assert f"`{rel}`" in page, f"ARCHITECTURE.md does not mention {rel}"
    assert "ARCHITECTURE.md" in (ROOT / "README.md").read_text(), "link the page from the README"


def test_the_circle_detector_finds_a_circle(monkeypatch):
    monkeypatch.setitem(globals(), "GRAPH", {"a": {"b"}, "b": {"c"}, "c": {"a"}})
    assert _reaches("b", "a") and not _reaches("a", "d")


def test_imports_are_read_from_relative_and_lazy_imports():
    assert GRAPH["unet_course.augment.hook"] >= {"unet_course.augment.params",
                                                 "unet_course.augment.torch_backend"}
