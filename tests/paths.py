"""Where the checkout under test lives: the working directory of tests that run the project's commands there."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
