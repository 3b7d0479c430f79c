"""Installing a Debian package a test needs (PostgreSQL, Chromium), as root, once at a time: pytest's two
workers may both reach for apt-get, and dpkg takes one client at a time."""

from __future__ import annotations

import fcntl
import os
import subprocess
from pathlib import Path

LOCK = Path("/tmp/imagine-bot-tests-apt.lock")


def apt_install(*packages: str) -> None:
    """apt-get install, after an apt-get update when the first try fails. CalledProcessError when both fail."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update"], env=env, capture_output=True, check=True)
            subprocess.run(install, env=env, capture_output=True, check=True)
