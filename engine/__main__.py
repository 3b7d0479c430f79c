"""`python -m engine` is the `imagine` command."""

import sys

from engine.cli import main

sys.exit(main())
