"""Interaction routes: the callback, followups and `@original`/followup edits via the interaction token.

These need no bot token, only a live interaction token; an expired one answers 401 / 50027.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import errors
from .errors import ApiError, json_response
from .messages import MessageBody, apply_body, read_message_body
from .state import EPHEMERAL_FLAG, LOADING_FLAG, Interaction, Message

if TYPE_CHECKING:
    from .server import DiscordEmulator

CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE, MODAL = 4, 5, 6, 7, 9


class WebhookRoutes:
    def __init__(self, emu: DiscordEmulator) -> None:
        self.emu = emu

    def routes(self, prefix: str) -> list[web.RouteDef]:
        messages = f"{prefix}/webhooks/{{app}}/{{token}}/messages/{{message}}"
        return [
            web.post(f"{prefix}/interactions/{{interaction}}/{{token}}/callback", self.interaction_callback),
            web.post(f"{prefix}/webhooks/{{app}}/{{token}}", self.create_followup),
            web.get(messages, self.get_message),
            web.patch(messages, self.edit_message),
            web.delete(messages, self.delete_message),
        ]

    def _live_interaction(self, token: str) -> Interaction:
        if token in self.emu.expired_tokens:
            raise errors.invalid_webhook_token()
        interaction = self.emu.interactions_by_token.get(token)
        if interaction is None:
            raise errors.unknown("Webhook", errors.UNKNOWN_WEBHOOK)
        return interaction

    def _webhook_interaction(self, request: web.Request) -> Interaction:
        if request.match_info["app"] != str(self.emu.application_id):
            raise errors.unknown("Webhook", errors.UNKNOWN_WEBHOOK)
        return self._live_interaction(request.match_info["token"])

    async def interaction_callback(self, request: web.Request) -> web.Response:
        interaction = self._live_interaction(request.match_info["token"])
        if request.match_info["interaction"] != str(interaction.id):
            raise errors.unknown("interaction", errors.UNKNOWN_INTERACTION)
        body = await read_message_body(request, interaction.attachment_size_limit)
        if interaction.acknowledged:
            raise errors.already_acknowledged()
        kind = body.payload.get("type")
        message_body = MessageBody(payload=body.payload.get("data") or {}, uploads=body.uploads)
        self._answer_callback(interaction, kind, message_body)
        interaction.callback_types.append(kind)
        interaction.acknowledged_at = time.perf_counter()
        return json_response(self._callback_json(interaction, kind))

    def _answer_callback(self, interaction: Interaction, kind: Any, body: MessageBody) -> None:
        source = interaction.source_message
        if kind == CHANNEL_MESSAGE:
            interaction.original = self.emu.post_message(interaction.channel, body, interaction_id=interaction.id)
        elif kind == DEFERRED_CHANNEL_MESSAGE:
            interaction.defer_ephemeral = bool(int(body.payload.get("flags") or 0) & EPHEMERAL_FLAG)
            placeholder = self.emu.new_message(interaction.channel, interaction_id=interaction.id)
            placeholder.flags = LOADING_FLAG | (EPHEMERAL_FLAG if interaction.defer_ephemeral else 0)
            placeholder.snapshot()
            self.emu.messages[placeholder.id] = placeholder
            interaction.original = placeholder
        elif kind in (DEFERRED_UPDATE, UPDATE_MESSAGE) and source is not None:
            if kind == UPDATE_MESSAGE:
                apply_body(source, body, creating=False)
            interaction.original = source
        elif kind == MODAL:
            if interaction.type not in (2, 3):
                raise ApiError(400, 50035, "Invalid Form Body: a modal can only answer a command or a component")
            interaction.modal = dict(body.payload)
        else:
            raise ApiError(400, 50035, f"Invalid Form Body: type: callback type {kind!r} is not valid here")

    def _callback_json(self, interaction: Interaction, kind: int) -> dict[str, Any]:
        summary: dict[str, Any] = {"id": str(interaction.id), "type": interaction.type}
        resource: dict[str, Any] = {"type": kind}
        original = interaction.original
        if original is not None and kind in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, UPDATE_MESSAGE):
            summary["response_message_id"] = str(original.id)
            summary["response_message_loading"] = original.loading
            summary["response_message_ephemeral"] = original.ephemeral
            resource["message"] = self.emu.message_json(original)
        return {"interaction": summary, "resource": resource}

    async def create_followup(self, request: web.Request) -> web.Response:
        interaction = self._webhook_interaction(request)
        body = await read_message_body(request, interaction.attachment_size_limit)
        if not interaction.acknowledged:
            raise errors.unknown("Webhook", errors.UNKNOWN_WEBHOOK)
        original = interaction.original
        if original is not None and original.loading and not original.deleted and not interaction.followups:
            # Discord: the first followup after a deferred reply fills in the "thinking" message,
            # keeping the ephemeral choice made when deferring.
            apply_body(original, body, creating=False)
            message = original
        else:
            message = self.emu.post_message(interaction.channel, body, interaction_id=interaction.id)
        interaction.followups.append(message)
        if interaction.first_followup_at is None:
            interaction.first_followup_at = time.perf_counter()
        if request.query.get("wait", "false").lower() not in ("1", "true"):
            return web.Response(status=204)
        return json_response(self.emu.message_json(message))

    def _owned_message(self, request: web.Request) -> tuple[Interaction, Message]:
        interaction = self._webhook_interaction(request)
        reference = request.match_info["message"]
        if reference == "@original":
            message = interaction.original
        else:
            owned = [interaction.original, *interaction.followups]
            message = next((m for m in owned if m is not None and str(m.id) == reference), None)
        if message is None or message.deleted:
            raise errors.unknown("Message", errors.UNKNOWN_MESSAGE)
        return interaction, message

    async def get_message(self, request: web.Request) -> web.Response:
        _, message = self._owned_message(request)
        return json_response(self.emu.message_json(message))

    async def edit_message(self, request: web.Request) -> web.Response:
        interaction, message = self._owned_message(request)
        body = await read_message_body(request, interaction.attachment_size_limit)
        apply_body(message, body, creating=False)
        return json_response(self.emu.message_json(message))

    async def delete_message(self, request: web.Request) -> web.Response:
        _, message = self._owned_message(request)
        message.deleted = True
        await self.emu.announce_deletion(message)
        return web.Response(status=204)
