"""Every lesson as a student sees it: JupyterLab in a real (headless) Chromium, Run All.

For each notebooks/*.ipynb (picked up automatically; SKIP below names a lesson left out, with
the reason) the test opens the lesson, runs all cells from the Run menu, waits until every code
cell has run and the kernel is idle, and checks that
- no cell shows an error (a traceback on stderr, or an error output);
- every widget view renders (one per cell that builds one), and no "Error displaying widget";
- moving one control of each widget changes that widget's output;
and saves a screenshot of every widget view in $BROWSER_SCREENSHOTS (default
tests/browser-screenshots/, git-ignored). The fixture notebooks in `test_check_*` prove that the
check fails when a lesson raises or a widget does not render.

Run it with `make test-browser` (it sets UNET_COURSE_BROWSER_TEST=1; plain `make test` skips it,
as it needs a browser). It runs two lessons at a time (pytest-xdist): each worker has its own
JupyterLab and Chromium, and its kernels get that worker's share of the cores. The browser: Debian's `chromium` (`apt-get install chromium`, as
.ci/run does) at /usr/bin/chromium, or $CHROMIUM. On a laptop without it:
`.venv/bin/playwright install chromium` and CHROMIUM=$(.venv/bin/python -c "from
playwright.sync_api import sync_playwright as p; s = p().start(); print(s.chromium.executable_path)").
The lessons run on a copy in a temporary folder, so JupyterLab's autosave never writes outputs
into the repository.
"""
import contextlib
import ctypes
import json
import os
import signal
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SKIP = {}  # {"NN_name.ipynb": "reason"}: a lesson left out of the browser test, and why
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", ROOT / "tests" / "browser-screenshots"))
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync"]
# Hang detectors sized for the slowest CPU we meet (a 2-core CPU without native bfloat16 with
# another process busy), never speed tests: a stuck lesson or widget still fails, just later.
LESSON_TIMEOUT_S = 1200   # Run All of one lesson (the longest states about 2 CPU minutes), shared cores
CHANGE_TIMEOUT_S = 180    # one widget's output after a control moved
CONTROLS = ".widget-slider, .widget-hslider, .widget-dropdown, .widget-toggle-buttons"
WIDGET_CALL = re.compile(r"^[^#\n]*\b(interact_live|interact|interactive|interactive_output)\(", re.M)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("UNET_COURSE_BROWSER_TEST") != "1",
                       reason="real-browser test: run it with `make test-browser`"),
]


def _die_with_parent():
    """In the server's process: get SIGTERM when the test process dies, even if it is killed."""
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)     # PR_SET_PDEATHSIG (Linux)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A JupyterLab server on 127.0.0.1 (random free port, random token) serving `root`."""

    def __init__(self, root: Path, home: Path):
        self.root, self.port, self.token = root, _free_port(), secrets.token_hex(16)
        settings = home / "lab-settings" / "@jupyterlab"
        (settings / "notebook-extension").mkdir(parents=True)
        (settings / "apputils-extension").mkdir(parents=True)
        # every cell in the DOM (no windowing), no news pop-up over the notebook
        (settings / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
            json.dumps({"windowingMode": "none"}))
        (settings / "apputils-extension" / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}   # conftest's Agg: not for kernels
        env.update(JUPYTERLAB_SETTINGS_DIR=str(home / "lab-settings"),
                   JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
                   JUPYTER_RUNTIME_DIR=str(home / "runtime"),
                   # the kernels' share of the cores: conftest.py's per-worker share under xdist
                   OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", str(os.cpu_count() or 1)))
        command = [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser",
                   "--ServerApp.open_browser=False", "--ServerApp.ip=127.0.0.1",
                   f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
                   f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={root}"]
        if os.geteuid() == 0:
            command.append("--allow-root")
        self.log = open(home / "jupyterlab.log", "w")
        self.process = subprocess.Popen(command, cwd=root, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        deadline = time.monotonic() + 120
        while True:
            try:
                self.api("status")
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"JupyterLab did not start; see {home / 'jupyterlab.log'}")
                time.sleep(0.5)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(self.url(f"api/{path}"), method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def kernels_idle(self) -> bool:
        try:
            kernels = self.api("kernels")
        except OSError:          # e.g. a 500 while a kernel is still starting (jupyter_server race)
            return False
        return bool(kernels) and all(k["execution_state"] == "idle" for k in kernels)

    def shutdown_kernels(self):
        for _ in range(20):
            try:
                for kernel in self.api("kernels"):
                    self.api(f"kernels/{kernel['id']}", method="DELETE")
                return
            except OSError:
                time.sleep(1)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab-root")
    home = tmp_path_factory.mktemp("lab-home")
    server = Lab(root, home)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (make test-browser)")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium, or set CHROMIUM (see the docstring)")
    with chromium_context(sync_api, {"width": 1400, "height": 1000},
                          profile=tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@contextlib.contextmanager
def chromium_context(sync_api, viewport: dict, profile: Path | None = None):
    """A headless Chromium (CHROMIUM, CHROMIUM_FLAGS) browser context, closed on exit; with a
    profile folder, a persistent one (tests/test_site.py uses this too)."""
    playwright = sync_api.sync_playwright().start()
    try:
        if profile is not None:   # Playwright wants the (empty) profile folder as user_data_dir
            context = playwright.chromium.launch_persistent_context(
                str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS,
                viewport=viewport)
            close = context.close
        else:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=CHROMIUM_FLAGS)
            context, close = browser.new_context(viewport=viewport), browser.close
        try:
            yield context
        finally:
            close()
    finally:
        playwright.stop()


def expected_widgets(notebook: Path) -> int:
    """Code cells that build a widget view (a call of interact_live / interact / ...)."""
    cells = json.loads(notebook.read_text())["cells"]
    return sum(1 for c in cells if c["cell_type"] == "code" and WIDGET_CALL.search("".join(c["source"])))


def run_all(lab: Lab, page, notebook: Path) -> list:
    """Open a copy of `notebook` in JupyterLab, Run All, wait until idle; return the problems."""
    shutil.copy(notebook, lab.root / notebook.name)
    page.set_default_timeout(60_000)
    # a workspace of its own: JupyterLab must not reopen the lessons opened before
    page.goto(lab.url(f"lab/workspaces/{notebook.stem}-{secrets.token_hex(4)}/tree/{notebook.name}"
                      f"?reset&token={lab.token}"))
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", state="attached")
    deadline = time.monotonic() + 120
    while not lab.kernels_idle():                       # kernel started and ready
        if time.monotonic() > deadline:
            return ["the kernel did not start"]
        time.sleep(0.5)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    code_cells = page.locator(".jp-NotebookPanel .jp-CodeCell").count()
    deadline = time.monotonic() + LESSON_TIMEOUT_S
    settled = 0
    while True:
        prompts = page.locator(".jp-NotebookPanel .jp-CodeCell .jp-InputArea-prompt").all_inner_texts()
        done = [p for p in prompts if re.search(r"\[\d+\]", p)]
        # finished: cells ran, none running or queued ([*]), the kernel idle twice in a row
        # (after an error Run All stops: the cells below keep an empty prompt)
        settled = settled + 1 if done and not any("*" in p for p in prompts) and lab.kernels_idle() else 0
        if settled >= 2:
            break
        if time.monotonic() > deadline:
            page.screenshot(path=str(SCREENSHOTS / f"{notebook.stem}-unfinished.png"))
            return [f"Run All did not finish in {LESSON_TIMEOUT_S} s ({len(done)}/{code_cells} cells ran)"]
        if os.environ.get("BROWSER_TEST_VERBOSE"):
            print(f"{notebook.name}: {len(done)}/{code_cells} cells, kernels {lab.api('kernels')}", flush=True)
        time.sleep(1)
    problems = errors_on(page)
    if len(done) < code_cells:
        problems.append(f"Run All stopped: {len(done)} of {code_cells} code cells ran")
    return problems


def errors_on(page) -> list:
    """Error outputs and tracebacks shown anywhere in the notebook."""
    problems = []
    for text in page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
                             ).all_inner_texts():
        if "Traceback" in text or re.search(r"^\w*(Error|Exception)\b", text, re.M):
            problems.append("error output: " + text.strip()[-600:])
    for text in page.locator(".jp-OutputArea-output").all_inner_texts():
        if "Error displaying widget" in text:
            problems.append("widget error: " + text.strip()[:200])
    return problems


def output_of(view) -> str:
    """What a widget view shows: its output area's HTML (figures are data: URLs, text is text)."""
    output = view.locator(".widget-output")
    return output.first.inner_html() if output.count() else view.inner_html()


def move_one_control(view) -> str:
    """Move the first control of a widget view by one step; say which control it was."""
    slider = view.locator(".widget-slider .noUi-handle, .widget-hslider .noUi-handle")
    if slider.count():
        handle = slider.first
        at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
        handle.focus()
        handle.press("ArrowLeft" if at_max else "ArrowRight")
        return "slider"
    dropdown = view.locator(".widget-dropdown select")
    if dropdown.count():
        options = dropdown.first.locator("option").all_inner_texts()
        current = dropdown.first.input_value()
        dropdown.first.select_option(index=(1 if len(options) > 1 and options[0] == current else 0))
        return "dropdown"
    buttons = view.locator(".widget-toggle-buttons button:not(.mod-active)")
    if buttons.count():
        buttons.first.click()
        return "toggle buttons"
    raise AssertionError("the widget view has no slider, dropdown or toggle buttons to move")


def check_lesson(lab: Lab, browser, notebook: Path, shots: Path, change_timeout=CHANGE_TIMEOUT_S) -> list:
    """Run one notebook in the browser; return the problems found (empty: all good)."""
    page = browser.new_page()
    try:
        problems = run_all(lab, page, notebook)
        # a widget view: a cell output holding controls (interact_live, interact, or a hand-made VBox)
        views = page.locator(".jp-NotebookPanel .jp-OutputArea-output").filter(has=page.locator(CONTROLS))
        expected = expected_widgets(notebook)
        if views.count() < expected:
            problems.append(f"{views.count()} widget views rendered, {expected} expected")
        for k in range(views.count()):
            view = views.nth(k)
            view.scroll_into_view_if_needed()
            before = output_of(view)
            what = move_one_control(view)
            deadline = time.monotonic() + change_timeout
            while output_of(view) == before or not lab.kernels_idle():
                if time.monotonic() > deadline:
                    problems.append(f"widget {k + 1}: moving its {what} did not change its output")
                    break
                time.sleep(0.5)
            time.sleep(0.5)                              # let the new figure finish drawing
            view.screenshot(path=str(shots / f"{notebook.stem}-widget{k + 1}.png"))
        if views.count():
            views.first.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"{notebook.stem}.png"))     # the window at the first widget
        problems += [p for p in errors_on(page) if p not in problems]
    finally:
        page.close()
        lab.shutdown_kernels()
    return problems


@pytest.fixture(scope="module")
def shots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.mark.parametrize("notebook", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_in_browser(lab, browser, shots, notebook):
    if notebook.name in SKIP:
        pytest.skip(SKIP[notebook.name])
    started = time.monotonic()
    problems = check_lesson(lab, browser, notebook, shots)
    print(f"{notebook.name}: {time.monotonic() - started:.0f} s in the browser")
    assert not problems, f"{notebook.name}:\n" + "\n".join(problems)


def _fixture_notebook(path: Path, *sources: str) -> Path:
    cells = [{"cell_type": "code", "execution_count": None, "id": f"c{k}", "metadata": {},
              "outputs": [], "source": s} for k, s in enumerate(sources)]
    path.write_text(json.dumps({"cells": cells, "nbformat": 4, "nbformat_minor": 5, "metadata": {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}}))
    return path


WORKING_WIDGET = ("import ipywidgets as widgets\nfrom unet_course.widgets import interact_live\n"
                  "interact_live(lambda x: print('x =', x), x=widgets.IntSlider(5, 0, 5, description='x'))")
# (the slider starts at its maximum: the check must move it down)


def test_check_passes_a_working_widget(lab, browser, tmp_path):
    assert check_lesson(lab, browser, _fixture_notebook(tmp_path / "fixture_ok.ipynb", WORKING_WIDGET),
                        tmp_path) == []


def test_check_fails_when_a_lesson_raises(lab, browser, tmp_path):
    notebook = _fixture_notebook(tmp_path / "fixture_raises.ipynb", "x = 1",
                                 "raise ValueError('a lesson that breaks')", "y = 2")
    problems = check_lesson(lab, browser, notebook, tmp_path)
    assert any("ValueError: a lesson that breaks" in p for p in problems), problems


def test_check_fails_when_a_widget_does_not_render(lab, browser, tmp_path):
    # A widget view whose model does not exist: JupyterLab cannot render it.
    broken = ("from IPython.display import display\n"
              "def interact_live():\n"
              "    display({'application/vnd.jupyter.widget-view+json': {'model_id': 'no-such-model',\n"
              "             'version_major': 2, 'version_minor': 0}, 'text/plain': 'VBox()'}, raw=True)\n"
              "interact_live()")
    problems = check_lesson(lab, browser, _fixture_notebook(tmp_path / "fixture_broken.ipynb", broken),
                            tmp_path)
    assert any("widget views rendered" in p for p in problems), problems


def test_check_fails_when_a_widget_does_not_respond(lab, browser, tmp_path):
    frozen = ("import ipywidgets as widgets\nfrom unet_course.widgets import interact_live\n"
              "interact_live(lambda x: print('always the same'), x=widgets.IntSlider(1, 0, 5))")
    problems = check_lesson(lab, browser, _fixture_notebook(tmp_path / "fixture_frozen.ipynb", frozen),
                            tmp_path, change_timeout=10)
    assert any("did not change its output" in p for p in problems), problems
