"""Learner-facing checks: `check_xxx(your_function)` prints one plain-words line.

One module per lesson; each exercise notebook imports what it needs from here.
"""
from .core import CheckResult, check_function, describe_difference  # noqa: F401
from .sizes import *  # noqa: F401,F403  (lesson 01)
from .model import *  # noqa: F401,F403  (lessons 02-04)
from .augment import *  # noqa: F401,F403  (lesson 06)
from .data import *  # noqa: F401,F403  (lesson 00)
from .weights import *  # noqa: F401,F403  (lesson 05)
from .after import *  # noqa: F401,F403  (lesson 10)
