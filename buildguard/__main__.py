"""``python -m buildguard`` runs the command line, as the ``buildguard`` command does."""

import sys

from buildguard._cli import main

if __name__ == "__main__":
    sys.exit(main())
