"""The REST half of the emulator: the `/api/v10` routes a discord.py bot calls.

Handlers raise `ApiError` for anything Discord would refuse; a middleware turns it into
Discord's `{code, message}` body, records every request and plays injected faults.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from aiohttp import web

from . import errors
from .channels import API_PREFIX, ChannelRoutes, require_bot, snowflake
from .errors import ApiError, json_response
from .messages import decode_json
from .payloads import channel_payload, user_payload
from .state import CommandSync, Fault, RequestRecord, new_snowflake, utc_now
from .webhooks import WebhookRoutes

if TYPE_CHECKING:
    from .server import DiscordEmulator

# Routes served beside the emulated Discord (the sandbox's page) that are not part of it: no faults, no log.
OUTSIDE_DISCORD = "/sandbox/"


class RestApi:
    def __init__(self, emu: DiscordEmulator) -> None:
        self.emu = emu

    def routes(self) -> list[web.RouteDef]:
        p = API_PREFIX
        return [
            web.get(f"{p}/users/@me", self.current_user),
            web.post(f"{p}/users/@me/channels", self.open_dm),
            web.get(f"{p}/oauth2/applications/@me", self.application_info),
            web.get(f"{p}/gateway", self.gateway_info),
            web.get(f"{p}/gateway/bot", self.gateway_info),
            web.put(f"{p}/applications/{{app}}/commands", self.sync_commands),
            web.put(f"{p}/applications/{{app}}/guilds/{{guild}}/commands", self.sync_commands),
            web.get(f"{p}/applications/{{app}}/commands", self.list_commands),
            web.get(f"{p}/applications/{{app}}/guilds/{{guild}}/commands", self.list_commands),
            *WebhookRoutes(self.emu).routes(p),
            *ChannelRoutes(self.emu).routes(p),
        ]

    @web.middleware
    async def middleware(self, request: web.Request, handler) -> web.StreamResponse:
        if request.path == "/" or request.path.startswith(OUTSIDE_DISCORD):  # the sandbox's own page
            return await handler(request)
        path = request.path.removeprefix(API_PREFIX)
        fault = self._take_fault(request.method, path, api=request.path.startswith(API_PREFIX))
        if fault is not None:
            response = _fault_response(fault)
        else:
            try:
                response = await handler(request)
            except ApiError as error:
                response = error.response()
            except web.HTTPException as exc:
                reason = f"{exc.status}: {exc.reason} (the emulator has no {request.method} {path})"
                response = ApiError(exc.status, 0, reason).response()
            except Exception as exc:  # an emulator bug must fail the test fast, not be retried as a 500
                response = ApiError(400, 0, f"Emulator could not handle this request: {exc!r}").response()
        self.emu.requests.append(RequestRecord(request.method, path, response.status))
        self.emu.notify()
        return response

    def _take_fault(self, method: str, path: str, *, api: bool) -> Fault | None:
        """An injected fault first; else, for REST calls (never the gateway's handshake), maybe a random one."""
        for fault in self.emu.faults:
            if fault.matches(method, path):
                fault.remaining -= 1
                return fault
        chaos = self.emu.random_faults
        if api and chaos is not None and chaos.rng.random() < chaos.rate:
            return Fault(re.compile(""), chaos.rng.choice(chaos.statuses), 1, chaos.retry_after)
        return None

    async def open_dm(self, request: web.Request) -> web.Response:
        """The DM channel between the bot and a user (`User.create_dm`), made on first use."""
        require_bot(request, self.emu)
        body = decode_json(await request.read())
        user = self.emu.users.get(snowflake(str(body.get("recipient_id")), "User", errors.UNKNOWN_USER))
        if user is None:
            raise errors.unknown("User", errors.UNKNOWN_USER)
        return json_response(channel_payload(self.emu.dm_channel(user)))

    async def current_user(self, request: web.Request) -> web.Response:
        require_bot(request, self.emu)
        return json_response(user_payload(self.emu.bot_user))

    async def application_info(self, request: web.Request) -> web.Response:
        require_bot(request, self.emu)
        emu = self.emu
        return json_response(
            {
                "id": str(emu.application_id),
                "name": emu.bot_user.username,
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": user_payload(emu.owner),
                "verify_key": "0" * 64,
                "flags": 0,
                "bot": user_payload(emu.bot_user),
            }
        )

    async def gateway_info(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "url": self.emu.gateway_url,
                "shards": 1,
                "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1},
            }
        )

    def _check_application(self, request: web.Request) -> None:
        if request.match_info["app"] != str(self.emu.application_id):
            raise errors.unknown("Application", 10002)

    async def sync_commands(self, request: web.Request) -> web.Response:
        require_bot(request, self.emu)
        self._check_application(request)
        guild_id = snowflake(request.match_info["guild"], "Guild", 10004) if "guild" in request.match_info else None
        submitted = decode_json(await request.read(), expect=list)
        previous = {command["name"]: command["id"] for command in self.emu.commands.get(guild_id, [])}
        echoed = [
            {
                **command,
                "id": previous.get(command["name"], str(new_snowflake())),
                "application_id": str(self.emu.application_id),
                "version": str(new_snowflake()),
                "type": command.get("type", 1),
                **({"guild_id": str(guild_id)} if guild_id is not None else {}),
            }
            for command in submitted
        ]
        self.emu.commands[guild_id] = echoed
        self.emu.command_syncs.append(CommandSync(guild_id=guild_id, commands=echoed, at=utc_now()))
        return json_response(echoed)

    async def list_commands(self, request: web.Request) -> web.Response:
        require_bot(request, self.emu)
        self._check_application(request)
        guild_id = snowflake(request.match_info["guild"], "Guild", 10004) if "guild" in request.match_info else None
        return json_response(self.emu.commands.get(guild_id, []))


def _fault_response(fault: Fault) -> web.Response:
    headers = {"Via": "1.1 google"}
    if fault.status == 429:
        headers.update(
            {
                "Retry-After": str(max(1, round(fault.retry_after))),
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset-After": f"{fault.retry_after:.3f}",
                "X-RateLimit-Scope": "user",
            }
        )
        body = {"message": "You are being rate limited.", "retry_after": fault.retry_after, "global": False, "code": 0}
    else:
        body = {"message": f"{fault.status}: Emulated server error", "code": 0}
    return json_response(body, status=fault.status, headers=headers)
