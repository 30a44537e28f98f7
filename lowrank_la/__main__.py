"""``python -m lowrank_la``: see ``python -m lowrank_la --help``."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
