"""Learner-facing checks: `check_xxx(your_function)` prints one plain-words line.

One module per lesson; each exercise notebook imports what it needs from here.
`from unet_course.checks import *` gives the check functions only (`__all__`, assembled below
from the submodules' own `__all__` when it is asked for), never the submodules, so a student's
own `sizes`, `model`, `weights`, `augment` or `data` is not replaced. A new check module needs
only its one import line below.
"""
import sys as _sys


def __getattr__(name):  # PEP 562: computed on use, so import lines added below are included
    if name == "__all__":
        prefix = __name__ + "."
        modules = [m for key, m in list(_sys.modules.items()) if key.startswith(prefix) and key != prefix + "core"]
        return sorted({n for m in modules for n in getattr(m, "__all__", ()) if n.startswith("check_")})
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


from .core import CheckResult, check_function, describe_difference  # noqa: F401
from .sizes import *  # noqa: F401,F403  (lesson 01)
from .model import *  # noqa: F401,F403  (lessons 02-04)
from .augment import *  # noqa: F401,F403  (lesson 06)
from .data import *  # noqa: F401,F403  (lesson 00)
from .weights import *  # noqa: F401,F403  (lesson 05)
from .after import *  # noqa: F401,F403  (lesson 10)
from .train import *  # noqa: F401,F403  (lesson 07)
from .tiling import *  # noqa: F401,F403  (lesson 08)
from .metrics import *  # noqa: F401,F403  (lesson 09)
