"""Helpers for the queue tests: a real JobService on a real database with the tiny default engine."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from jobs import JobService, JobSettings
from tests.jobs.ray_cluster import RESOURCE, ClusterUnavailable, LocalCluster, local_cluster

torch.set_num_threads(1)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def job_settings(data_dir: Path, sqlite_url: str) -> JobSettings:
    return JobSettings(database_url=sqlite_url, data_dir=data_dir, engine_devices=("cpu",), stop_timeout=60)


@pytest.fixture(scope="session")
def engine_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The engine's DATA_DIR for the whole session."""
    return tmp_path_factory.mktemp("engine-data")


@pytest.fixture
def engine_settings(engine_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine reads DATA_DIR and MODEL_ID from the environment."""
    monkeypatch.setenv("DATA_DIR", str(engine_data_dir))
    monkeypatch.delenv("MODEL_ID", raising=False)


@pytest.fixture
def running_service(engine_settings) -> Callable[..., contextlib.AbstractAsyncContextManager[JobService]]:
    @contextlib.asynccontextmanager
    async def run(settings: JobSettings, **options: Any) -> AsyncIterator[JobService]:
        service = JobService(settings, **options)
        await service.start()
        try:
            yield service
        finally:
            await service.stop()

    return run


@pytest.fixture(scope="module")
def ray_cluster(engine_data_dir: Path) -> Iterator[LocalCluster]:
    """One local two-node Ray cluster per test module; the module's tests are skipped if it cannot start."""
    try:
        with local_cluster(engine_data_dir) as cluster:
            yield cluster
    except ClusterUnavailable as error:
        pytest.skip(f"a local Ray cluster could not start: {error}")


@pytest.fixture
def ray_settings(job_settings: JobSettings, ray_cluster: LocalCluster) -> JobSettings:
    """ENGINE_BACKEND=ray on the module's cluster; one job per group, and every step sends a preview."""
    update = {"engine_backend": "ray", "engine_resource": RESOURCE, "max_batch_images": 1, "preview_interval": 0}
    return job_settings.model_copy(update=update)
