"""The check every slash command and button press passes before its handler runs: DMs (off unless the
operator allows them) and the member's cooldown for that action.

discord.py calls it as the command tree's and each persistent button's `interaction_check`; both drop
an interaction silently when the check says no, so the gate answers the member itself.
"""

from __future__ import annotations

import math
from typing import Protocol, cast

import discord

from bot.cooldowns import Cooldowns
from bot.errors import CooldownActive, NotInDMs, UserFacingError, report


class Gated(Protocol):
    gate: Gate


class Gate:
    def __init__(self, cooldowns: Cooldowns, *, allow_dms: bool) -> None:
        self._cooldowns = cooldowns
        self._allow_dms = allow_dms

    async def admit(self, interaction: discord.Interaction) -> bool:
        """True to go on; otherwise the member has been told why, privately. Autocomplete (suggestions while
        typing) cannot be answered with a message and costs no cooldown: it only stops in DMs."""
        if interaction.type is discord.InteractionType.autocomplete:
            return interaction.guild_id is not None or self._allow_dms
        try:
            self.check(interaction)
        except UserFacingError as refusal:
            await report(interaction, refusal)
            return False
        return True

    def check(self, interaction: discord.Interaction) -> None:
        """Commands in DMs need ALLOW_DMS; a button in DMs is under a message the bot sent there (a member's
        private results), and the job it names brings its own rules (`ServerRules.job_for`)."""
        is_command = interaction.type is discord.InteractionType.application_command
        if is_command and interaction.guild_id is None and not self._allow_dms:
            raise NotInDMs(
                "I only make images in servers: commands in direct messages are turned off on this bot. "
                "Use me in a server channel."
            )
        action = action_of(interaction)
        wait = self._cooldowns.take(action, interaction.user.id)
        if wait:
            what = "buttons" if action == "buttons" else f"/{action}"
            raise CooldownActive(
                f"Slow down: {what} can be used {self._cooldowns.rate(action)} per member. "
                f"Try again in {math.ceil(wait)} s."
            )


def action_of(interaction: discord.Interaction) -> str:
    """The cooldown an interaction counts against: its command's name, or `buttons` for any press."""
    if interaction.type is discord.InteractionType.application_command and interaction.command is not None:
        return interaction.command.qualified_name.split()[0]
    return "buttons"


async def admit(interaction: discord.Interaction) -> bool:
    """The gate of the bot that received `interaction`."""
    return await cast(Gated, interaction.client).gate.admit(interaction)
