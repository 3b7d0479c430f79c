"""How the processes log: readable lines by default, or one JSON object per line (`LOG_FORMAT=json`) for a log
collector (docs/operations.md). `python -m bot` (the sandbox too) and `python -m jobs run` apply it; it lives
here, below both, because `jobs` never imports `bot`.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class LogSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore")

    log_format: Literal["text", "json"] = "text"


class JsonLinesFormatter(logging.Formatter):
    """One object per line: time (ISO 8601, UTC), level, logger, message, and the traceback as `exception`."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


def log_json_lines(level: int) -> None:
    """Replace the root logger's handlers with one writing JSON lines to stderr."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLinesFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
