"""`jobs/` has one owner per concern and no import cycle; the bot's words for a job need no database code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.import_graph import cycles, import_graph


def test_jobs_has_no_import_cycle() -> None:
    assert cycles(import_graph("jobs")) == []


def test_the_modules_the_bot_reads_import_no_database_code() -> None:
    graph = import_graph("jobs", "bot")
    for module in ("jobs.views", "jobs.events", "jobs.states", "jobs.results"):
        assert not {imported for imported in graph[module] if imported in ("jobs.models", "jobs.database")}
    bot_imports = {imported for name, imports in graph.items() if name.startswith("bot") for imported in imports}
    assert "jobs.models" not in bot_imports and "jobs.sql_queue" not in bot_imports


def test_only_the_queue_writes_a_jobs_status() -> None:
    """Every transition is committed (and announced) by the queue: no other module updates `Job.status`."""
    from tests.import_graph import module_names

    writers = [
        name
        for name, path in module_names("jobs").items()
        if "status=JobStatus." in path.read_text() or "job.status = " in path.read_text()
    ]
    assert writers == ["jobs.sql_queue"]


def test_the_local_backend_never_imports_ray(tmp_path: Path) -> None:
    """ENGINE_BACKEND=local (the default) works without the cluster extra: Ray is imported only for the ray one."""
    code = (
        "import sys; from jobs import JobService, JobSettings; "
        f"JobService(JobSettings(data_dir={str(tmp_path)!r}, engine_devices=('cpu',)))._engines(); "
        "assert 'ray' not in sys.modules, 'ray was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_only_the_ray_backend_imports_ray() -> None:
    from tests.import_graph import module_names

    ray_import = re.compile(r"^\s*(import ray|from ray)\b", re.MULTILINE)
    importers = [name for name, path in module_names("jobs").items() if ray_import.search(path.read_text())]
    assert importers and all(name.startswith("jobs.ray_backend") for name in importers)
