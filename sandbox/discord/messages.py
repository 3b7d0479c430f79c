"""Reading message bodies (JSON or multipart) and applying them to stored messages.

Multipart bodies carry `payload_json` plus `files[n]`. In `payload_json.attachments` a small
integer id `n` names the upload `files[n]`, while a snowflake keeps an attachment the message
already has, which is how Discord lets an edit keep, drop or replace files.
"""

from __future__ import annotations

import json
import mimetypes
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .errors import ApiError, entity_too_large
from .state import LOADING_FLAG, Attachment, Message, new_snowflake, utc_now

_FILE_FIELD = re.compile(r"files\[(\d+)\]")
_EDITABLE_FLAGS = 1 << 2  # SUPPRESS_EMBEDS is the only flag an edit may change


@dataclass(frozen=True)
class Upload:
    index: int
    filename: str
    data: bytes


@dataclass(frozen=True)
class MessageBody:
    payload: dict[str, Any]
    uploads: dict[int, Upload]


async def read_message_body(request: web.Request, size_limit: int) -> MessageBody:
    """Parse a JSON or multipart body; any file over `size_limit` is refused like Discord does."""
    if not request.content_type.startswith("multipart/"):
        return MessageBody(payload=await _read_json(request), uploads={})
    payload: dict[str, Any] = {}
    uploads: dict[int, Upload] = {}
    reader = await request.multipart()
    async for part in reader:
        if part.name == "payload_json":
            payload = decode_json(await part.read())
            continue
        match = _FILE_FIELD.fullmatch(part.name or "")
        if match is None:
            raise ApiError(400, 50035, f"Invalid Form Body: unexpected multipart field {part.name!r}")
        data = bytes(await part.read())
        if len(data) > size_limit:
            raise entity_too_large()
        index = int(match.group(1))
        uploads[index] = Upload(index=index, filename=part.filename or f"file{index}", data=data)
    return MessageBody(payload=payload, uploads=uploads)


async def _read_json(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    return decode_json(raw) if raw else {}


def decode_json(raw: bytes | bytearray, *, expect: type = dict) -> Any:
    try:
        decoded = json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, 50109, f"The request body contains invalid JSON: {exc}") from exc
    if not isinstance(decoded, expect):
        raise ApiError(400, 50109, f"The request body contains invalid JSON: expected a JSON {expect.__name__}")
    return decoded


def _new_attachment(upload: Upload, description: dict[str, Any]) -> Attachment:
    filename = description.get("filename") or upload.filename
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return Attachment(id=new_snowflake(), filename=filename, data=upload.data, content_type=content_type)


def _resolve_attachments(body: MessageBody, existing: list[Attachment]) -> list[Attachment] | None:
    """The message's attachments after this body, or None when the body leaves them alone."""
    described = body.payload.get("attachments")
    if described is None:
        if not body.uploads:
            return None
        fresh = [_new_attachment(upload, {}) for _, upload in sorted(body.uploads.items())]
        return existing + fresh
    by_id = {attachment.id: attachment for attachment in existing}
    result: list[Attachment] = []
    for item in described:
        try:
            attachment_id = int(item["id"])
        except (KeyError, TypeError, ValueError):
            raise ApiError(400, 50035, f"Invalid Form Body: attachments: {item!r} has no valid id") from None
        if attachment_id in body.uploads:
            result.append(_new_attachment(body.uploads[attachment_id], item))
        elif attachment_id in by_id:
            result.append(by_id[attachment_id])
        else:
            raise ApiError(400, 50035, f"Invalid Form Body: attachments: unknown attachment id {attachment_id}")
    return result


def apply_body(message: Message, body: MessageBody, *, creating: bool) -> None:
    """Write the body's content, embeds, components and files onto `message` and record the version."""
    payload = body.payload
    content = payload.get("content")
    if content is not None and len(content) > 2000:
        raise ApiError(400, 50035, "Invalid Form Body: content: Must be 2000 or fewer in length.")
    attachments = _resolve_attachments(body, message.attachments)
    if content is not None:
        message.content = content
    if payload.get("embeds") is not None:
        message.embeds = list(payload["embeds"])
    if payload.get("components") is not None:
        message.components = list(payload["components"])
    if attachments is not None:
        message.attachments = attachments
    if payload.get("allowed_mentions") is not None:
        message.allowed_mentions = dict(payload["allowed_mentions"])
    if "flags" in payload and payload["flags"] is not None:
        requested = int(payload["flags"])
        message.flags = requested if creating else (message.flags & ~_EDITABLE_FLAGS) | (requested & _EDITABLE_FLAGS)
    if creating and not (message.content or message.attachments or message.embeds or message.components):
        raise ApiError(400, 50006, "Cannot send an empty message")
    if not creating:
        message.flags &= ~LOADING_FLAG  # any edit completes a deferred "thinking" message
        message.edited_at = utc_now()
    message.snapshot()
