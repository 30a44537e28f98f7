"""``python -m lowrank_la.experiments NAME``: same as ``python -m lowrank_la reproduce NAME``."""

import sys

from ._cli import main

sys.exit(main())
