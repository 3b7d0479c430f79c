"""Discord's error bodies, and JSON responses discord.py will actually parse.

discord.py decodes a body only when `Content-Type` is exactly `application/json`, so aiohttp's
`json_response` (which appends `; charset=utf-8`) cannot be used.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    response = web.Response(body=json.dumps(body).encode(), status=status, headers=headers)
    response.headers["Content-Type"] = "application/json"
    return response


class ApiError(Exception):
    """Raised by a handler to answer with Discord's `{code, message}` error body."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> web.Response:
        return json_response({"code": self.code, "message": self.message}, status=self.status)


def unknown(what: str, code: int) -> ApiError:
    return ApiError(404, code, f"Unknown {what}")


def invalid_webhook_token() -> ApiError:
    return ApiError(401, 50027, "Invalid Webhook Token")


def unauthorized() -> ApiError:
    return ApiError(401, 0, "401: Unauthorized")


def already_acknowledged() -> ApiError:
    return ApiError(400, 40060, "Interaction has already been acknowledged.")


def entity_too_large() -> ApiError:
    return ApiError(413, 40005, "Request entity too large")


UNKNOWN_MESSAGE = 10008
UNKNOWN_USER = 10013
UNKNOWN_CHANNEL = 10003
UNKNOWN_WEBHOOK = 10015
UNKNOWN_INTERACTION = 10062
