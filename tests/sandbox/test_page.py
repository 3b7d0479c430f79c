"""The page's routes against the emulator and a small discord.py bot: attachments, forms, select menus and DMs,
as Discord's client sends them. Fast; the browser test drives the same routes through the real page."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest
import pytest_asyncio
from discord import app_commands
from PIL import Image

from sandbox import page as page_module
from sandbox.discord import DiscordEmulator, User
from sandbox.page import STATIC_FILES, SandboxPage
from tests.sandbox.fixtures import running_client

ATTACHMENT_LIMIT = 4096


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    return buffer.getvalue()


class Buttons(discord.ui.View):
    """Under /post's message: a button that opens a form, and a menu."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Edit", custom_id="edit")
    async def edit(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.send_modal(Form())

    @discord.ui.select(custom_id="pick", options=[discord.SelectOption(label=n, value=n) for n in "abc"], max_values=2)
    async def pick(self, interaction: discord.Interaction, select: discord.ui.Select) -> None:
        await interaction.response.send_message(f"picked {','.join(select.values)}", ephemeral=True)


class Form(discord.ui.Modal):
    def __init__(self) -> None:
        super().__init__(title="Remix")
        self.text = discord.ui.TextInput(label="Prompt", default="a red fox", min_length=3, max_length=50)
        self.cells = discord.ui.Select(options=[discord.SelectOption(label=n, value=n) for n in "xyz"], max_values=3)
        self.add_item(self.text)
        self.add_item(discord.ui.Label(text="Cells", component=self.cells))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"got {self.text.value} {','.join(self.cells.values)}", ephemeral=True)


class FormBot(discord.Client):
    def __init__(self, guild_id: int) -> None:
        super().__init__(intents=discord.Intents.default(), guild_ready_timeout=0.1)
        self.guild_id = guild_id
        self.tree = app_commands.CommandTree(self)
        self.tree.command(name="draw", description="Draw")(self.draw)
        self.tree.command(name="post", description="Post buttons")(self.post)
        self.tree.command(name="dm", description="Send a DM")(self.dm)

    async def setup_hook(self) -> None:
        self.add_view(Buttons())
        self.tree.copy_global_to(guild=discord.Object(self.guild_id))
        await self.tree.sync(guild=discord.Object(self.guild_id))

    async def draw(
        self,
        interaction: discord.Interaction,
        prompt: str,
        image: discord.Attachment | None = None,
        steps: app_commands.Range[int, 1, 10] | None = None,
        shape: str | None = None,
    ) -> None:
        about = f"{image.filename} {image.size} {image.content_type} {len(await image.read())}" if image else "none"
        await interaction.response.send_message(f"drew {prompt} image={about} steps={steps}", ephemeral=True)

    async def post(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("buttons", view=Buttons())

    async def dm(self, interaction: discord.Interaction) -> None:
        await interaction.user.send("hello in DMs", view=Buttons())
        await interaction.response.send_message("sent", ephemeral=True)


class Page:
    """The page's routes, as a member's browser calls them."""

    def __init__(self, emu: DiscordEmulator, bob: User, http: aiohttp.ClientSession) -> None:
        self.emu, self.bob, self.http = emu, bob, http

    async def post(self, route: str, member: User, **body: Any) -> tuple[int, dict[str, Any]]:
        async with self.http.post(f"{self.emu.base_url}/sandbox/{route}", json={"member": str(member.id), **body}) as r:
            return r.status, await r.json()

    async def upload(self, member: User, data: bytes, filename: str = "cat.png") -> tuple[int, dict[str, Any]]:
        url = f"{self.emu.base_url}/sandbox/upload"
        params = {"member": str(member.id), "filename": filename}
        async with self.http.post(url, params=params, data=data, headers={"Content-Type": "image/png"}) as r:
            return r.status, await r.json()

    async def messages(self, member: User, place: str = "channel") -> list[dict[str, Any]]:
        params = {"member": str(member.id), "place": place}
        async with self.http.get(f"{self.emu.base_url}/sandbox/messages", params=params) as r:
            return await r.json()


@pytest_asyncio.fixture
async def page() -> AsyncIterator[Page]:
    emu = DiscordEmulator(attachment_size_limit=ATTACHMENT_LIMIT)
    bob = emu.make_user("bob")
    sandbox_page = SandboxPage(emu, [emu.user, bob])
    await emu.start(routes=sandbox_page.routes())
    emu.point_discord_py()
    try:
        async with running_client(FormBot(emu.guild.id), emu.bot_token), aiohttp.ClientSession() as http:
            yield Page(emu, bob, http)
    finally:
        await emu.stop()


async def reply(emu: DiscordEmulator, count: int) -> str:
    """The content of the bot's `count`-th message (channel and DMs)."""
    found = await emu.wait_for(lambda: len(emu.messages) >= count and list(emu.messages.values())[count - 1])
    return found.content


async def test_an_attached_image_goes_up_first_and_comes_with_the_command(page: Page) -> None:
    emu = page.emu
    status, uploaded = await page.upload(emu.user, png(), filename="../My Cat!.png")
    assert status == 200 and uploaded["filename"] == "My_Cat_.png"

    status, answer = await page.post(
        "command", emu.user, name="draw", options={"prompt": "a cat", "image": uploaded["id"]}
    )
    assert (status, answer) == (200, {"ok": True, "answered": True})
    assert await reply(emu, 1) == f"drew a cat image=My_Cat_.png {len(png())} image/png {len(png())} steps=None"

    assert (await page.upload(emu.user, b"<svg onload=alert(1)>", filename="x.png"))[0] == 400
    too_big = png() + bytes(ATTACHMENT_LIMIT)
    status, refused = await page.upload(emu.user, too_big)
    assert status == 400 and "larger than" in refused["error"]
    status, refused = await page.post(
        "command", page.bob, name="draw", options={"prompt": "x", "image": uploaded["id"]}
    )
    assert status == 400 and "a file you attached" in refused["error"]  # only its uploader sends it
    for options in ({"prompt": "x", "steps": 11}, {"prompt": "x", "steps": "2"}, {"steps": 2}, {"prompt": "x", "n": 1}):
        assert (await page.post("command", emu.user, name="draw", options=options))[0] == 400, options
    assert len(emu.interactions) == 1


async def test_a_form_opens_for_the_presser_and_goes_back_once(page: Page) -> None:
    emu = page.emu
    await page.post("command", emu.user, name="post", options={})
    [posted] = await page.messages(emu.user)
    status, answer = await page.post("press", emu.user, message=posted["id"], custom_id="edit")
    form = answer["form"]
    assert status == 200 and form["title"] == "Remix"
    text = form["components"][0]["components"][0]
    cells = form["components"][1]["component"]
    assert text["value"] == "a red fox" and cells["max_values"] == 3

    values = {text["custom_id"]: "a blue fox", cells["custom_id"]: ["x", "z"]}
    status, refused = await page.post("submit", page.bob, interaction=form["interaction"], values=values)
    assert status == 400 and "closed" in refused["error"]
    for wrong in ({text["custom_id"]: "x" * 51}, {text["custom_id"]: "ab"}, {cells["custom_id"]: ["x", "q"]}):
        refused = await page.post("submit", emu.user, interaction=form["interaction"], values={**values, **wrong})
        assert refused[0] == 400, wrong
    assert (await page.post("submit", emu.user, interaction=form["interaction"], values=values)) == (200, {"ok": True})
    assert await reply(emu, 2) == "got a blue fox x,z"
    assert (await page.post("submit", emu.user, interaction=form["interaction"], values=values))[0] == 400


async def test_a_menu_choice_reaches_the_bot(page: Page) -> None:
    emu = page.emu
    await page.post("command", emu.user, name="post", options={})
    [posted] = await page.messages(emu.user)
    for wrong in (["a", "b", "c"], ["d"], "a"):
        assert (await page.post("choose", emu.user, message=posted["id"], custom_id="pick", values=wrong))[0] == 400
    status, answer = await page.post("choose", page.bob, message=posted["id"], custom_id="pick", values=["a", "c"])
    assert status == 200 and "form" not in answer
    assert await reply(emu, 2) == "picked a,c"
    assert [m["content"] for m in await page.messages(page.bob)] == ["buttons", "picked a,c"]
    assert [m["content"] for m in await page.messages(emu.user)] == ["buttons"]


async def test_direct_messages_show_to_their_member_only(page: Page) -> None:
    emu = page.emu
    async with (
        page.http.ws_connect(f"{emu.base_url}/sandbox/events?member={emu.user.id}") as alice_socket,
        page.http.ws_connect(f"{emu.base_url}/sandbox/events?member={page.bob.id}") as bob_socket,
    ):
        await page.post("command", emu.user, name="dm", options={})
        pushed = [await alice_socket.receive_json(timeout=5) for _ in range(2)]
        dm = next(update["message"] for update in pushed if update["message"]["dm"])
        assert dm["content"] == "hello in DMs"
        try:
            update = await bob_socket.receive_json(timeout=0.3)
        except TimeoutError:
            update = None
        assert update is None

    assert [m["content"] for m in await page.messages(emu.user, "dm")] == ["hello in DMs"]
    assert await page.messages(page.bob, "dm") == []
    assert [m["content"] for m in await page.messages(emu.user)] == ["sent"]
    status, refused = await page.post("press", page.bob, message=dm["id"], custom_id="edit")
    assert status == 400 and "gone" in refused["error"]
    status, answer = await page.post("press", emu.user, message=dm["id"], custom_id="edit")
    assert status == 200 and answer["form"]["title"] == "Remix"


async def test_bodies_are_bounded_and_old_uploads_dropped(page: Page, monkeypatch: pytest.MonkeyPatch) -> None:
    emu = page.emu
    status, refused = await page.post("command", emu.user, name="draw", options={"prompt": "x" * 70_000})
    assert status == 400 and "too large" in refused["error"]
    async with page.http.post(f"{emu.base_url}/sandbox/command", data=b"[1, 2]") as response:
        assert response.status == 400

    monkeypatch.setattr(page_module, "UPLOADS_KEPT", 2)
    first, second, third = [(await page.upload(emu.user, png()))[1]["id"] for _ in range(3)]
    assert int(first) not in emu.uploads and {int(second), int(third)} <= set(emu.uploads)
    refused = await page.post("command", emu.user, name="draw", options={"prompt": "x", "image": first})
    assert refused[0] == 400
    assert (await page.post("command", emu.user, name="draw", options={"prompt": "x", "image": third}))[0] == 200


async def test_the_page_and_every_script_it_imports_are_served(page: Page) -> None:
    async with page.http.get(page.emu.base_url + "/") as response:
        assert response.status == 200 and "app.js" in await response.text()
    scripts = {"app.js"}
    for name in sorted(STATIC_FILES):
        async with page.http.get(f"{page.emu.base_url}/sandbox/static/{name}") as response:
            assert response.status == 200, name
            scripts |= set(re.findall(r'from "\./([\w.-]+)"', await response.text()))
    assert len(scripts) > 3 and scripts <= set(STATIC_FILES)
    for name in ("../page.py", "page.py", "nope.js"):
        async with page.http.get(f"{page.emu.base_url}/sandbox/static/{name}") as response:
            assert response.status == 404, name
