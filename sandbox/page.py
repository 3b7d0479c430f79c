"""The sandbox's web page: the emulated channel as each member sees it, and what they type and press.

Served beside the emulated Discord, on the same port:

    GET  /                          the page (plain HTML, CSS and JavaScript: no build step, no CDN)
    GET  /sandbox/static/{file}     its script and style
    GET  /sandbox/world             the members, the channel, the commands the bot registered
    GET  /sandbox/messages?member=  the channel as that member sees it (their private replies included)
    POST /sandbox/command           {member, name, options}: a slash command that member typed
    POST /sandbox/press             {member, message, custom_id}: a button that member pressed
    GET  /sandbox/events?member=    a WebSocket that carries every change as it happens

A command or a press goes to the bot exactly as Discord would send it (an INTERACTION_CREATE over the
gateway), so the page exercises the real bot, nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from importlib import resources
from typing import Any

from aiohttp import WSMsgType, web

from sandbox.discord import DiscordEmulator, Message, User

STATIC_FILES = {"app.js": "text/javascript", "style.css": "text/css"}
# Option types the page can send: string, integer, boolean, number.
TYPED_OPTIONS = {3, 4, 5, 10}


class PageError(Exception):
    """Something the member typed or pressed that the sandbox cannot send; the message says what."""


class SandboxPage:
    def __init__(self, emu: DiscordEmulator, members: list[User]) -> None:
        self.emu = emu
        self.members = {member.id: member for member in members}
        self._sockets: dict[web.WebSocketResponse, int] = {}
        self._seen: dict[int, tuple[int, bool]] = {}
        """What the sockets were last told of each message: (versions, deleted)."""
        self._pushing = False
        emu.listeners.append(self._changed)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/", self.index),
            web.get("/sandbox/static/{name}", self.static),
            web.get("/sandbox/world", self.world),
            web.get("/sandbox/messages", self.messages),
            web.post("/sandbox/command", self.command),
            web.post("/sandbox/press", self.press),
            web.get("/sandbox/events", self.events),
        ]

    # the page

    async def index(self, request: web.Request) -> web.Response:
        return web.Response(text=_static("index.html"), content_type="text/html")

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in STATIC_FILES:
            raise web.HTTPNotFound()
        return web.Response(text=_static(name), content_type=STATIC_FILES[name])

    async def world(self, request: web.Request) -> web.Response:
        emu = self.emu
        commands = emu.commands.get(emu.guild.id) or emu.commands.get(None) or []
        return web.json_response(
            {
                "bot": {"id": str(emu.bot_user.id), "name": emu.bot_user.username},
                "channel": {"id": str(emu.channel.id), "name": emu.channel.name},
                "guild": emu.guild.name,
                "members": [
                    {"id": str(member.id), "name": member.username, "admin": member.id == emu.guild.owner_id}
                    for member in self.members.values()
                ],
                "users": {str(user.id): user.username for user in emu.users.values()},
                "commands": [_command_view(command) for command in commands],
            }
        )

    async def messages(self, request: web.Request) -> web.Response:
        member = self._member(request.query.get("member"))
        visible = [self._view(message) for message in self.emu.messages_in() if self._shows(message, member)]
        return web.json_response(visible)

    # what members do

    async def command(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            member = self._member(body.get("member"))
            name = str(body.get("name", ""))
            options = {key: value for key, value in (body.get("options") or {}).items() if value not in ("", None)}
            if not any(command["name"] == name for command in self._commands()):
                raise PageError(f"/{name} is not one of the bot's commands")
            await self.emu.send_slash_command(name, options, user=member)
        except (PageError, ValueError, AssertionError) as error:
            return web.json_response({"error": str(error)}, status=400)
        return web.json_response({"ok": True})

    async def press(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            member = self._member(body.get("member"))
            message = self.emu.messages.get(int(body.get("message", 0)))
            if message is None:
                raise PageError("that message is gone")
            await self.emu.click_button(message, str(body.get("custom_id", "")), user=member)
        except (PageError, ValueError, AssertionError) as error:
            return web.json_response({"error": str(error)}, status=400)
        return web.json_response({"ok": True})

    # live updates

    async def events(self, request: web.Request) -> web.WebSocketResponse:
        member = self._member(request.query.get("member"))
        socket = web.WebSocketResponse(heartbeat=20)
        await socket.prepare(request)
        self._sockets[socket] = member.id
        try:
            async for frame in socket:
                if frame.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                    break
        finally:
            self._sockets.pop(socket, None)
        return socket

    def _changed(self) -> None:
        """After every request the emulator handles: push what changed, once per burst of changes."""
        if not self._pushing:
            self._pushing = True
            asyncio.get_running_loop().call_soon(self._push)

    def _push(self) -> None:
        self._pushing = False
        changed = []
        for message in self.emu.messages_in(include_deleted=True):
            state = (len(message.history), message.deleted)
            if self._seen.get(message.id) != state:
                self._seen[message.id] = state
                changed.append(message)
        for socket, member_id in list(self._sockets.items()):
            member = self.members[member_id]
            for message in changed:
                if self._shows(message, member, include_deleted=True):
                    asyncio.ensure_future(_send(socket, {"type": "message", "message": self._view(message)}))

    # helpers

    def _member(self, member_id: Any) -> User:
        with contextlib.suppress(TypeError, ValueError):
            member = self.members.get(int(member_id))
            if member is not None:
                return member
        raise PageError(f"there is no member {member_id!r} in the sandbox")

    def _commands(self) -> list[dict[str, Any]]:
        return self.emu.commands.get(self.emu.guild.id) or self.emu.commands.get(None) or []

    def _shows(self, message: Message, member: User, *, include_deleted: bool = False) -> bool:
        if message.deleted and not include_deleted:
            return False
        return not message.ephemeral or self._asked_by(message) == member.id

    def _asked_by(self, message: Message) -> int | None:
        interaction = self._interaction_of(message)
        return interaction.user.id if interaction else None

    def _interaction_of(self, message: Message):
        if message.interaction_id is None:
            return None
        return next((i for i in self.emu.interactions if i.id == message.interaction_id), None)

    def _view(self, message: Message) -> dict[str, Any]:
        view = self.emu.message_json(message)
        interaction = self._interaction_of(message)
        view |= {
            "deleted": message.deleted,
            "ephemeral": message.ephemeral,
            "loading": message.loading,
            "asked_by": interaction.user.username if interaction else None,
            "command": interaction.data.get("name") if interaction and interaction.type == 2 else None,
        }
        return view


def _command_view(command: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": command["name"],
        "description": command.get("description", ""),
        "options": [
            {
                "name": option["name"],
                "description": option.get("description", ""),
                "type": option.get("type"),
                "required": bool(option.get("required")),
            }
            for option in command.get("options", [])
            if option.get("type") in TYPED_OPTIONS
        ],
    }


async def _send(socket: web.WebSocketResponse, payload: dict[str, Any]) -> None:
    with contextlib.suppress(ConnectionError, RuntimeError):
        await socket.send_str(json.dumps(payload))


def _static(name: str) -> str:
    return resources.files("sandbox").joinpath("static", name).read_text(encoding="utf-8")
