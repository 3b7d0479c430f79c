"""The gateway half of the emulator: HELLO, heartbeats, IDENTIFY → READY + GUILD_CREATE, RESUME.

Frames are plain uncompressed JSON text, which discord.py accepts even though it asks for
zlib-stream.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from .payloads import guild_payload, user_payload

if TYPE_CHECKING:
    from .server import DiscordEmulator

DISPATCH, HEARTBEAT, IDENTIFY, RESUME, HELLO, HEARTBEAT_ACK = 0, 1, 2, 6, 10, 11
HEARTBEAT_INTERVAL_MS = 41250
# Gateway intents (bits of IDENTIFY's `intents`) that events here depend on.
GUILD_MESSAGES, DIRECT_MESSAGES = 1 << 9, 1 << 12


class GatewaySession:
    """One websocket connection; it receives dispatches only after IDENTIFY or RESUME."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.session_id = uuid.uuid4().hex
        self.sequence = 0
        self.ready = False

    async def send(self, op: int, data: Any, event: str | None = None) -> None:
        frame: dict[str, Any] = {"op": op, "d": data, "s": None, "t": event}
        if op == DISPATCH:
            self.sequence += 1
            frame["s"] = self.sequence
        await self.ws.send_str(json.dumps(frame))


class Gateway:
    def __init__(self, emu: DiscordEmulator) -> None:
        self.emu = emu
        self.sessions: list[GatewaySession] = []
        self.intents = 0
        """What the bot asked for when it last identified: Discord sends only the events these cover."""

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        session = GatewaySession(ws)
        self.sessions.append(session)
        try:
            await session.send(HELLO, {"heartbeat_interval": HEARTBEAT_INTERVAL_MS})
            async for frame in ws:
                if frame.type is not WSMsgType.TEXT:
                    break
                await self._on_frame(session, json.loads(frame.data))
        finally:
            session.ready = False
            self.sessions.remove(session)
            self.emu.notify()
        return ws

    async def _on_frame(self, session: GatewaySession, frame: dict[str, Any]) -> None:
        op = frame.get("op")
        if op == HEARTBEAT:
            await session.send(HEARTBEAT_ACK, None)
        elif op == IDENTIFY:
            if frame["d"].get("token") != self.emu.bot_token:
                await session.ws.close(code=4004, message=b"Authentication failed.")
                return
            self.intents = int(frame["d"].get("intents") or 0)
            await self._identify(session)
        elif op == RESUME:
            session.session_id = frame["d"].get("session_id", session.session_id)
            session.sequence = frame["d"].get("seq") or 0
            session.ready = True
            await session.send(DISPATCH, {}, "RESUMED")
        self.emu.notify()

    async def _identify(self, session: GatewaySession) -> None:
        emu = self.emu
        ready = {
            "v": 10,
            "user": user_payload(emu.bot_user),
            "guilds": [{"id": str(guild.id), "unavailable": True} for guild in emu.guilds],
            "session_id": session.session_id,
            "resume_gateway_url": emu.gateway_url,
            "application": {"id": str(emu.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
        }
        await session.send(DISPATCH, ready, "READY")
        for guild in emu.guilds:
            members = [user for user in emu.users.values() if user.id in guild.member_roles]
            await session.send(DISPATCH, guild_payload(guild, members), "GUILD_CREATE")
        session.ready = True

    @property
    def connected(self) -> bool:
        return any(session.ready for session in self.sessions)

    async def dispatch(self, event: str, data: dict[str, Any], *, intent: int = 0) -> None:
        """Send an event to every ready session; one that needs an `intent` the bot did not ask for is not sent."""
        if intent and not self.intents & intent:
            return
        for session in self.sessions:
            if session.ready:
                await session.send(DISPATCH, data, event)

    async def close(self) -> None:
        for session in list(self.sessions):
            await session.ws.close()
