"""Sphinx configuration of the course website (`make site`; sphinx-build -c site . build/site).

The source folder is the repository root: README.md (the landing page), the lessons in
notebooks/, RESULTS.md, ARCHITECTURE.md and CONTRIBUTING.md are read in place, so the site has no second
copy of any text. site/exercises.md gets its list of exercises at build time.

SITE_EXECUTE=all (default) executes every lesson once through jupyter-cache (build/site-cache:
an unchanged lesson is not executed again); fast executes lessons 00-03 only and shows the others
without outputs, marked so; off executes none. build/site/executed.json says what was executed.
"""
import glob
import hashlib
import html
import json
import os
import re
import shutil
from pathlib import Path

from docutils import nodes

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"

# Where the course lives: the launch buttons (Binder, Colab) and exercise links point here.
REPOSITORY = "https://github.com/unet-course/unet-course"
BRANCH = "main"
BINDER = "https://mybinder.org"
COLAB = "https://colab.research.google.com"

EXECUTE = os.environ.get("SITE_EXECUTE", "all")
if EXECUTE not in ("all", "fast", "off"):
    raise ValueError(f"SITE_EXECUTE must be all, fast or off, got {EXECUTE!r}")
FAST = ("00", "01", "02", "03")           # the lessons SITE_EXECUTE=fast executes

# The kernels that execute the lessons inherit this environment.
os.environ["UNET_COURSE_STATIC_WIDGETS"] = "1"          # a widget draws once (unet_course.widgets)
os.environ.pop("MPLBACKEND", None)                      # inline figures, not Agg
os.environ.setdefault("OMP_NUM_THREADS", "2")
_shared_isbi = ROOT.parent / "shared" / "data" / "isbi2012"   # the offline copy, as conftest.py
if _shared_isbi.is_dir():
    os.environ.setdefault("UNET_COURSE_ISBI2012", str(_shared_isbi))


def _environment_hash() -> str:
    """The package and the pins the outputs depend on: a change starts a fresh cache."""
    digest = hashlib.sha256()
    files = sorted(glob.glob(str(ROOT / "unet_course" / "**" / "*.py"), recursive=True))
    for name in files + [str(ROOT / f) for f in ("requirements.txt", "constraints.txt", "pyproject.toml")]:
        digest.update(Path(name).relative_to(ROOT).as_posix().encode() + Path(name).read_bytes())
    return digest.hexdigest()[:16]


CACHE = BUILD / "site-cache" / _environment_hash()
if CACHE.parent.is_dir():                               # caches of older package versions
    for old in CACHE.parent.iterdir():
        if old != CACHE:
            shutil.rmtree(old, ignore_errors=True)

project = "U-Net, rebuilt piece by piece"
author = "the unet-course authors"
extensions = ["myst_nb"]
root_doc = "README"
include_patterns = ["README.md", "RESULTS.md", "ARCHITECTURE.md", "CONTRIBUTING.md", "notebooks/*.ipynb",
                    "site/exercises.md"]
exclude_patterns = [".*", "build", "data", "runs", "benchmarks", "exercises", "solutions", "tests",
                    "tools", "unet_course", "*.egg-info"]
templates_path = ["_templates"]
html_additional_pages = {"index": "redirect.html"}     # build/site/index.html opens README.html
html_extra_path = [str(BUILD / "site-extra")]          # exercises/*.ipynb, to download
html_theme = "sphinx_book_theme"
html_title = project
html_theme_options = {
    "repository_url": REPOSITORY,
    "repository_branch": BRANCH,
    "path_to_docs": "",
    "use_repository_button": True,
    "launch_buttons": {"binderhub_url": BINDER, "colab_url": COLAB, "notebook_interface": "jupyterlab"},
}
html_context = {"default_mode": "auto"}   # light or dark as the reader's system (unset: a console error)
myst_heading_anchors = 3          # README's #training-headless-the-main-job, as on GitHub
suppress_warnings = ["myst.header"]    # lessons start sections at ## under their # title

nb_execution_mode = "off" if EXECUTE == "off" else "cache"
nb_execution_cache_path = str(CACHE)
nb_execution_excludepatterns = [f"notebooks/{p.name}" for p in sorted((ROOT / "notebooks").glob("*.ipynb"))
                                if EXECUTE == "fast" and p.name[:2] not in FAST]
nb_execution_timeout = 900        # per cell, as nbval's
nb_execution_raise_on_error = True
nb_ipywidgets_js = {}             # no widget JavaScript from a CDN: the static page has no kernel

BADGE = re.compile(r"\[!\[([^\]]*)\]\([^)]*\)\]\(([^)]*)\)")
TOCTREE = """

```{toctree}
:hidden:
:caption: Lessons
:glob:
notebooks/*
```

```{toctree}
:hidden:
:caption: More
site/exercises
RESULTS
ARCHITECTURE
CONTRIBUTING
```
"""


def _exercise(lesson: str) -> str | None:
    """exercises/NN_name.ipynb for the lesson notebooks/NN_*.ipynb, or None."""
    found = sorted((ROOT / "exercises").glob(Path(lesson).name[:3] + "*.ipynb"))
    return f"exercises/{found[0].name}" if found else None


def _open_links(path: str) -> dict:
    return {"Binder": f"{BINDER}/v2/gh/{REPOSITORY.removeprefix('https://github.com/')}/{BRANCH}"
                      f"?urlpath=lab/tree/{path}",
            "Colab": f"{COLAB}/github/{REPOSITORY.removeprefix('https://github.com/')}/blob/{BRANCH}/{path}",
            "GitHub": f"{REPOSITORY}/blob/{BRANCH}/{path}"}


def _exercise_list() -> str:
    """An HTML table (MyST would take a link to an .ipynb for a page of the site)."""
    rows = []
    for path in sorted((ROOT / "exercises").glob("*.ipynb")):
        title = "".join(json.loads(path.read_text())["cells"][0]["source"]).splitlines()[0].lstrip("# ")
        links = [("download", f"../exercises/{path.name}"), *_open_links(f"exercises/{path.name}").items()]
        links = " · ".join(f'<a href="{html.escape(url)}">{text}</a>' for text, url in links)
        rows.append(f"<tr><td>{path.name[:2]}</td><td>{html.escape(title)}</td><td>{links}</td></tr>")
    return ('\n\n<table class="table course-exercises">\n<thead><tr><th>#</th><th>exercise</th>'
            "<th>open it</th></tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>\n")


def source_read(app, docname, source):
    if docname == "README":
        # The badges are images on other hosts: the site shows them as plain links (no request
        # leaves the site), and each lesson page has its own launch buttons.
        source[0] = BADGE.sub(r"[\1](\2)", source[0]) + TOCTREE
    elif docname == "site/exercises":
        source[0] += _exercise_list()


def _paragraph(*parts) -> nodes.paragraph:
    """A paragraph of text (str), inline nodes and links ((text, url) pairs)."""
    para = nodes.paragraph()
    for part in parts:
        if isinstance(part, tuple):
            part = nodes.reference(part[0], part[0], refuri=part[1])
        para += nodes.Text(part) if isinstance(part, str) else part
    return para


def doctree_read(app, doctree):
    """On a lesson page: a link to its exercise, and a note when this build did not execute it."""
    docname = app.env.docname
    if not docname.startswith("notebooks/"):
        return
    from myst_nb.sphinx_ import NbMetadataCollector
    section = doctree.next_node(nodes.section)
    notes = []
    exercise = _exercise(docname)
    if exercise:
        links = [("download", f"../{exercise}")] + list(_open_links(exercise).items())
        box = nodes.admonition(classes=["tip", "course-exercise"])
        box += nodes.title(text="Exercise")
        box += _paragraph("Exercise for this lesson: ", nodes.literal(text=exercise), " (",
                          *[p for k, link in enumerate(links) for p in ([", "] if k else []) + [link]], ")")
        notes.append(box)
    if not NbMetadataCollector.get_exec_data(app.env, docname):
        box = nodes.admonition(classes=["warning", "course-not-executed"])
        box += nodes.title(text="Not executed in this build")
        box += _paragraph(f"This build (SITE_EXECUTE={EXECUTE}) shows the lesson without running it: "
                          "no outputs, no figures. ", nodes.literal(text="make site"),
                          " builds every lesson with its outputs.")
        notes.append(box)
    for k, note in enumerate(notes):
        section.insert(1 + k, note)


def copy_exercises(app, config):
    """The exercises (never the solutions) as files to download from the site (html_extra_path)."""
    extra = BUILD / "site-extra" / "exercises"
    shutil.rmtree(extra, ignore_errors=True)
    extra.mkdir(parents=True)
    for path in (ROOT / "exercises").glob("*.ipynb"):
        shutil.copy(path, extra / path.name)


def build_finished(app, exception):
    """build/site/executed.json: per lesson, whether this build executed it (tests/test_site.py
    counts its figures in the jupyter-cache named here)."""
    if exception is not None:
        return
    from myst_nb.sphinx_ import NbMetadataCollector
    lessons = []
    for docname in sorted(d for d in app.env.found_docs if d.startswith("notebooks/")):
        data = NbMetadataCollector.get_exec_data(app.env, docname) or {}
        lessons.append({"notebook": f"{docname}.ipynb", "page": f"{docname}.html",
                        "executed": bool(data.get("succeeded")), "runtime_s": data.get("runtime"),
                        "exercise": _exercise(docname)})
    report = {"SITE_EXECUTE": EXECUTE, "repository": REPOSITORY, "branch": BRANCH,
              "cache": CACHE.relative_to(ROOT).as_posix(), "lessons": lessons}
    (Path(app.outdir) / "executed.json").write_text(json.dumps(report, indent=1) + "\n")


def setup(app):
    app.connect("config-inited", copy_exercises, priority=100)   # before Sphinx checks the path
    app.connect("source-read", source_read)
    # the pages that source_read extends from other files: read them again on every build
    app.connect("env-get-outdated", lambda app, env, added, changed, removed: ["README", "site/exercises"])
    app.connect("doctree-read", doctree_read)
    app.connect("build-finished", build_finished)
