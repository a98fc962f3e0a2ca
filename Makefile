# The course in two commands: `make lab` (set up + open JupyterLab) and `make test` (set up +
# run every test, as CI does). Both create .venv on first use and reinstall only when the
# requirement files change.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# JupyterLab refuses to run as root without this flag (containers, these course machines).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
# Two pytest workers on a 2-core laptop; each notebook stays on one worker (--dist loadfile).
WORKERS ?= 2
# Extra pip options, e.g. PIP_EXTRA="--extra-index-url https://download.pytorch.org/whl/cpu"
# for PyTorch's CPU wheels on a machine without a GPU.
PIP_EXTRA ?=

.PHONY: setup lab train course-model test test-fast test-browser site test-site exercises strip bench results clean help

help:
	@echo "make setup      create .venv and install the course, without opening JupyterLab"
	@echo "make lab        set up .venv and open the course in JupyterLab"
	@echo "make train      set up .venv and run the headless main job: train on synthetic cells (3 min)"
	@echo "make course-model  train (once) the small model lessons 08-10 share; later: load it"
	@echo "make test       set up .venv and run all tests (unit tests + every notebook with nbval)"
	@echo "make test-fast  unit tests only"
	@echo "make test-browser  every lesson in JupyterLab in headless Chromium (needs chromium)"
	@echo "make site       the course as a website in build/site (every lesson executed, cached)"
	@echo "make test-site  build the site (lessons 00-03 executed) and check every page in headless Chromium"
	@echo "make exercises  regenerate exercises/ from solutions/; keeps (and names) any you filled in"
	@echo "                (make exercises FORCE=1 overwrites those too, saving a .bak copy of each)"
	@echo "make strip      remove outputs from lessons and solutions, then make exercises"
	@echo "make bench      run the speed benchmarks in benchmarks/"
	@echo "make results    regenerate RESULTS.md from benchmarks/results/*.csv"

$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(PIP_EXTRA) --no-binary elasticdeform -r requirements-dev.txt -c constraints.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

setup: $(STAMP)

train: setup
	$(BIN)/python -m unet_course.train --out runs/unet $(TRAIN_ARGS)

lab: setup
	$(BIN)/jupyter lab --notebook-dir=. $(ROOT_FLAG) notebooks/00_the_task_and_the_data.ipynb

# The course model of lessons 08-10 (unet_course.train.course_model), trained once into
# $$UNET_COURSE_CACHE (default ~/.cache/unet_course) with its progress and time in the log;
# when it is cached, this only says where it is.
course-model: setup
	$(BIN)/python -c "from unet_course.train import course_model; course_model()"

# `make test` and `make test-browser` train the course model BEFORE any test needs it, so no
# lesson waits on it however slow the CPU. Without UNET_COURSE_CACHE they use a fresh temporary
# cache (removed afterwards), so a test run never loads a model trained by older code.
WITH_COURSE_MODEL = given="$${UNET_COURSE_CACHE:-}"; cache="$${given:-$$(mktemp -d)}"; \
	trap '[ -n "$$given" ] || rm -rf "$$cache"' EXIT; export UNET_COURSE_CACHE="$$cache"; \
	$(MAKE) --no-print-directory course-model &&

test: setup
	$(BIN)/python tools/make_exercises.py --check
	@$(WITH_COURSE_MODEL) $(BIN)/python -m pytest --nbval -n $(WORKERS) --dist loadfile -q --durations=15

test-fast: setup
	$(BIN)/python -m pytest tests -q -m "not slow"

# Run All of every lesson in JupyterLab in a real headless Chromium (tests/test_browser.py).
# Installs Playwright (requirements-browser.txt, not part of `make test`); the browser is the
# system's Chromium (Debian: apt-get install chromium) or $$CHROMIUM. Two lessons at a time
# (one JupyterLab + Chromium per worker, kernels on one thread each): both cores stay busy
# while a browser waits; worksteal hands the long lessons (07-10) to whichever worker is free.
test-browser: setup
	$(BIN)/python -m pip install -q -r requirements-browser.txt -c constraints.txt
	@$(WITH_COURSE_MODEL) UNET_COURSE_BROWSER_TEST=1 $(BIN)/python -m pytest tests/test_browser.py \
		-q -p no:randomly -n $(WORKERS) --dist worksteal

# Never overwrites an exercise a student changed (tools/make_exercises.py); FORCE=1 does, after a .bak copy.
exercises: setup
	$(BIN)/python tools/make_exercises.py $(if $(filter 1 yes true,$(FORCE)),--force)

strip: setup
	$(BIN)/python tools/make_exercises.py --strip $(if $(filter 1 yes true,$(FORCE)),--force)

bench: setup
	$(BIN)/python -m pip install -q --no-binary elasticdeform -r benchmarks/requirements.txt
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# RESULTS.md, the one page of measurements, from benchmarks/results/*.csv (tests/test_results_page.py
# checks that it is up to date). Needs only the standard library.
results:
	$(PYTHON) tools/results_page.py

# The course as a website (site/conf.py): SITE_EXECUTE=all executes every lesson (jupyter-cache in
# build/site-cache: an unchanged lesson is not executed again), fast lessons 00-03, off none.
SITE_EXECUTE ?= all
SITE_TEST_EXECUTE ?= fast
SITE_STAMP := $(VENV)/.site-installed

$(SITE_STAMP): $(STAMP) requirements-site.txt
	$(BIN)/python -m pip install -q -r requirements-site.txt -c constraints.txt
	touch $@

site: $(SITE_STAMP)
	SITE_EXECUTE=$(SITE_EXECUTE) $(BIN)/sphinx-build -W --keep-going -q -b html -c site \
		-d build/site-doctrees . build/site
	@echo "The site: build/site/index.html (or python -m http.server -d build/site)"

# Every page of the site in headless Chromium (tests/test_site.py); CI builds lessons 00-03 only.
test-site:
	$(MAKE) site SITE_EXECUTE=$(SITE_TEST_EXECUTE)
	$(BIN)/python -m pip install -q -r requirements-browser.txt -c constraints.txt
	UNET_COURSE_SITE_TEST=1 $(BIN)/python -m pytest tests/test_site.py -q -p no:randomly

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
