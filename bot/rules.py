"""A server's rules for the jobs made in it: the channels images may be made in, banned words, who counts
as an admin, whether a member may press the buttons under someone else's images — and that a job belongs
to the server it was made in, so none of this can be walked around from another server, a DM or an old id."""

from __future__ import annotations

import re
import unicodedata

import discord

from bot.errors import UserFacingError
from bot.job_lookup import find_job
from bot.member_settings import MemberSettings
from jobs import JobService
from jobs.views import GuildConfigView, JobView

# Latin letters' look-alikes from other scripts that NFKC leaves alone (Cyrillic, Greek), as people use them
# to walk around word filters.
LOOKALIKES = str.maketrans(
    "аеорсухіјѕԁԛԝАВЕКМНОРСТХІЈЅοαεικνρτυχΟΑΒΕΖΗΙΚΜΝΡΤΥΧ",
    "aeopcyxijsdqwABEKMHOPCTXIJSoaeikvptuxOABEZHIKMNPTYX",
)


def normalized(text: str) -> str:
    """The text a word filter should see: compatibility forms folded (full-width letters, ligatures, circled
    letters), accents and invisible formatting characters (zero-width spaces and joiners, soft hyphens,
    bidi marks) removed, look-alike letters mapped to Latin, case folded."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(char for char in decomposed if unicodedata.category(char) not in ("Mn", "Cf"))
    return unicodedata.normalize("NFKC", kept).translate(LOOKALIKES).casefold()


def banned_words_in(prompt: str, banned_words: tuple[str, ...]) -> list[str]:
    """Whole-word matches after normalising both sides, so banning "ass" leaves "class" alone and "ｇｏｒｅ",
    "go\u200bre" or "GÖRE" are caught as "gore"."""
    text = normalized(prompt)
    return [
        word
        for word in banned_words
        if (wanted := normalized(word).strip()) and re.search(rf"(?<!\w){re.escape(wanted)}(?!\w)", text)
    ]


class ServerRules:
    """Given the job service (which stores each server's configuration), members' settings, the operator's
    ADMIN_ROLE_ID and the banned words for DMs (DM_BANNED_WORDS, when the operator allows DMs at all)."""

    def __init__(
        self,
        jobs: JobService,
        member_settings: MemberSettings,
        admin_role_id: int | None,
        *,
        dm_banned_words: tuple[str, ...] = (),
    ) -> None:
        self._jobs = jobs
        self._member_settings = member_settings
        self._admin_role_id = admin_role_id
        self._dm_banned_words = dm_banned_words

    async def check_allowed(self, interaction: discord.Interaction, prompt: str, *, home: int | None = None) -> None:
        """The server's channel rules and banned words, for every job a command or a button starts or an image
        it posts: a word banned after a grid was made stops its 🔄, V, U, /show and /reproduce too. In DMs (a
        member's private results), the banned words of `home`, the server the job came from, apply as well."""
        if interaction.guild_id is None:
            banned, where = self._dm_banned_words, "DMs with this bot don't"
            if home is not None:
                home_words = (await self._jobs.guild_config(home)).banned_words
                if found := banned_words_in(prompt, home_words):
                    raise UserFacingError(f"The server this job came from doesn't allow: {', '.join(found)}.")
        else:
            config = await self._jobs.guild_config(interaction.guild_id)
            check_channel(config, interaction.channel_id)
            banned, where = config.banned_words, "This server doesn't"
        found = banned_words_in(prompt, banned)
        if found:
            raise UserFacingError(f"{where} allow these words in prompts: {', '.join(found)}.")

    async def job_for(self, interaction: discord.Interaction, job_id: str, *, posting: bool) -> JobView:
        """The job `job_id` names, if this member may use it here.

        A hidden (deleted) job is gone for everyone. A job belongs to the server it was made in: elsewhere
        (another server, a DM) only its owner may use it, and a job made in DMs is only ever its owner's (every
        member's DMs are outside any server, so "the same place" means nothing there). Someone else's job obeys
        its owner's "others may press my buttons" setting, and whatever `posting` shows or makes here obeys this
        server's channel rules and banned words.
        """
        job = await find_job(self._jobs, job_id)
        if job.hidden_at is not None:
            raise UserFacingError(f"Job `{job.public_id}` was deleted, so it can't be shown, reproduced or used.")
        if interaction.user.id != job.user_id:
            if job.guild_id is None or job.guild_id != interaction.guild_id:
                raise UserFacingError(
                    f"Job `{job.public_id}` was made somewhere else; only the member who made it can use it here."
                )
            await self.check_may_press(interaction, job)
        if posting:
            await self.check_allowed(interaction, job.raw_prompt, home=job.guild_id)
        return job

    async def check_may_press(self, interaction: discord.Interaction, job: JobView) -> None:
        """Pressing someone else's button makes a job of your own, unless they switched that off."""
        if interaction.user.id == job.user_id:
            return
        owner = await self._member_settings.get(job.user_id)
        if not owner.others_may_use_buttons:
            raise UserFacingError(
                f"<@{job.user_id}> keeps the buttons on their images to themselves. "
                "Use /imagine, or ask them to allow it in /settings."
            )

    async def is_admin(self, interaction: discord.Interaction) -> bool:
        """The server owner, a member with Discord's Administrator permission, or one with the admin role (set by
        /config or ADMIN_ROLE_ID)."""
        guild = interaction.guild
        if guild is None or not isinstance(interaction.user, discord.Member):
            return False
        if guild.owner_id == interaction.user.id or interaction.permissions.administrator:
            return True
        config = await self._jobs.guild_config(guild.id)
        admin_roles = {role_id for role_id in (config.admin_role_id, self._admin_role_id) if role_id}
        return any(role.id in admin_roles for role in interaction.user.roles)

    async def is_moderator(self, interaction: discord.Interaction) -> bool:
        """An admin, or a member with Discord's Manage Messages in this channel: who may delete anyone's images
        (🗑️), as they may delete the bot's messages in Discord itself. The permissions are those Discord resolved
        for this member in this channel (roles and channel overwrites), sent with the interaction."""
        if interaction.guild is None:
            return False
        return interaction.permissions.manage_messages or await self.is_admin(interaction)


def check_channel(config: GuildConfigView, channel_id: int | None) -> None:
    if config.allowed_channel_ids and channel_id not in config.allowed_channel_ids:
        channels = ", ".join(f"<#{allowed}>" for allowed in config.allowed_channel_ids)
        raise UserFacingError(f"Images can't be made in this channel on this server; use {channels}.")
