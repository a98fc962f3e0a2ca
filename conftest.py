"""Repo-wide pytest set-up.

- exercises/ hold unfinished student work: `pytest --nbval` must not run them as if they
  should pass (tests/test_exercises.py checks them the right way).
- Tests, CI and the notebooks they execute use the offline ISBI 2012 copy in ../shared when it
  is there (the kernels nbval starts inherit this environment); users download instead.
"""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent
collect_ignore = ["exercises", ".venv", "build", "benchmarks"]

_shared_isbi = ROOT.parent / "shared" / "data" / "isbi2012"
if _shared_isbi.is_dir():
    os.environ.setdefault("UNET_COURSE_ISBI2012", str(_shared_isbi))
# Headless plotting for plain tests (kernels use the inline backend).
os.environ.setdefault("MPLBACKEND", "Agg")
