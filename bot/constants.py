"""Bot configuration, read from the environment (and `.env`) by pydantic-settings."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.cooldowns import Rate

# Discord's default upload cap for channel messages since 2025-01; interactions report their own.
CHANNEL_UPLOAD_LIMIT = 10 * 1024 * 1024


class BotSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore", protected_namespaces=())

    discord_token: SecretStr | None = None
    # Commands sync to these guilds at once; with none, they sync globally (which can take up to an hour).
    guild_ids: Annotated[list[int], NoDecode] = []
    # Point the unmodified discord.py client at another Discord (the test emulator); None keeps Discord's own.
    discord_api_base_url: str | None = None
    discord_gateway_url: str | None = None
    # Members with this role may delete anyone's images and change the guild configuration.
    admin_role_id: int | None = None
    progress_edit_interval: float = 2.0
    # Images re-encoded for upload at once (U1–U4, /show, finished grids), each on a thread of its own.
    encode_concurrency: int = Field(default=2, ge=1)
    channel_upload_limit: int = CHANNEL_UPLOAD_LIMIT
    # Prometheus /metrics and /health for operators (docs/operations.md); port 0 means off.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=0, ge=0, le=65535)
    # Commands in direct messages with the bot, where no server's rules apply: off unless the operator allows
    # them, with banned words of their own.
    allow_dms: bool = False
    dm_banned_words: Annotated[list[str], NoDecode] = []
    # Image prompts (an attachment, URLs at the start of a prompt, /blend): the largest file, the time a download
    # may take, and whether addresses on this machine's networks may be fetched (never on a public bot: a
    # member could make it read the operator's LAN; the tests serve images from 127.0.0.1).
    image_prompt_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    image_fetch_timeout: float = Field(default=10.0, gt=0)
    image_fetch_private_addresses: bool = False
    # Jobs one /imagine may make with --repeat and {permutations}, and one press of Imagine all under /describe.
    max_jobs_per_prompt: int = Field(default=4, ge=1, le=40)
    # Per-member cooldowns, USES/SECONDS (a token bucket: that many at once, then one every SECONDS/USES),
    # or `off`. The queue's caps bound the GPU work; these keep one member from hammering the bot.
    cooldown_imagine: Annotated[Rate | None, NoDecode] = Rate(3, 30)
    cooldown_show: Annotated[Rate | None, NoDecode] = Rate(5, 60)
    cooldown_reproduce: Annotated[Rate | None, NoDecode] = Rate(3, 60)
    cooldown_blend: Annotated[Rate | None, NoDecode] = Rate(2, 60)
    """/blend downloads and re-encodes up to five images before the queue's caps can refuse the job."""
    cooldown_buttons: Annotated[Rate | None, NoDecode] = Rate(10, 30)
    """Every button under an image, whichever it is."""

    @field_validator(
        "cooldown_imagine", "cooldown_show", "cooldown_reproduce", "cooldown_blend", "cooldown_buttons", mode="before"
    )
    @classmethod
    def _parse_rate(cls, value: object) -> object:
        return Rate.parse(value) if isinstance(value, str) else value

    @field_validator("dm_banned_words", mode="before")
    @classmethod
    def _split_words(cls, value: object) -> object:
        """`DM_BANNED_WORDS=gore, blood` in .env."""
        if isinstance(value, str):
            return [word.strip() for word in value.split(",") if word.strip()]
        return value

    def cooldowns(self) -> dict[str, Rate | None]:
        """By action: the slash commands that have one, and `buttons`. /describe queues a job as /imagine does, so
        it has /imagine's rate (in a bucket of its own)."""
        return {
            "imagine": self.cooldown_imagine,
            "describe": self.cooldown_imagine,
            "show": self.cooldown_show,
            "reproduce": self.cooldown_reproduce,
            "blend": self.cooldown_blend,
            "buttons": self.cooldown_buttons,
        }

    @field_validator("guild_ids", mode="before")
    @classmethod
    def _split_guild_ids(cls, value: object) -> object:
        """Accept `GUILD_IDS=123,456` as well as a list, because that is how people write it in .env."""
        if isinstance(value, str):
            parts = [part.strip() for part in value.replace(";", ",").split(",")]
            try:
                return [int(part) for part in parts if part]
            except ValueError:
                raise ValueError(f"GUILD_IDS must be comma-separated numeric guild ids, got {value!r}") from None
        return value
