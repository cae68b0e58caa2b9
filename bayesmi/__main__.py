"""``python -m bayesmi``: the command line (see :mod:`bayesmi.cli`)."""

import sys

from bayesmi.cli import main

if __name__ == "__main__":
    sys.exit(main())
