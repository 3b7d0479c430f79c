"""The sandbox in a real browser: a member types /imagine, sees the grid, presses U1 and V1; another member
presses the first member's 🔄. The real bot, queue and engine (the embedded model, 2 steps) behind it."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.constants import BotSettings
from engine.settings import EngineSettings
from jobs import JobService, JobSettings
from sandbox.app import Sandbox, SandboxSettings
from tests.paths import REPO_ROOT
from tests.sandbox.conftest import CHROMIUM_ARGS

pytestmark = pytest.mark.slow

TINY = EngineSettings(_env_file=None, default_steps=2, max_pixels=64 * 64)
STEP_TIMEOUT = 120_000  # milliseconds, for each thing the page waits for; a loaded 2-core machine
# Set to write the screenshot the README shows (docs/sandbox.png) from this test's run.
SCREENSHOT_ENV = "SANDBOX_SCREENSHOT"


def build_tiny_engine(device: str):
    import torch

    from engine.engine import Engine

    torch.set_num_threads(1)
    return Engine(TINY, device=device)


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    jobs = JobService(
        JobSettings(_env_file=None, data_dir=tmp_path / "data", stop_timeout=0),
        devices=["cpu"],
        engine_factory=build_tiny_engine,
    )
    settings = SandboxSettings(_env_file=None, sandbox_port=0)
    bot_settings = BotSettings(_env_file=None, progress_edit_interval=0.5)
    async with Sandbox(settings, jobs, bot_settings=bot_settings, engine_settings=TINY) as running:
        yield running


async def test_members_use_the_bot_in_the_browser(sandbox: Sandbox, chromium: Path, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 1000, "height": 1500})
        page.set_default_timeout(STEP_TIMEOUT)
        await page.goto(sandbox.url)
        await page.wait_for_selector("#member option", state="attached")

        # "/" lists the commands the bot registered, from its own command sync
        await page.fill("#input", "/")
        suggestions = await page.inner_text("#suggestions")
        for command in ("/imagine", "/reproduce", "/show", "/history", "/info", "/settings", "/cancel"):
            assert command in suggestions

        await page.fill("#input", "/imagine a red circle on a blue background --seed 1")
        await page.press("#input", "Enter")
        receipt = page.locator("article.ephemeral", has_text="Queued as job")
        await receipt.wait_for()
        assert "Only you can see this" in await receipt.inner_text()
        grid = page.locator("article", has=page.locator("button", has_text="U1")).first
        await grid.locator("img").wait_for()
        assert await grid.locator("img").evaluate("image => image.complete && image.naturalWidth") == 128

        await grid.locator("button", has_text="U1").click()
        tile = page.locator("article", has_text="Image #1")
        await tile.locator("img").wait_for()
        await tile.locator("button", has_text="Vary (Strong)").wait_for()

        await grid.locator("button", has_text="V1").click()
        variations = page.locator("article", has_text="Variations (Strong) by @alice")
        await variations.locator("button", has_text="U4").wait_for()

        await page.select_option("#member", label="bob")
        await page.wait_for_selector("article button:has-text('U1')")
        first_grid = (
            page.locator("article", has_text="a red circle on a blue background")
            .filter(has=page.locator("button", has_text="🔄"))
            .first
        )
        await first_grid.locator("button", has_text="🔄").click()
        rerolled = page.locator("article", has_text="@bob").filter(has=page.locator("button", has_text="U1"))
        await rerolled.locator("img").wait_for()
        assert await page.locator("article.ephemeral", has_text="Queued as job").count() == 1  # bob's own only

        screenshot = tmp_path / "sandbox.png"
        await page.select_option("#member", label="alice")
        await page.locator("article img").last.wait_for()
        await page.screenshot(path=str(screenshot))
        await browser.close()
    if os.environ.get(SCREENSHOT_ENV):
        shutil.copy(screenshot, REPO_ROOT / "docs" / "sandbox.png")
