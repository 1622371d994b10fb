"""``python -m chatconduit``: the same command as the ``chatconduit`` script."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
