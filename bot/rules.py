"""A server's rules for the jobs made in it: the channels images may be made in, banned words, who counts
as an admin, and whether a member may press the buttons under someone else's images."""

from __future__ import annotations

import re

import discord

from bot.errors import UserFacingError
from jobs import JobService
from jobs.views import GuildConfigView, JobView


def banned_words_in(prompt: str, banned_words: tuple[str, ...]) -> list[str]:
    """Whole-word, case-insensitive matches, so banning "ass" leaves "class" alone."""
    return [
        word
        for word in banned_words
        if word.strip() and re.search(rf"(?<!\w){re.escape(word.strip())}(?!\w)", prompt, re.IGNORECASE)
    ]


class ServerRules:
    """Given the job service (which stores each server's configuration) and the operator's ADMIN_ROLE_ID."""

    def __init__(self, jobs: JobService, admin_role_id: int | None) -> None:
        self._jobs = jobs
        self._admin_role_id = admin_role_id

    async def check_allowed(self, interaction: discord.Interaction, prompt: str) -> None:
        """The server's channel rules and banned words, for every job a command or a button starts: a word
        banned after a grid was made stops its 🔄, V, U and /reproduce too."""
        if interaction.guild_id is None:
            return
        config = await self._jobs.guild_config(interaction.guild_id)
        check_channel(config, interaction.channel_id)
        found = banned_words_in(prompt, config.banned_words)
        if found:
            raise UserFacingError(f"This server doesn't allow these words in prompts: {', '.join(found)}.")

    async def check_may_press(self, interaction: discord.Interaction, job: JobView) -> None:
        """Pressing someone else's button makes a job of your own, unless they switched that off."""
        if interaction.user.id == job.user_id:
            return
        owner = await self._jobs.user_settings(job.user_id)
        if not owner.others_may_use_buttons:
            raise UserFacingError(
                f"<@{job.user_id}> keeps the buttons on their images to themselves. "
                "Use /imagine, or ask them to allow it in /settings."
            )

    async def is_admin(self, interaction: discord.Interaction) -> bool:
        """The server owner, or a member with the admin role (set by /config or ADMIN_ROLE_ID)."""
        guild = interaction.guild
        if guild is None or not isinstance(interaction.user, discord.Member):
            return False
        if guild.owner_id == interaction.user.id:
            return True
        config = await self._jobs.guild_config(guild.id)
        admin_roles = {role_id for role_id in (config.admin_role_id, self._admin_role_id) if role_id}
        return any(role.id in admin_roles for role in interaction.user.roles)


def check_channel(config: GuildConfigView, channel_id: int | None) -> None:
    if config.allowed_channel_ids and channel_id not in config.allowed_channel_ids:
        channels = ", ".join(f"<#{allowed}>" for allowed in config.allowed_channel_ids)
        raise UserFacingError(f"Images can't be made in this channel on this server; use {channels}.")
