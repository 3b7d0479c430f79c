"""`bot/` stays easy to read: no import cycle (type-only imports included), features import the container
and the shared helpers but the container never imports a feature, and no database or torch code."""

from __future__ import annotations

import subprocess
import sys

from bot.client import walk_extensions
from tests.import_graph import cycles, import_graph
from tests.paths import REPO_ROOT


def test_bot_has_no_import_cycle() -> None:
    assert cycles(import_graph("bot")) == []


def test_no_shared_module_imports_a_feature() -> None:
    graph = import_graph("bot")
    features = set(walk_extensions())
    for module, imports in graph.items():
        if module not in features:
            assert not imports & features, f"{module} imports {imports & features}"


def test_the_bot_imports_neither_the_orm_nor_torch() -> None:
    graph = import_graph("bot", "jobs")
    assert all("jobs.models" not in imports for module, imports in graph.items() if module.startswith("bot"))
    extensions = ", ".join(walk_extensions())
    check = f"import sys, bot.client, {extensions}; sys.exit(bool({{'torch', 'diffusers'}} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", check], cwd=REPO_ROOT).returncode == 0
