"""Registered hub models are downloaded when the queue starts, never inside a member's job: a model that
cannot be downloaded stops the start with a clear message, and engine processes run with the hub offline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.engine import Engine
from jobs import JobService
from jobs.service import ModelDownloadFailed
from tests.jobs.helpers import engine_factory, submit_all, until_done


async def test_a_registered_model_that_cannot_be_downloaded_stops_the_start(job_settings, monkeypatch, capfd):
    """Offline here (no network), or a repository the hub does not have elsewhere: either way, a clear stop."""
    monkeypatch.setenv("MODELS", "ghost=imagine-bot-tests/no-such-model-7c1e")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    service = JobService(job_settings)
    with pytest.raises(ModelDownloadFailed, match="could not be downloaded .* MODELS"):
        await service.start()
    await service.stop()
    printed = capfd.readouterr().err
    assert "model 'ghost': Model 'imagine-bot-tests/no-such-model-7c1e'" in printed


class OfflineReportingEngine(Engine):
    def __init__(self, *, device: str, report: str) -> None:
        Path(report).write_text(os.environ.get("HF_HUB_OFFLINE", "unset"))
        super().__init__(device=device)


async def test_engine_processes_run_with_the_hub_offline(job_settings, running_service, tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    report = tmp_path / "offline.txt"
    [public_id] = await submit_all(job_settings, [(1, "a fox")])
    async with running_service(
        job_settings, engine_factory=engine_factory(OfflineReportingEngine, report=str(report))
    ) as service:
        await until_done(service, public_id)
    assert report.read_text() == "1"
