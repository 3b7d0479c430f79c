"""A local Discord (REST + gateway) for end-to-end tests of the bot with the real discord.py client."""

from .server import DiscordEmulator
from .state import (
    Attachment,
    Channel,
    CommandSync,
    Guild,
    Interaction,
    Message,
    MessageVersion,
    RequestRecord,
    Role,
    User,
)

__all__ = [
    "Attachment",
    "Channel",
    "CommandSync",
    "DiscordEmulator",
    "Guild",
    "Interaction",
    "Message",
    "MessageVersion",
    "RequestRecord",
    "Role",
    "User",
]
