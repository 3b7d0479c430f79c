"""Cooldowns as token buckets, on a clock the test moves."""

from __future__ import annotations

import pytest

from bot.constants import BotSettings
from bot.cooldowns import SWEEP_AT, Cooldowns, Rate


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_one_use_per_refill_interval() -> None:
    clock = Clock()
    cooldowns = Cooldowns({"imagine": Rate(3, 30)}, clock)
    assert [cooldowns.take("imagine", 1) for _ in range(3)] == [0, 0, 0]
    assert cooldowns.take("imagine", 1) == pytest.approx(10)
    clock.now += 4
    assert cooldowns.take("imagine", 1) == pytest.approx(6)  # a refused try costs nothing
    clock.now += 6
    assert cooldowns.take("imagine", 1) == 0
    assert cooldowns.take("imagine", 2) == 0  # another member, another bucket
    clock.now += 3600
    assert [cooldowns.take("imagine", 1) for _ in range(4)][:3] == [0, 0, 0]  # refilled to the burst, no more


def test_an_action_without_a_rate_is_never_slowed() -> None:
    cooldowns = Cooldowns({"imagine": None})
    assert all(cooldowns.take(action, 1) == 0 for action in ("imagine", "show") for _ in range(100))


def test_quiet_members_are_forgotten() -> None:
    clock = Clock()
    cooldowns = Cooldowns({"buttons": Rate(1, 10)}, clock)
    for member in range(SWEEP_AT):
        cooldowns.take("buttons", member)
    clock.now += 10
    cooldowns.take("buttons", -1)
    assert len(cooldowns._buckets) == 1


@pytest.mark.parametrize(
    ("written", "rate"), [("3/30", Rate(3, 30)), (" 1 / 2.5s ", Rate(1, 2.5)), ("off", None), ("0", None)]
)
def test_rates_are_written_uses_per_seconds(written: str, rate: Rate | None) -> None:
    assert Rate.parse(written) == rate


@pytest.mark.parametrize("written", ["fast", "3", "0/30", "3/0", "-1/5"])
def test_a_bad_rate_names_the_format(written: str) -> None:
    with pytest.raises(ValueError, match="USES/SECONDS, like 3/30, or off"):
        Rate.parse(written)


def test_blend_has_a_cooldown_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """/blend downloads and re-encodes up to five images per use, before any cap can refuse it."""
    assert BotSettings(_env_file=None).cooldowns()["blend"] == Rate(2, 60)
    monkeypatch.setenv("COOLDOWN_BLEND", "1/90")
    assert BotSettings(_env_file=None).cooldowns()["blend"] == Rate(1, 90)
