"""The sandbox's web page: the emulated channel as each member sees it, and what they type and press.

Served beside the emulated Discord, on the same port:

    GET  /                          the page (plain HTML, CSS and JavaScript: no build step, no CDN)
    GET  /sandbox/static/{file}     its script and style
    GET  /sandbox/world             the members, the channel, the commands the bot registered
    GET  /sandbox/messages?member=  the channel as that member sees it (their private replies included);
                                    with &place=dm, their direct messages with the bot
    POST /sandbox/upload?member=&filename=   an image (the request's body) to attach to a command
    POST /sandbox/command           {member, name, options}: a slash command that member typed
    POST /sandbox/press             {member, message, custom_id}: a button that member pressed
    POST /sandbox/choose            {member, message, custom_id, values}: a choice in a message's select menu
    POST /sandbox/submit            {member, interaction, values}: a form (modal) the bot opened, filled in
    GET  /sandbox/events?member=    a WebSocket that carries every change as it happens

A command, a press, a choice or a form goes to the bot exactly as Discord would send it (an
INTERACTION_CREATE over the gateway), so the page exercises the real bot, nothing else. When the bot
answers one of them with a form, the route's answer carries it, so only the page that asked shows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import OrderedDict
from importlib import resources
from typing import Any

from aiohttp import WSMsgType, web

from sandbox.discord import Attachment, Channel, DiscordEmulator, Interaction, Message, User
from sandbox.page_input import (
    PageError,
    check_choice,
    command_options,
    command_view,
    form_values,
    read_image,
    read_json,
    safe_filename,
    strings,
)

SCRIPTS = ("app.js", "common.js", "messages.js", "forms.js", "composer.js")
STATIC_FILES = {"style.css": "text/css", **{name: "text/javascript" for name in SCRIPTS}}
SELECT = 3
# How long a command, press or choice waits for the bot's first answer, which may be a form to show. Discord
# gives a bot 3 s; a loaded machine running the tests gets more.
ANSWER_TIMEOUT = 10.0
# A form nobody submits is forgotten after this long, as Discord's interaction tokens are.
FORM_LIFETIME = 15 * 60.0
# The images members attached that the sandbox keeps serving: older ones are dropped (the bot has long since
# fetched them), so repeated uploads cannot fill the memory.
UPLOADS_KEPT = 32


class SandboxPage:
    def __init__(self, emu: DiscordEmulator, members: list[User]) -> None:
        self.emu = emu
        self.members = {member.id: member for member in members}
        self._sockets: dict[web.WebSocketResponse, int] = {}
        self._seen: dict[int, tuple[int, bool]] = {}
        """What the sockets were last told of each message: (versions, deleted)."""
        self._pushing = False
        self._uploads: OrderedDict[int, int] = OrderedDict()
        """Attachment id -> the member who uploaded it (oldest first): only they can send it with a command."""
        self._forms: dict[int, Interaction] = {}
        """Interactions the bot answered with a form that the page showed and nobody has submitted yet."""
        emu.listeners.append(self._changed)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/", self.index),
            web.get("/sandbox/static/{name}", self.static),
            web.get("/sandbox/world", self.world),
            web.get("/sandbox/messages", self.messages),
            web.post("/sandbox/upload", self.upload),
            web.post("/sandbox/command", self.command),
            web.post("/sandbox/press", self.press),
            web.post("/sandbox/choose", self.choose),
            web.post("/sandbox/submit", self.submit),
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
                "commands": [command_view(command) for command in commands],
                "attachment_limit": emu.attachment_size_limit,
            }
        )

    async def messages(self, request: web.Request) -> web.Response:
        member = self._member(request.query.get("member"))
        if request.query.get("place") == "dm":
            channel = self._dm_of(member)
            shown = self.emu.messages_in(channel) if channel else []
        else:
            shown = self.emu.messages_in()
        return web.json_response([self._view(message) for message in shown if self._shows(message, member)])

    # what members do

    async def upload(self, request: web.Request) -> web.Response:
        """An image the member attaches to a command, stored as Discord stores it before the command is sent;
        the answer's id is the option's value. At most the emulator's attachment limit, images only."""
        try:
            member = self._member(request.query.get("member"))
            data, content_type = await read_image(request, self.emu.attachment_size_limit)
        except PageError as error:
            return web.json_response({"error": str(error)}, status=400)
        attachment = self.emu.upload(safe_filename(request.query.get("filename")), data, content_type)
        self._uploads[attachment.id] = member.id
        while len(self._uploads) > UPLOADS_KEPT:
            oldest, _ = self._uploads.popitem(last=False)
            self.emu.uploads.pop(oldest, None)
        return web.json_response({"id": str(attachment.id), "filename": attachment.filename, "size": attachment.size})

    async def command(self, request: web.Request) -> web.Response:
        try:
            body = await read_json(request)
            member = self._member(body.get("member"))
            name = str(body.get("name", ""))
            command = next((command for command in self._commands() if command["name"] == name), None)
            if command is None:
                raise PageError(f"/{name} is not one of the bot's commands")
            options = command_options(command, body.get("options") or {}, lambda id_: self._upload_of(member, id_))
            interaction = await self.emu.send_slash_command(name, options, user=member)
        except (PageError, ValueError, AssertionError) as error:
            return web.json_response({"error": str(error)}, status=400)
        return web.json_response(await self._answer(interaction))

    async def press(self, request: web.Request) -> web.Response:
        try:
            body = await read_json(request)
            member = self._member(body.get("member"))
            message = self._message_for(member, body.get("message"))
            interaction = await self.emu.click_button(message, str(body.get("custom_id", "")), user=member)
        except (PageError, ValueError, AssertionError) as error:
            return web.json_response({"error": str(error)}, status=400)
        return web.json_response(await self._answer(interaction))

    async def choose(self, request: web.Request) -> web.Response:
        try:
            body = await read_json(request)
            member = self._member(body.get("member"))
            message = self._message_for(member, body.get("message"))
            custom_id = str(body.get("custom_id", ""))
            values = strings(body.get("values"))
            items = (item for row in message.components for item in row.get("components", []))
            select = next((i for i in items if i.get("type") == SELECT and i.get("custom_id") == custom_id), None)
            if select is None:
                raise PageError("that message has no such menu")
            check_choice(select, values)
            interaction = await self.emu.choose(message, custom_id, values, user=member)
        except (PageError, ValueError, AssertionError) as error:
            return web.json_response({"error": str(error)}, status=400)
        return web.json_response(await self._answer(interaction))

    async def submit(self, request: web.Request) -> web.Response:
        """A form the bot opened, sent back once, by the member it was opened for (Cancel sends nothing)."""
        try:
            body = await read_json(request)
            member = self._member(body.get("member"))
            opened = self._form_for(member, body.get("interaction"))
            await self.emu.submit_modal(opened, form_values(body.get("values") or {}), user=member)
        except (PageError, ValueError, AssertionError) as error:
            return web.json_response({"error": str(error)}, status=400)
        self._forms.pop(opened.id, None)
        return web.json_response({"ok": True})

    async def _answer(self, interaction: Interaction) -> dict[str, Any]:
        """Once the bot acknowledged `interaction`: the form it opened, if it answered with one."""
        with contextlib.suppress(AssertionError):  # no answer in time: Discord would say the interaction failed
            await self.emu.wait_for(lambda: interaction.acknowledged, timeout=ANSWER_TIMEOUT, what="the bot's answer")
        if interaction.modal is None:
            return {"ok": True, "answered": interaction.acknowledged}
        stale = time.perf_counter() - FORM_LIFETIME
        for key in [key for key, old in self._forms.items() if old.created_at < stale]:
            del self._forms[key]
        self._forms[interaction.id] = interaction
        return {"ok": True, "answered": True, "form": {**interaction.modal, "interaction": str(interaction.id)}}

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
        for message in list(self.emu.messages.values()):
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

    def _upload_of(self, member: User, attachment_id: int) -> Attachment | None:
        """An image this member uploaded (and the sandbox still keeps)."""
        attachment = self.emu.uploads.get(attachment_id)
        return attachment if attachment is not None and self._uploads.get(attachment_id) == member.id else None

    def _form_for(self, member: User, interaction_id: Any) -> Interaction:
        with contextlib.suppress(TypeError, ValueError):
            opened = self._forms.get(int(interaction_id))
            if opened is not None and opened.user.id == member.id:
                return opened
        raise PageError("that form is closed; press the button again")

    def _message_for(self, member: User, message_id: Any) -> Message:
        """A message this member can see, to press or choose in."""
        with contextlib.suppress(TypeError, ValueError):
            message = self.emu.messages.get(int(message_id))
            if message is not None and self._shows(message, member):
                return message
        raise PageError("that message is gone")

    def _dm_of(self, member: User) -> Channel | None:
        """The member's direct messages with the bot, once the bot has opened them."""
        return next(
            (c for c in self.emu.channels.values() if c.recipient is not None and c.recipient.id == member.id), None
        )

    def _shows(self, message: Message, member: User, *, include_deleted: bool = False) -> bool:
        """The page's channel and each member's own DMs with the bot; private replies to the member who asked."""
        if message.deleted and not include_deleted:
            return False
        channel = self.emu.channels.get(message.channel_id)
        if channel is None:
            return False
        if channel.recipient is not None:
            if channel.recipient.id != member.id:
                return False
        elif channel.id != self.emu.channel.id:
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
            "dm": message.guild_id is None,
        }
        return view


async def _send(socket: web.WebSocketResponse, payload: dict[str, Any]) -> None:
    with contextlib.suppress(ConnectionError, RuntimeError):
        await socket.send_str(json.dumps(payload))


def _static(name: str) -> str:
    return resources.files("sandbox").joinpath("static", name).read_text(encoding="utf-8")
