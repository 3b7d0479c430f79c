"""What a member's browser sends the sandbox's page, checked as Discord's client and servers check it before
anything reaches the bot: a command's options (declared ones only, of their type, within their limits and
choices), an attached image (size-limited, known by its first bytes, its file name rewritten), request bodies
(bounded) and menu choices. Nothing from the browser is trusted."""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Callable
from typing import Any

from aiohttp import web

from sandbox.discord import Attachment

# Option types the page can send: string, integer, boolean, number, attachment.
STRING, INTEGER, BOOLEAN, NUMBER, ATTACHMENT = 3, 4, 5, 10, 11
TYPED_OPTIONS = {STRING, INTEGER, BOOLEAN, NUMBER, ATTACHMENT}
# What the page's command box needs of an option, besides its name, description, type and whether it is required.
OPTION_LIMITS = ("choices", "min_value", "max_value", "min_length", "max_length")
# What a member may attach: the raster images a browser shows, known by their first bytes (never SVG, which
# the emulator would serve on the page's own origin).
IMAGE_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WebP", "image/gif": "GIF"}
# The most a command, press, choice or form's JSON may weigh (Discord's own bodies are far smaller).
MAX_JSON_BODY = 64 * 1024


class PageError(Exception):
    """Something the member typed or pressed that the sandbox cannot send; the message says what."""


async def read_json(request: web.Request) -> dict[str, Any]:
    """A route's JSON object, at most MAX_JSON_BODY bytes."""
    if (request.content_length or 0) > MAX_JSON_BODY:
        raise PageError("that request is too large")
    raw = await request.content.read(MAX_JSON_BODY + 1)
    if len(raw) > MAX_JSON_BODY:
        raise PageError("that request is too large")
    try:
        body = json.loads(raw)
    except ValueError:
        raise PageError("that request is not JSON") from None
    if not isinstance(body, dict):
        raise PageError("that request is not a JSON object")
    return body


async def read_image(request: web.Request, limit: int) -> tuple[bytes, str]:
    """The image in the request's body and its type from its first bytes; at most `limit` bytes are read."""
    too_large = PageError(f"that file is larger than {limit / 1024 / 1024:g} MB, the most Discord takes here")
    if (request.content_length or 0) > limit:
        raise too_large
    data = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        data += chunk
        if len(data) > limit:
            raise too_large
    content_type = image_type(bytes(data))
    if content_type is None:
        raise PageError(f"only {', '.join(IMAGE_TYPES.values())} images can be attached")
    return bytes(data), content_type


def image_type(data: bytes) -> str | None:
    """The image type `data` is, from its first bytes (what the browser said is not trusted)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def safe_filename(name: str | None) -> str:
    """A file name that is safe in the attachment's URL: letters, digits, dots, dashes and underscores."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    return base.strip("._")[-100:] or "image"


def strings(values: Any) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values) or len(values) > 25:
        raise PageError("choices are a list of values")
    return values


def form_values(given: Any) -> dict[str, str | list[str]]:
    """A form's values by field: text for a text input, a list for a select."""
    if not isinstance(given, dict):
        raise PageError("a form's values are given by field")
    return {str(key): value if isinstance(value, str) else strings(value) for key, value in given.items()}


def check_choice(select: dict[str, Any], values: list[str]) -> None:
    """Discord's client offers only the menu's options, as many as it allows."""
    offered = {option.get("value") for option in select.get("options", [])}
    low, high = select.get("min_values", 1), select.get("max_values", 1)
    if len(set(values)) != len(values) or not set(values) <= offered or not low <= len(values) <= high:
        raise PageError(f"choose {low} to {high} of the menu's options")


def command_view(command: dict[str, Any]) -> dict[str, Any]:
    """What the page's command box shows and checks of a registered command."""
    return {
        "name": command["name"],
        "description": command.get("description", ""),
        "options": [
            {
                "name": option["name"],
                "description": option.get("description", ""),
                "type": option.get("type"),
                "required": bool(option.get("required")),
                **{key: option[key] for key in OPTION_LIMITS if key in option},
            }
            for option in command.get("options", [])
            if option.get("type") in TYPED_OPTIONS
        ],
    }


def command_options(
    command: dict[str, Any], given: Any, attachment: Callable[[Any], Attachment | None]
) -> dict[str, Any]:
    """The options as Discord's client sends them: declared ones only, of their type, within their limits and
    choices; an attachment option names a file the member uploaded (`attachment` finds it, or None)."""
    if not isinstance(given, dict):
        raise PageError("options are given by name")
    declared = {option["name"]: option for option in command.get("options", [])}
    options = {}
    for name, value in given.items():
        option = declared.get(name)
        if option is None or option.get("type") not in TYPED_OPTIONS:
            raise PageError(f"/{command['name']} has no option {name}")
        if value not in ("", None):
            options[name] = _option_value(option, value, attachment)
    for option in declared.values():
        if option.get("required") and option["name"] not in options:
            raise PageError(f"/{command['name']} needs {option['name']}")
    return options


def _option_value(option: dict[str, Any], value: Any, attachment: Callable[[Any], Attachment | None]) -> Any:
    name, kind = option["name"], option.get("type")
    if kind == ATTACHMENT:
        with contextlib.suppress(TypeError, ValueError):
            found = attachment(int(value))
            if found is not None:
                return found
        raise PageError(f"{name} must be a file you attached")
    if kind == BOOLEAN and not isinstance(value, bool):
        raise PageError(f"{name} is true or false")
    if kind in (INTEGER, NUMBER):
        number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if not number or (kind == INTEGER and value % 1):
            raise PageError(f"{name} must be a {'whole ' if kind == INTEGER else ''}number")
        value = int(value) if kind == INTEGER else float(value)
        if not option.get("min_value", value) <= value <= option.get("max_value", value):
            raise PageError(f"{name} must be from {option.get('min_value')} to {option.get('max_value')}")
    if kind == STRING:
        if not isinstance(value, str):
            raise PageError(f"{name} must be text")
        low, high = option.get("min_length", 0), option.get("max_length", 6000)
        if not low <= len(value) <= high:
            raise PageError(f"{name} must be {low} to {high} characters long")
    if "choices" in option and value not in [choice["value"] for choice in option["choices"]]:
        raise PageError(f"{name} must be one of {', '.join(str(c['value']) for c in option['choices'])}")
    return value
