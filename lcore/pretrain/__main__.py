"""``python -m lcore.pretrain ...``: the same as ``lcore pretrain ...``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
