"""The course website (`make site`) as a reader sees it: every page of build/site in a real
headless Chromium, served over http from 127.0.0.1.

Every page loads without console errors or failed requests, asks for nothing outside localhost
(such a request is blocked and reported, so none leaves the machine), shows no broken image, links
to no solution, and every internal link and #anchor resolves. Every lesson page has launch buttons
(Binder, Colab) that open that very notebook and a link to its exercise (exercises/NN_*.ipynb for
lesson NN); an executed lesson shows at least as many images as its execution drew figures
(image/png outputs of its execution in the jupyter-cache); a lesson the build did not
execute (SITE_EXECUTE=fast) says so. The test_check_* tests run the same checks on fixture pages
(a broken link, a console error, a foreign request, a wrong launch button...), so each can fail.

Run it with `make test-site` (builds with SITE_EXECUTE=fast, sets UNET_COURSE_SITE_TEST=1); the
browser is found as in tests/test_browser.py. The checks on fixture pages that need no browser run
in every `pytest`.
"""
import functools
import html
import json
import os
import re
import threading
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from test_browser import CHROMIUM, chromium_context

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(os.environ.get("UNET_COURSE_SITE", ROOT / "build" / "site"))
PAGES = sorted(p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html")
               if not p.relative_to(SITE).parts[0].startswith("_")) if SITE.is_dir() else []
LOCAL_HOSTS = {"127.0.0.1", "localhost"}

browser_test = pytest.mark.skipif(os.environ.get("UNET_COURSE_SITE_TEST") != "1",
                                  reason="real-browser test of the website: run it with `make test-site`")


# ---- checks on what a page shows (no browser needed: they take what the browser read) ----

@functools.lru_cache(maxsize=None)
def _anchors(path: Path) -> frozenset:
    text = path.read_text(errors="replace")
    return frozenset(html.unescape(a) for a in re.findall(r'\b(?:id|name)="([^"]+)"', text))


def link_problems(root: Path, base_url: str, hrefs: list) -> list:
    """Internal links (absolute URLs under base_url) whose file or #anchor is not in `root`."""
    problems = []
    for href in sorted(set(hrefs)):
        if not href.startswith(base_url + "/"):
            continue                                          # another site: not fetched here
        parts = urlsplit(href)
        path = root / unquote(parts.path.lstrip("/"))
        if parts.path.endswith("/"):
            path = path / "index.html"
        if not path.is_file():
            problems.append(f"broken link: {href}")
        elif parts.fragment and path.suffix == ".html" and unquote(parts.fragment) not in _anchors(path):
            problems.append(f"broken anchor: {href}")
    return problems


def launch_urls(repository: str, branch: str, notebook: str) -> dict:
    """The Binder and Colab URLs that open `notebook` (a path in the repository)."""
    repo = repository.removeprefix("https://github.com/")
    return {"Binder": f"https://mybinder.org/v2/gh/{repo}/{branch}?urlpath=lab/tree/{notebook}",
            "Colab": f"https://colab.research.google.com/github/{repo}/blob/{branch}/{notebook}"}


def lesson_problems(shown: dict, lesson: dict, report: dict, figures: int | None) -> list:
    """What a lesson page must show. `shown`: hrefs, output_images, text (read by the browser);
    `lesson`: its entry in executed.json; figures: image/png outputs of its execution."""
    problems = []
    notebook, number = lesson["notebook"], Path(lesson["notebook"]).name[:2]
    own = launch_urls(report["repository"], report["branch"], notebook)
    for name, url in own.items():
        if url not in shown["hrefs"]:
            problems.append(f"no {name} launch button for {notebook}")
    exercise = lesson.get("exercise") or ""
    if not re.fullmatch(rf"exercises/{number}_\w+\.ipynb", exercise) or not (ROOT / exercise).is_file():
        problems.append(f"lesson {number}: its exercise should be an existing exercises/{number}_*.ipynb, "
                        f"executed.json says {exercise!r}")
    elif not any(h.endswith("/" + exercise) for h in shown["hrefs"] if h.startswith("http://")):
        problems.append(f"no link to download {exercise}")
    allowed = set(own.values()) | set(launch_urls(report["repository"], report["branch"], exercise).values())
    for href in shown["hrefs"]:
        if re.match(r"https://(mybinder\.org|colab\.research\.google\.com)/", href) and href not in allowed:
            problems.append(f"a launch link to another notebook: {href}")
    if lesson["executed"]:
        if not figures:
            problems.append(f"{notebook} was executed but its execution drew no figure")
        elif shown["output_images"] < figures:
            problems.append(f"{shown['output_images']} images shown, the lesson drew {figures} figures")
    elif "Not executed in this build" not in shown["text"]:
        problems.append("a lesson this build did not execute does not say so")
    return problems


def figures_drawn(notebook: Path, cache: Path) -> int | None:
    """image/png outputs of the lesson's execution, read from its jupyter-cache record (None: none)."""
    import nbformat
    from jupyter_cache import get_cache
    try:
        record = get_cache(cache).match_cache_notebook(nbformat.read(notebook, as_version=4))
    except KeyError:
        return None
    cells = get_cache(cache).get_cache_bundle(record.pk).nb.cells
    return sum("image/png" in o.get("data", {}) for c in cells for o in c.get("outputs", []))


# ---- the browser ----

class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextmanager
def serve(root: Path):
    """An http server for `root` on 127.0.0.1 (a free port); yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (make test-site)")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium, or set CHROMIUM "
                    "(tests/test_browser.py says how)")
    with chromium_context(sync_api, {"width": 1300, "height": 900}) as context:
        yield context


def load(context, base_url: str, root: Path, page_path: str) -> tuple:
    """Open one page; return (problems, shown) where shown = hrefs, output_images and text."""
    problems, page = [], context.new_page()

    def route(r):
        url = r.request.url
        if urlsplit(url).hostname in LOCAL_HOSTS:
            r.continue_()
        else:
            problems.append(f"request outside localhost (blocked): {url}")
            r.abort()

    page.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
    page.route("**/*", route)
    try:
        response = page.goto(f"{base_url}/{page_path}", wait_until="load")
        page.wait_for_load_state("networkidle")
        if response is None or not response.ok:
            problems.append(f"{page_path} did not load")
        shown = {
            "hrefs": page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"),
            "output_images": page.eval_on_selector_all(
                ".cell_output img", "els => els.filter(e => e.complete && e.naturalWidth > 0).length"),
            "text": page.inner_text("body"),
        }
        for src in page.eval_on_selector_all("img", "els => els.filter(e => !e.complete || "
                                             "e.naturalWidth === 0).map(e => e.src)"):
            problems.append(f"broken image: {src}")
    finally:
        page.close()
    problems += link_problems(root, base_url, shown["hrefs"])
    problems += [f"a link to a solution: {h}" for h in shown["hrefs"] if re.search(r"solutions/[^/]*\.ipynb", h)]
    return problems, shown


@pytest.fixture(scope="module")
def site():
    if not (SITE / "executed.json").is_file():
        pytest.skip(f"no built site in {SITE}: run `make site` or `make test-site`")
    with serve(SITE) as base_url:
        yield base_url


def _report() -> dict:
    return json.loads((SITE / "executed.json").read_text())


# ---- the site ----

@browser_test
def test_the_site_has_every_page(site):
    report = _report()
    lessons = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert [entry["notebook"] for entry in report["lessons"]] == lessons
    wanted = {"index.html", "README.html", "RESULTS.html", "ARCHITECTURE.html", "CONTRIBUTING.html", "site/exercises.html",
              *(entry["page"] for entry in report["lessons"])}
    assert wanted <= set(PAGES), f"missing pages: {wanted - set(PAGES)}"
    if report["SITE_EXECUTE"] == "all":
        assert all(entry["executed"] for entry in report["lessons"])


@browser_test
@pytest.mark.parametrize("page_path", PAGES)
def test_page(browser, site, page_path):
    problems, shown = load(browser, site, SITE, page_path)
    lesson = {entry["page"]: entry for entry in _report()["lessons"]}.get(page_path)
    if lesson:
        report = _report()
        figures = figures_drawn(ROOT / lesson["notebook"], ROOT / report["cache"]) if lesson["executed"] else None
        problems += lesson_problems(shown, lesson, report, figures)
    assert not problems, f"{page_path}:\n" + "\n".join(problems)


# ---- the checks fail where they should ----

REPORT = {"repository": "https://github.com/unet-course/unet-course", "branch": "main"}
LESSON = {"notebook": "notebooks/05_weight_map.ipynb", "page": "notebooks/05_weight_map.html",
          "executed": True, "exercise": "exercises/05_border_weights.ipynb"}


def _shown(**changes) -> dict:
    urls = launch_urls(REPORT["repository"], REPORT["branch"], LESSON["notebook"])
    shown = {"hrefs": [*urls.values(), "http://127.0.0.1:1/exercises/05_border_weights.ipynb"],
             "output_images": 3, "text": "Lesson 05"}
    return {**shown, **changes}


def test_check_passes_a_good_lesson_page():
    assert lesson_problems(_shown(), LESSON, REPORT, figures=3) == []


def test_check_fails_on_missing_figures_launch_buttons_and_exercise():
    assert "1 images shown, the lesson drew 3 figures" in lesson_problems(_shown(output_images=1), LESSON, REPORT, 3)
    other = launch_urls(REPORT["repository"], REPORT["branch"], "notebooks/04_he_initialisation.ipynb")
    problems = lesson_problems(_shown(hrefs=list(other.values())), LESSON, REPORT, 3)
    assert "no Binder launch button for notebooks/05_weight_map.ipynb" in problems
    assert "no Colab launch button for notebooks/05_weight_map.ipynb" in problems
    assert "no link to download exercises/05_border_weights.ipynb" in problems
    assert any(p.startswith("a launch link to another notebook: https://mybinder.org") for p in problems)
    wrong = {**LESSON, "exercise": "exercises/04_fan_in.ipynb"}
    assert any("should be an existing exercises/05_*.ipynb" in p for p in lesson_problems(_shown(), wrong, REPORT, 3))
    assert lesson_problems(_shown(), {**LESSON, "executed": False}, REPORT, None) == [
        "a lesson this build did not execute does not say so"]


def test_check_finds_broken_links_and_anchors(tmp_path):
    (tmp_path / "a.html").write_text('<h1 id="top">A</h1><a href="b.html#here">b</a>')
    (tmp_path / "b.html").write_text('<section id="here">B</section>')
    base = "http://127.0.0.1:8"
    hrefs = [f"{base}/b.html#here", f"{base}/a.html#top", "https://example.org/x", f"{base}/missing.html",
             f"{base}/b.html#nowhere"]
    assert sorted(link_problems(tmp_path, base, hrefs)) == [f"broken anchor: {base}/b.html#nowhere",
                                                            f"broken link: {base}/missing.html"]


@browser_test
def test_check_fails_on_a_bad_page(browser, tmp_path):
    """A page with a broken link, a broken anchor, a console error, a foreign image, a missing
    image and a link to a solution: the browser check reports each one."""
    (tmp_path / "good.html").write_text('<!DOCTYPE html><title>good</title><p id="here">fine</p>')
    (tmp_path / "bad.html").write_text(
        '<!DOCTYPE html><title>bad</title><a href="missing.html">a</a> <a href="good.html#nowhere">b</a>'
        ' <a href="good.html#here">c</a> <a href="solutions/05_border_weights.ipynb">d</a>'
        '<img src="https://example.invalid/badge.svg"><img src="no-such.png">'
        '<script>console.error("something broke")</script>')
    with serve(tmp_path) as base:
        assert load(browser, base, tmp_path, "good.html")[0] == []
        problems = "\n".join(load(browser, base, tmp_path, "bad.html")[0])
    for expected in (f"broken link: {base}/missing.html", f"broken anchor: {base}/good.html#nowhere",
                     "console error: something broke",
                     "request outside localhost (blocked): https://example.invalid/badge.svg",
                     f"HTTP 404: {base}/no-such.png", f"broken image: {base}/no-such.png",
                     "a link to a solution"):
        assert expected in problems, problems
    assert "good.html#here" not in problems
