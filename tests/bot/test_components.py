"""Button ids and layouts: Discord's limits, and ids that parse back into the same button."""

from __future__ import annotations

import importlib

import discord
import pytest

from bot.client import walk_extensions
from bot.custom_ids import MAX_CUSTOM_ID, PersistentButton
from bot.layouts import grid_view, image_view, suggestions_view


def feature_buttons() -> list[type[PersistentButton]]:
    """Every button class the features define, found in the extension modules the bot loads."""
    modules = [importlib.import_module(name) for name in walk_extensions()]
    return [
        value
        for module in modules
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, PersistentButton) and value.__module__ == module.__name__
    ]


DYNAMIC_ITEMS = feature_buttons()

LONGEST_JOB_ID = "x" * 40
LARGEST_USER_ID = 2**64 - 1


def all_buttons() -> list[discord.ui.Item]:
    return [
        *grid_view(LONGEST_JOB_ID, 4, LARGEST_USER_ID).children,
        *image_view(LONGEST_JOB_ID, 16, LARGEST_USER_ID, square=False).children,
        *suggestions_view(LONGEST_JOB_ID, 4, LARGEST_USER_ID).children,
    ]


def test_layouts_fit_discords_limits() -> None:
    views = (grid_view("abcdefghij", 4, 42), image_view("abcdefghij", 1, 1, square=False), suggestions_view("j", 4, 1))
    for view in views:
        rows = [item.row for item in view.children]
        assert max(rows) <= 4 and all(rows.count(row) <= 5 for row in set(rows))
    assert len(image_view("abcdefghij", 1, 1).children) == 15
    assert len(image_view("abcdefghij", 1, 1, square=False).children) == 16


def test_custom_ids_are_short_and_unique() -> None:
    ids = [item.custom_id for item in all_buttons()]
    assert all(len(custom_id) <= MAX_CUSTOM_ID for custom_id in ids)
    for view in (
        grid_view("abcdefghij", 4, 42),
        image_view("abcdefghij", 1, 42),
        suggestions_view("abcdefghij", 4, 42),
    ):
        in_view = [item.custom_id for item in view.children]
        assert len(set(in_view)) == len(in_view)


@pytest.mark.parametrize("button", all_buttons(), ids=lambda item: item.custom_id.split(":")[1])
async def test_each_id_is_claimed_by_exactly_one_dynamic_item(button: discord.ui.Item) -> None:
    owners = [item for item in DYNAMIC_ITEMS if item.__discord_ui_compiled_template__.fullmatch(button.custom_id)]
    assert len(owners) == 1, owners
    match = owners[0].__discord_ui_compiled_template__.fullmatch(button.custom_id)
    rebuilt = await owners[0].from_custom_id(None, button, match)
    assert rebuilt.custom_id == button.custom_id


def test_every_button_of_the_layouts_has_a_feature_that_answers_it() -> None:
    """One class per action; the end-to-end tests press each of them through the emulator."""
    assert sorted(button.spec.action for button in DYNAMIC_ITEMS) == sorted(
        {button.custom_id.split(":")[1] for button in all_buttons()}
    )


def test_custom_ids_keep_the_format_of_buttons_already_posted() -> None:
    """Old messages keep their ids forever; a changed format would leave their buttons dead."""
    grid = [item.custom_id for item in grid_view("abcdefghij", 4, 42).children]
    image = [item.custom_id for item in image_view("abcdefghij", 2, 42).children]
    assert grid == [
        *(f"imagine:upscale:abcdefghij:{index}" for index in range(1, 5)),
        "imagine:reroll:abcdefghij",
        *(f"imagine:vary:abcdefghij:{index}:strong" for index in range(1, 5)),
        "imagine:delete:42",
    ]
    assert image == [
        "imagine:vary:abcdefghij:2:strong",
        "imagine:vary:abcdefghij:2:subtle",
        "imagine:region:abcdefghij:2",
        "imagine:enlarge:abcdefghij:2:subtle",
        "imagine:enlarge:abcdefghij:2:creative",
        "imagine:zoom:abcdefghij:2",
        "imagine:zoom15:abcdefghij:2",
        "imagine:customzoom:abcdefghij:2",
        *(f"imagine:pan:abcdefghij:2:{direction}" for direction in ("left", "right", "up", "down")),
        "imagine:dm:abcdefghij:2",
        "imagine:details:abcdefghij:2",
        "imagine:delete:42",
    ]
    assert "imagine:square:abcdefghij:2" in [
        item.custom_id for item in image_view("abcdefghij", 2, 42, square=False).children
    ]
    assert [item.custom_id for item in suggestions_view("abcdefghij", 4, 42).children] == [
        *(f"imagine:suggestion:abcdefghij:{index}" for index in range(1, 5)),
        "imagine:describe:abcdefghij",
        "imagine:imagineall:abcdefghij",
        "imagine:delete:42",
    ]
