"""``python -m buildguard._cli`` runs the command line."""

import sys

from buildguard._cli import main

sys.exit(main())
