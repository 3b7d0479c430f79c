"""The version of the installed `imagine-bot` distribution, for the commands' `--version`."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "imagine-bot"


def installed_version() -> str:
    """Read from the install's metadata, so it is the version pyproject.toml gave the build. A checkout that was
    put on sys.path without `pip install` has no metadata; that must not stop the command itself."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown (not installed: run `pip install .` to record the version)"
