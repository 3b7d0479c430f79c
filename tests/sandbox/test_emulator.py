"""The emulator driven by the real, unmodified discord.py client, the way the bot's tests will."""

from __future__ import annotations

import io
import random
from collections.abc import AsyncIterator

import aiohttp
import discord
import pytest
import pytest_asyncio
from discord import app_commands
from PIL import Image

from sandbox.discord import DiscordEmulator
from tests.sandbox.fixtures import discord_emulator, running_client

__all__ = ["discord_emulator"]


def noise_png(size: int = 32) -> bytes:
    """A PNG that does not compress away, so its size is predictable-ish and its bytes distinctive."""
    rng = random.Random(size)
    image = Image.frombytes("RGB", (size, size), bytes(rng.randrange(256) for _ in range(size * size * 3)))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


PNG = noise_png()


class PressButton(discord.ui.DynamicItem[discord.ui.Button], template=r"press:(?P<job>\w+)"):
    def __init__(self, job: str) -> None:
        super().__init__(discord.ui.Button(label="Press", custom_id=f"press:{job}"))
        self.job = job

    @classmethod
    async def from_custom_id(cls, interaction, item, match):
        return cls(match["job"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            f"pressed {self.job} by {interaction.user.name}",
            file=discord.File(io.BytesIO(PNG), "tile.png"),
            ephemeral=True,
        )


class SampleBot(discord.Client):
    """One `/draw` command that defers, then follows up with a PNG and a persistent button."""

    def __init__(self, guild_id: int) -> None:
        super().__init__(intents=discord.Intents.default(), guild_ready_timeout=0.1)
        self.guild_id = guild_id
        self.tree = app_commands.CommandTree(self)
        self.seen: list[discord.Interaction] = []
        self.command_errors: list[Exception] = []
        self.tree.command(name="draw", description="Draw a picture")(self.draw)
        self.tree.error(self.on_command_error)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(PressButton)
        await self.tree.sync()
        self.tree.copy_global_to(guild=discord.Object(self.guild_id))
        await self.tree.sync(guild=discord.Object(self.guild_id))

    async def draw(self, interaction: discord.Interaction, prompt: str, count: int = 1) -> None:
        self.seen.append(interaction)
        await interaction.response.defer(thinking=True)
        view = discord.ui.View(timeout=None)
        view.add_item(PressButton("job1"))
        await interaction.followup.send(
            content=f"**{prompt}** x{count}", file=discord.File(io.BytesIO(PNG), "grid.png"), view=view, wait=True
        )

    async def on_command_error(self, interaction: discord.Interaction, error: Exception) -> None:
        self.command_errors.append(error)


@pytest_asyncio.fixture
async def bot(discord_emulator: DiscordEmulator) -> AsyncIterator[SampleBot]:
    client = SampleBot(discord_emulator.guild.id)
    async with running_client(client, discord_emulator.bot_token):
        yield client


async def drawn_message(emu: DiscordEmulator, prompt: str = "a cat") -> discord.Message:
    interaction = await emu.send_slash_command("draw", {"prompt": prompt, "count": 2})
    return await emu.wait_for(lambda: interaction.followups and interaction.followups[0], what="the followup")


async def test_login_and_ready_see_the_default_guild(discord_emulator: DiscordEmulator, bot: SampleBot) -> None:
    assert bot.user.id == discord_emulator.bot_user.id
    guild = bot.get_guild(discord_emulator.guild.id)
    assert guild is not None
    assert guild.get_channel(discord_emulator.channel.id).name == "general"


async def test_command_sync_is_recorded_globally_and_for_the_guild(
    discord_emulator: DiscordEmulator, bot: SampleBot
) -> None:
    synced = {(sync.guild_id, tuple(c["name"] for c in sync.commands)) for sync in discord_emulator.command_syncs}
    assert synced == {(None, ("draw",)), (discord_emulator.guild.id, ("draw",))}
    options = discord_emulator.commands[None][0]["options"]
    assert [(o["name"], o["type"]) for o in options] == [("prompt", 3), ("count", 4)]


async def test_slash_command_defers_then_follows_up_with_intact_png(
    discord_emulator: DiscordEmulator, bot: SampleBot
) -> None:
    interaction = await discord_emulator.send_slash_command("draw", {"prompt": "a cat", "count": 2})
    message = await discord_emulator.wait_for(lambda: interaction.followups and interaction.followups[0])

    assert interaction.deferred and not interaction.ephemeral
    assert message is interaction.original
    assert message.content == "**a cat** x2"
    assert message.attachments[0].filename == "grid.png"
    assert message.attachments[0].data == PNG
    assert message.custom_ids() == ["press:job1"]
    assert [version.flags & 128 for version in message.history] == [128, 0]
    assert bot.seen[0].namespace.count == 2


async def test_attachment_url_serves_the_uploaded_bytes(discord_emulator: DiscordEmulator, bot: SampleBot) -> None:
    message = await drawn_message(discord_emulator)
    fetched = await bot.get_channel(discord_emulator.channel.id).fetch_message(message.id)
    assert await fetched.attachments[0].read() == PNG


async def test_button_click_reaches_the_dynamic_item(discord_emulator: DiscordEmulator, bot: SampleBot) -> None:
    message = await drawn_message(discord_emulator)
    bob = discord_emulator.make_user("bob")

    click = await discord_emulator.click_button(message, "press:job1", user=bob)
    reply = await discord_emulator.wait_for(lambda: click.original, what="the button's reply")

    assert reply.content == "pressed job1 by bob"
    assert reply.ephemeral
    assert reply.attachments[0].data == PNG
    assert click.callback_types == [4]


async def test_later_followups_keep_their_ephemeral_flag_and_original_can_be_edited(
    discord_emulator: DiscordEmulator, bot: SampleBot
) -> None:
    interaction = await discord_emulator.send_slash_command("draw", {"prompt": "a dog"})
    await discord_emulator.wait_for(lambda: interaction.followups)
    command = bot.seen[0]

    secret = await command.followup.send("only you", ephemeral=True, wait=True)
    await command.edit_original_response(content="final")

    assert [m.ephemeral for m in interaction.followups] == [False, True]
    assert interaction.followups[1].id == secret.id != interaction.original.id
    assert interaction.original.content == "final"
    with pytest.raises(discord.NotFound):
        await bot.get_channel(discord_emulator.channel.id).fetch_message(secret.id)


async def test_clicking_a_missing_button_is_refused_clearly(discord_emulator: DiscordEmulator, bot: SampleBot) -> None:
    message = await drawn_message(discord_emulator)
    with pytest.raises(ValueError, match="has no button 'press:nope'"):
        await discord_emulator.click_button(message, "press:nope")


async def test_bot_token_edit_of_channel_message_keeps_history(
    discord_emulator: DiscordEmulator, bot: SampleBot
) -> None:
    message = await drawn_message(discord_emulator)
    channel = bot.get_channel(discord_emulator.channel.id)

    edited = await channel.get_partial_message(message.id).edit(content="done", attachments=[])

    assert edited.content == "done" and edited.attachments == []
    assert [version.content for version in message.history] == ["", "**a cat** x2", "done"]
    assert message.history[1].attachments[0].data == PNG
    assert message.edited_at is not None


async def test_channel_message_keeps_existing_attachment_and_adds_a_new_one(
    discord_emulator: DiscordEmulator, bot: SampleBot
) -> None:
    channel = bot.get_channel(discord_emulator.channel.id)
    sent = await channel.send("first", file=discord.File(io.BytesIO(PNG), "a.png"))
    other = noise_png(16)

    edited = await sent.edit(attachments=[sent.attachments[0], discord.File(io.BytesIO(other), "b.png")])

    stored = discord_emulator.messages[sent.id]
    assert [a.filename for a in edited.attachments] == ["a.png", "b.png"]
    assert [a.data for a in stored.attachments] == [PNG, other]
    assert stored.attachments[0].id == sent.attachments[0].id


async def test_deleted_channel_message_is_flagged_not_forgotten(
    discord_emulator: DiscordEmulator, bot: SampleBot
) -> None:
    sent = await bot.get_channel(discord_emulator.channel.id).send("bye")
    await sent.delete()
    assert discord_emulator.messages[sent.id].deleted
    assert sent.id not in [m.id for m in discord_emulator.messages_in()]
    with pytest.raises(discord.NotFound):
        await bot.get_channel(discord_emulator.channel.id).fetch_message(sent.id)


@pytest.mark.parametrize("status", [429, 502])
async def test_transient_failure_is_retried_by_discord_py(
    discord_emulator: DiscordEmulator, bot: SampleBot, status: int
) -> None:
    sent = await bot.get_channel(discord_emulator.channel.id).send("before")
    discord_emulator.fail_next(r"^PATCH /channels/\d+/messages/", status=status)

    await sent.edit(content="after")

    assert discord_emulator.messages[sent.id].content == "after"
    assert [r.status for r in discord_emulator.requests_matching(r"^PATCH /channels/")] == [status, 200]


async def test_followup_rate_limit_is_retried(discord_emulator: DiscordEmulator, bot: SampleBot) -> None:
    discord_emulator.fail_next(r"^POST /webhooks/", status=429)
    message = await drawn_message(discord_emulator)
    assert message.attachments[0].data == PNG
    assert [r.status for r in discord_emulator.requests_matching(r"^POST /webhooks/")] == [429, 200]


async def test_expired_token_fails_with_invalid_webhook_token(
    discord_emulator: DiscordEmulator, bot: SampleBot
) -> None:
    interaction = await discord_emulator.send_slash_command("draw", {"prompt": "late"})
    await discord_emulator.wait_for(lambda: interaction.followups)
    discord_emulator.expire_token(interaction.token)

    with pytest.raises(discord.HTTPException) as raised:
        await bot.seen[0].edit_original_response(content="too late")

    assert (raised.value.status, raised.value.code) == (401, 50027)
    assert interaction.original.content == "**late** x1"


async def test_oversized_upload_is_refused_with_40005(discord_emulator: DiscordEmulator, bot: SampleBot) -> None:
    interaction = await discord_emulator.send_slash_command(
        "draw", {"prompt": "huge"}, attachment_size_limit=len(PNG) - 1
    )
    error = await discord_emulator.wait_for(lambda: bot.command_errors and bot.command_errors[0])

    assert isinstance(error.original, discord.HTTPException)
    assert (error.original.status, error.original.code) == (413, 40005)
    assert bot.seen[0].filesize_limit == len(PNG) - 1
    assert interaction.original.loading and not interaction.followups


async def test_second_acknowledgement_is_rejected_with_40060(discord_emulator: DiscordEmulator, bot: SampleBot) -> None:
    interaction = await discord_emulator.send_slash_command("draw", {"prompt": "once"})
    await discord_emulator.wait_for(lambda: interaction.acknowledged)
    url = f"{discord_emulator.api_base}/interactions/{interaction.id}/{interaction.token}/callback"

    async with aiohttp.ClientSession() as session, session.post(url, json={"type": 5}) as response:
        assert (response.status, (await response.json())["code"]) == (400, 40060)


async def test_gateway_resume_keeps_interactions_flowing(discord_emulator: DiscordEmulator, bot: SampleBot) -> None:
    resumed: list[bool] = []

    async def on_resumed() -> None:
        resumed.append(True)

    bot.on_resumed = on_resumed  # type: ignore[method-assign]
    await bot.ws.close(code=4000)
    await discord_emulator.wait_for(lambda: resumed, what="RESUMED")

    assert (await drawn_message(discord_emulator, "after resume")).content == "**after resume** x2"


async def test_malformed_requests_get_specific_errors(discord_emulator: DiscordEmulator) -> None:
    channel_url = f"{discord_emulator.api_base}/channels/{discord_emulator.channel.id}/messages"
    bot_auth = {"Authorization": f"Bot {discord_emulator.bot_token}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as session:
        async with session.post(channel_url, data=b"{not json", headers=bot_auth) as response:
            assert response.status == 400
            assert "invalid JSON" in (await response.json())["message"]
        async with session.post(channel_url, json={"content": "hi"}) as response:
            assert response.status == 401
        async with session.post(channel_url, json={"content": ""}, headers=bot_auth) as response:
            assert (await response.json())["code"] == 50006
    assert discord_emulator.messages_in() == []
