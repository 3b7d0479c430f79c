"""LOG_FORMAT=json: one JSON object per log line, with the traceback inside it."""

from __future__ import annotations

import json
import logging
import sys
from types import TracebackType

from jobs.logs import JsonLinesFormatter

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


def record(message: str, *args: object, exc_info: ExcInfo | None = None) -> logging.LogRecord:
    return logging.getLogger("jobs.test").makeRecord("jobs.test", logging.ERROR, __file__, 1, message, args, exc_info)


def test_a_log_line_is_one_json_object_with_the_traceback_inside() -> None:
    try:
        raise ValueError("the database went away")
    except ValueError:
        line = JsonLinesFormatter().format(record("recording %s failed", "job ABC\nDEF", exc_info=sys.exc_info()))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and entry["logger"] == "jobs.test"
    assert entry["message"] == "recording job ABC\nDEF failed"
    assert entry["time"].endswith("+00:00")
    assert entry["exception"].startswith("Traceback") and "ValueError: the database went away" in entry["exception"]


def test_a_line_without_an_error_has_no_exception_field() -> None:
    entry = json.loads(JsonLinesFormatter().format(record("ready")))
    assert set(entry) == {"time", "level", "logger", "message"}
