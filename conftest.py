"""Repo-wide pytest set-up.

- exercises/ hold unfinished student work: `pytest --nbval` must not run them as if they
  should pass (tests/test_exercises.py checks them the right way).
- Tests, CI and the notebooks they execute use the offline ISBI 2012 copy in ../shared when it
  is there (the kernels nbval starts inherit this environment); users download instead.
"""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
collect_ignore = ["exercises", ".venv", "build", "benchmarks"]

_shared_isbi = ROOT.parent / "shared" / "data" / "isbi2012"
if _shared_isbi.is_dir():
    os.environ.setdefault("UNET_COURSE_ISBI2012", str(_shared_isbi))
# Headless plotting for plain tests (kernels use the inline backend).
os.environ.setdefault("MPLBACKEND", "Agg")

# One course_model() cache per test run (unet_course.train.course), made by the controller and
# inherited by every xdist worker and kernel, so lessons 08-10 share ONE model trained once.
# A cache named by the caller is kept (.ci/run names one for `make test` AND `make test-browser`).
if "PYTEST_XDIST_WORKER" not in os.environ and not os.environ.get("UNET_COURSE_CACHE"):
    import atexit
    import shutil
    import tempfile
    os.environ["UNET_COURSE_CACHE"] = _cache = tempfile.mkdtemp(prefix="unet_course_cache_")
    atexit.register(shutil.rmtree, _cache, True)
# Each xdist worker (and the kernels nbval starts from it) gets its share of the cores: torch's
# default threads collapse when two processes share them.
_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _workers > 1:
    _cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, str(max(1, _cores // _workers)))


def retrying(start, tries: int = 3):
    """`start` (nbval's start_new_kernel) tried up to `tries` times: a kernel that dies before
    answering kernel_info is started again. Seen once in CI at a lesson's set-up while two xdist
    workers started kernels at the same moment (jupyter_client picks free TCP ports by binding
    and releasing them, so two processes can pick the same one); a kernel that never starts
    still fails, with the last error."""
    def start_new_kernel(*args, **kwargs):
        for attempt in range(1, tries + 1):
            try:
                return start(*args, **kwargs)
            except RuntimeError as error:  # jupyter_client: "Kernel died before replying to kernel_info"
                if attempt == tries:
                    raise
                print(f"kernel start failed ({error}); starting it again ({attempt + 1}/{tries})",
                      file=sys.stderr)
    start_new_kernel.retries = start
    return start_new_kernel


try:
    import nbval.kernel
except ImportError:  # plain pytest without nbval
    pass
else:
    if not hasattr(nbval.kernel.start_new_kernel, "retries"):  # once, however often loaded
        nbval.kernel.start_new_kernel = retrying(nbval.kernel.start_new_kernel)
