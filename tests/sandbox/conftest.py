"""The sandbox's tests: a real Chromium (Debian's package, installed here when missing, as PostgreSQL is)
driven by Playwright for Python pointed at it; skipped, with the reason, only when it cannot run."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.apt import apt_install

CHROMIUM = ("chromium", "chromium-browser")
# Debian's packages: the browser, and a colour emoji font so 🔄 and ⬅️ show as they do for people.
PACKAGES = ["chromium", "fonts-noto-color-emoji"]
# Flags a headless Chromium needs on a machine with no network and no display (see the project's notes).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _find_chromium() -> Path | None:
    found = next((shutil.which(name) for name in CHROMIUM if shutil.which(name)), None)
    return Path(found) if found else None


@pytest.fixture(scope="session")
def chromium() -> Path:
    path = _find_chromium()
    if path is None and os.geteuid() == 0 and shutil.which("apt-get"):
        with contextlib.suppress(subprocess.CalledProcessError):  # then skipped below, with the reason
            apt_install(*PACKAGES)
        path = _find_chromium()
    if path is None:
        pytest.skip("Chromium is not installed and cannot be installed here (apt-get install chromium, as root)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        pytest.skip("Playwright for Python is not installed (pip install playwright; the dev extra has it)")
    return path
