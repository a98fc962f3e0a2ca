"""What the three commands (``python -m unet_course.train``, ``.predict``, ``.evaluate``) share:
an argument parser whose errors are one line on stderr and exit status 2, no usage block and
no traceback, so a researcher reads the reason at once."""
from __future__ import annotations

import argparse
import sys

__all__ = ["Parser"]


class Parser(argparse.ArgumentParser):
    """argparse.ArgumentParser; a bad option prints ``error: <reason>`` and exits with status 2."""

    def error(self, message):
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)
