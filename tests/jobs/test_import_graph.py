"""`jobs/` has one owner per concern and no import cycle; the bot's words for a job need no database code."""

from __future__ import annotations

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
