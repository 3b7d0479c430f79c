"""The custom_id grammar shared by every button: `imagine:<action>:<part>[:<part>...]`.

Buttons already posted carry these ids forever, so a part's pattern and the text it is written
as must never change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_CUSTOM_ID = 100


@dataclass(frozen=True)
class Part:
    """One `:`-separated field of a custom_id: what it may look like, and how to read it back."""

    name: str
    pattern: str
    parse: Callable[[str], Any] = str

    @property
    def group(self) -> str:
        return f"(?P<{self.name}>{self.pattern})"


JOB_ID = Part("job", "[A-Za-z0-9_-]{1,40}")
INDEX = Part("index", "[1-9][0-9]?", int)
USER_ID = Part("owner", "[0-9]{1,20}", int)


def custom_id(*parts: object) -> str:
    value = ":".join(["imagine", *map(str, parts)])
    if len(value) > MAX_CUSTOM_ID:
        raise ValueError(f"custom_id {value!r} is longer than Discord's {MAX_CUSTOM_ID} characters")
    return value
