"""Channel routes used with the bot token: messages create/edit/delete/get, the channel itself.

Ephemeral messages are invisible here, as on Discord: only their interaction token reaches them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from . import errors
from .errors import ApiError, json_response
from .holds import pause_if_held
from .messages import MessageBody, apply_body, read_message_body
from .payloads import channel_payload
from .state import Channel, Message

API_PREFIX = "/api/v10"
# How long Discord remembers a nonce for `enforce_nonce` ("the past few minutes").
NONCE_WINDOW_SECONDS = 300.0

if TYPE_CHECKING:
    from .server import DiscordEmulator


def require_bot(request: web.Request, emu: DiscordEmulator) -> None:
    if request.headers.get("Authorization") != f"Bot {emu.bot_token}":
        raise errors.unauthorized()


def snowflake(value: str, what: str, code: int) -> int:
    """Parse an id from the path; a malformed one is simply unknown, as on Discord."""
    try:
        return int(value)
    except ValueError:
        raise errors.unknown(what, code) from None


class ChannelRoutes:
    def __init__(self, emu: DiscordEmulator) -> None:
        self.emu = emu

    def routes(self, prefix: str) -> list[web.RouteDef]:
        messages = f"{prefix}/channels/{{channel}}/messages"
        return [
            web.get(f"{prefix}/channels/{{channel}}", self.get_channel),
            web.get(messages, self.list_messages),
            web.post(messages, self.create_message),
            web.get(f"{messages}/{{message}}", self.get_message),
            web.patch(f"{messages}/{{message}}", self.edit_message),
            web.delete(f"{messages}/{{message}}", self.delete_message),
            web.get("/attachments/{attachment}/{filename}", self.download_attachment),
        ]

    def _message(self, message: Message) -> web.Response:
        return json_response(self.emu.message_json(message))

    def _channel(self, request: web.Request) -> Channel:
        require_bot(request, self.emu)
        channel = self.emu.channels.get(snowflake(request.match_info["channel"], "Channel", errors.UNKNOWN_CHANNEL))
        if channel is None:
            raise errors.unknown("Channel", errors.UNKNOWN_CHANNEL)
        return channel

    def _channel_message(self, request: web.Request) -> Message:
        channel = self._channel(request)
        message = self.emu.messages.get(snowflake(request.match_info["message"], "Message", errors.UNKNOWN_MESSAGE))
        if message is None or message.deleted or message.ephemeral or message.channel_id != channel.id:
            raise errors.unknown("Message", errors.UNKNOWN_MESSAGE)
        return message

    async def get_channel(self, request: web.Request) -> web.Response:
        return json_response(channel_payload(self._channel(request)))

    async def list_messages(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        try:
            limit = min(100, max(1, int(request.query.get("limit", 50))))
        except ValueError:
            raise ApiError(400, 50035, "Invalid Form Body: limit: Value is not int.") from None
        visible = [m for m in self.emu.messages_in(channel) if not m.ephemeral]
        newest_first = sorted(visible, key=lambda m: m.id, reverse=True)[:limit]
        return json_response([self.emu.message_json(m) for m in newest_first])

    async def create_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        body = await read_message_body(request, self.emu.attachment_size_limit)
        path = request.path.removeprefix(API_PREFIX)
        await pause_if_held(self.emu.holds, request.method, path, body, applied=False)
        repeated = self._repeated_nonce(channel, body)
        message = repeated or self.emu.post_message(channel, body)
        await pause_if_held(self.emu.holds, request.method, path, body, applied=True)
        return self._message(message)

    def _repeated_nonce(self, channel: Channel, body: MessageBody) -> Message | None:
        """Discord's `enforce_nonce`: a second post with a nonce seen in the last few minutes returns the first
        message instead of making another (404 if that message was deleted meanwhile)."""
        nonce = body.payload.get("nonce")
        if not (nonce and body.payload.get("enforce_nonce")):
            return None
        earlier = self.emu.message_with_nonce(channel, str(nonce))
        if earlier is not None and earlier.deleted:
            raise errors.unknown("Message", errors.UNKNOWN_MESSAGE)
        return earlier

    async def get_message(self, request: web.Request) -> web.Response:
        return self._message(self._channel_message(request))

    async def edit_message(self, request: web.Request) -> web.Response:
        message = self._channel_message(request)
        if message.author.id != self.emu.bot_user.id:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        body = await read_message_body(request, self.emu.attachment_size_limit)
        path = request.path.removeprefix(API_PREFIX)
        await pause_if_held(self.emu.holds, request.method, path, body, applied=False)
        apply_body(message, body, creating=False)
        await pause_if_held(self.emu.holds, request.method, path, body, applied=True)
        return self._message(message)

    async def delete_message(self, request: web.Request) -> web.Response:
        message = self._channel_message(request)
        message.deleted = True
        await self.emu.announce_deletion(message)  # on Discord the event may come before the answer
        return web.Response(status=204)

    async def download_attachment(self, request: web.Request) -> web.Response:
        attachment = self.emu.find_attachment(snowflake(request.match_info["attachment"], "Attachment", 0))
        if attachment is None or attachment.filename != request.match_info["filename"]:
            raise errors.unknown("Attachment", 0)
        return web.Response(body=attachment.data, content_type=attachment.content_type)
