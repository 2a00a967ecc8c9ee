"""`python -m local` starts the local platform (see local/server.py)."""

import sys

from local.server import main

sys.exit(main())
