"""Queue configuration, read from the environment (or a `.env` file) by pydantic-settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

COUNT_CUDA_DEVICES = "import torch; print(torch.cuda.device_count())"


class JobSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore")

    database_url: str | None = None
    """None keeps the history in SQLite at DATA_DIR/imagine.db; postgresql+psycopg://... for PostgreSQL."""
    data_dir: Path = Path("data")
    max_running_per_user: int = Field(default=3, ge=1)
    """How many of one user's jobs may be generating at once, across all devices."""
    max_queued_per_user: float = Field(default=10, gt=0)
    """How much one member may have waiting, in standard jobs (four images at 30 steps cost 1; `jobs.admission`)."""
    max_queue_length: float = Field(default=100, gt=0)
    """How much may wait in all, in standard jobs."""
    max_queue_share_per_server: float = Field(default=0.5, gt=0, le=1)
    """The largest part of MAX_QUEUE_LENGTH one server (or the bot's DMs) may fill, so a few accounts in one
    server cannot fill the queue for every other."""
    min_free_disk_mb: float = Field(default=1024, ge=0)
    """New jobs are refused while the disk holding DATA_DIR has less free space than this (0: never)."""
    retention_days: float = Field(default=0, ge=0)
    """Image files older than this are removed (their records still reproduce them); 0 keeps them forever."""
    retention_deletes_records: bool = False
    """With RETENTION_DAYS, remove the jobs' database rows too (they can then no longer be reproduced)."""
    storage_quota_per_member_mb: float = Field(default=0, ge=0)
    """New jobs of a member whose kept images take more than this are refused until some are deleted or
    pruned (0: no quota)."""
    storage_quota_per_server_mb: float = Field(default=0, ge=0)
    """The same for all the images made in one server (or in the bot's DMs); 0: no quota."""
    keep_deleted_images: bool = False
    """Keep the files of images deleted with 🗑️ (they stay hidden either way)."""
    max_attempts: int = Field(default=3, ge=1)
    """A job interrupted this many times (crash, kill) fails instead of starting again."""
    max_batch_images: int = Field(default=16, ge=1, le=64)
    """The most images one UNet batch may hold; 1 turns batching off. At most 64: the engine process's
    cancel mask has one bit per job of a batch."""
    engine_devices: Annotated[tuple[str, ...], NoDecode] = ()
    """Comma list such as `cuda:0,cuda:1`; empty means every visible CUDA GPU, else the CPU."""
    engine_backend: Literal["local", "ray"] = "local"
    """local: one engine process per device of this machine. ray: one engine actor per GPU of a Ray cluster
    (README, "Several GPU machines"); needs the `cluster` extra."""
    ray_address: str | None = None
    """With ENGINE_BACKEND=ray: the head's address, e.g. 10.8.0.1:6379 (None: the cluster started on this machine)."""
    engine_resource: str = Field(default="GPU", min_length=1)
    """With ENGINE_BACKEND=ray: the Ray resource one engine actor holds; one device per unit on each node. GPU
    (the default) asks for a GPU; another name is a custom resource given to nodes with `ray start --resources`."""
    preview_interval: float = Field(default=1.0, ge=0)
    """Seconds between two preview PNGs of one job (its first step always sends one). The bot edits a message
    at most every 2 s, and every preview encoded is time the engine process is not driving the device."""
    model_switch_patience: int = Field(default=4, ge=0)
    """A waiting job whose model no engine holds lets at most this many groups for a loaded model go first, so
    members alternating between two models do not force a model load per job; 0 keeps strict round-robin."""
    engine_watchdog_seconds: float = Field(default=600.0, gt=0)
    """An engine process that reports nothing (no progress, no result) for this long while generating is
    killed and started again; its jobs go back in line, counting an attempt. Loading a model that is not
    in memory yet happens inside that silence, so keep it well above the slowest load."""
    stop_timeout: float = Field(default=120.0, ge=0)
    """Seconds a graceful stop waits for running generations before putting them back in the queue."""

    @field_validator("engine_devices", mode="before")
    @classmethod
    def _split_devices(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'imagine.db').resolve()}"

    def devices(self) -> list[str]:
        """The configured devices, or one per visible CUDA GPU. Counting GPUs needs torch, which the bot's
        process never imports, so a short-lived interpreter counts them."""
        if self.engine_devices:
            return list(self.engine_devices)
        counted = subprocess.run([sys.executable, "-c", COUNT_CUDA_DEVICES], capture_output=True, text=True, check=True)
        count = int(counted.stdout.strip())
        return [f"cuda:{index}" for index in range(count)] or ["cpu"]
