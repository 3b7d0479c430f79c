"""A local Discord (REST + gateway) that the real discord.py client talks to: the sandbox's server and the tests'."""

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
