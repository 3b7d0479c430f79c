"""`python -m bot`: run the Discord bot with the job service in one process; without a token, the sandbox."""

from __future__ import annotations

import argparse
import logging
import sys

import discord
from pydantic import ValidationError

from bot.client import ImagineBot
from bot.constants import BotSettings
from bot.endpoints import use_discord_endpoints
from engine.budgets import limit_decoded_pixels
from engine.settings import EngineSettings
from engine.version import installed_version
from jobs.logs import LogSettings, log_json_lines
from jobs.service import JobService, ModelDownloadFailed
from jobs.settings import JobSettings
from sandbox.app import SandboxSettings
from sandbox.app import run as run_sandbox

NO_TOKEN = """\
No DISCORD_TOKEN is set, so the bot starts in its sandbox: a local Discord and a page in your browser.
To connect a real Discord server, create a bot at https://discord.com/developers/applications, put its
token in the environment or in a .env file here (DISCORD_TOKEN=...), and start again
(step by step: docs/discord-setup.md).
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Only --help and --version: everything else is configured by environment variables, as in a container."""
    parser = argparse.ArgumentParser(
        prog="imagine-bot",
        description="Run the Discord bot and the job queue in one process; with no DISCORD_TOKEN (or SANDBOX=1), "
        "in a local sandbox you open in a browser. Settings come from the environment or a .env file in the "
        "working directory; .env.example lists them.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {installed_version()}")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    parse_args(argv)
    try:
        settings = BotSettings()
        engine_settings = EngineSettings()
        sandbox_settings = SandboxSettings()
        log_settings = LogSettings()
    except ValidationError as error:
        print(f"The bot's configuration is invalid:\n{error}", file=sys.stderr)
        return 2
    limit_decoded_pixels(engine_settings.max_pixels, engine_settings.upscale_budget)
    no_token = settings.discord_token is None or not settings.discord_token.get_secret_value().strip()
    if no_token or sandbox_settings.sandbox:
        if no_token:
            print(NO_TOKEN, file=sys.stderr)
        try:
            return run_sandbox(sandbox_settings, engine_settings)
        except (ModelDownloadFailed, OSError) as error:  # OSError: the sandbox's port is taken, say
            print(f"The sandbox could not start: {error}", file=sys.stderr)
            return 2
    use_discord_endpoints(settings.discord_api_base_url, settings.discord_gateway_url)
    jobs = JobService(JobSettings())
    bot = ImagineBot(settings, jobs, engine_settings=engine_settings)
    if log_settings.log_format == "json":
        log_json_lines(logging.INFO)
    else:
        discord.utils.setup_logging(level=logging.INFO)
    try:
        bot.run(settings.discord_token.get_secret_value(), log_handler=None)
    except discord.LoginFailure:
        print("Discord refused DISCORD_TOKEN: copy the bot token again (Bot → Reset Token).", file=sys.stderr)
        return 2
    except ModelDownloadFailed as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
