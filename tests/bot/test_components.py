"""Button ids and layouts: Discord's limits, and ids that parse back into the same button."""

from __future__ import annotations

import discord
import pytest

from bot.components import DYNAMIC_ITEMS
from bot.components.ids import MAX_CUSTOM_ID
from bot.layouts import grid_view, image_view

LONGEST_JOB_ID = "x" * 40
LARGEST_USER_ID = 2**64 - 1


def all_buttons() -> list[discord.ui.Item]:
    return [*grid_view(LONGEST_JOB_ID, 4).children, *image_view(LONGEST_JOB_ID, 16, LARGEST_USER_ID).children]


def test_layouts_fit_discords_limits() -> None:
    for view in (grid_view("abcdefghij", 4), image_view("abcdefghij", 1, 1)):
        rows = [item.row for item in view.children]
        assert max(rows) <= 4 and all(rows.count(row) <= 5 for row in set(rows))
    assert len(image_view("abcdefghij", 1, 1).children) == 11


def test_custom_ids_are_short_and_unique() -> None:
    ids = [item.custom_id for item in all_buttons()]
    assert all(len(custom_id) <= MAX_CUSTOM_ID for custom_id in ids)
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("button", all_buttons(), ids=lambda item: item.custom_id.split(":")[1])
async def test_each_id_is_claimed_by_exactly_one_dynamic_item(button: discord.ui.Item) -> None:
    owners = [item for item in DYNAMIC_ITEMS if item.__discord_ui_compiled_template__.fullmatch(button.custom_id)]
    assert owners == [type(button)]
    match = owners[0].__discord_ui_compiled_template__.fullmatch(button.custom_id)
    rebuilt = await owners[0].from_custom_id(None, button.item, match)
    assert rebuilt.custom_id == button.custom_id
