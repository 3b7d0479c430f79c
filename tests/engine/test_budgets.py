"""Pixel budgets: every operation stays within MAX_PIXELS, upscales within UPSCALE_MAX_PIXELS, pans within 4:1,
whatever chain of buttons a member presses, and stored requests are held to the budget of today."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.budgets import fit_within, pan_refusal, upscale_refusal
from engine.request import Direction, GenerationRequest
from engine.results import RequestError

BUDGET = 64 * 64  # the embedded model's own size: an upscale budget of 4 × that, 128 × 128


@given(
    st.integers(8, 20_000),
    st.integers(8, 20_000),
    st.integers(64 * 64, 4096 * 4096),
    st.sampled_from([8, 16, 64]),
)
def test_a_size_fitted_within_a_budget_keeps_it_its_multiple_and_roughly_its_aspect(width, height, budget, multiple):
    fitted = fit_within((width, height), budget, multiple)
    assert fitted[0] * fitted[1] <= max(budget, multiple * multiple)
    assert fitted[0] % multiple == 0 or fitted[0] == width
    if width * height <= budget:
        assert fitted == (width, height)
    elif min(fitted) > 4 * multiple:  # rounding to the multiple moves the aspect of small sides
        assert abs(fitted[0] / fitted[1] - width / height) <= 0.15 * width / height


def test_the_refusals_name_the_size_and_the_limit() -> None:
    assert upscale_refusal(64, 64, 4 * BUDGET) is None
    assert "128×128; upscaled it would be 256×256 (0.07 MP)" in upscale_refusal(128, 128, 4 * BUDGET)
    assert pan_refusal(256, 96, Direction.LEFT) is None
    assert "wider than 4:1" in pan_refusal(256, 64, Direction.RIGHT)


@pytest.fixture(scope="module")
def budget_engine():
    from engine.engine import Engine
    from engine.settings import EngineSettings

    return Engine(EngineSettings(_env_file=None, default_steps=2, engine_device="cpu", max_pixels=BUDGET))


def run(engine, operation: str, source: Path, tmp: Path, **fields) -> Path:
    """The operation on `source`; its first image saved, so the next press can start from it."""
    from engine.outputs import save_result

    request = GenerationRequest(
        operation=operation, prompt="a red circle", seed=3, count=1, source_image=str(source), **fields
    )
    return save_result(engine.run(request), tmp / f"{operation}-{len(list(tmp.iterdir()))}").images[0]


def size_of(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as image:
        return image.size


def test_an_upscale_chain_stops_at_the_cap_and_nothing_bigger_is_stored(budget_engine, tmp_path) -> None:
    from engine.outputs import save_result

    first = save_result(budget_engine.run(GenerationRequest(prompt="a red circle", seed=3, count=1)), tmp_path / "a")
    upscaled = run(budget_engine, "upscale", first.images[0], tmp_path, mode="subtle")
    assert size_of(upscaled) == (128, 128)  # 4 × the budget: the upscale cap
    with pytest.raises(RequestError, match="more than this server's upscale limit"):
        run(budget_engine, "upscale", upscaled, tmp_path, mode="subtle")
    # Vary and zoom of the largest image there is still stay within MAX_PIXELS (scaled down first).
    for operation, fields in (("variation", {"mode": "strong"}), ("zoom", {})):
        made = run(budget_engine, operation, upscaled, tmp_path, **fields)
        assert size_of(made)[0] * size_of(made)[1] <= BUDGET


def test_panning_one_way_grows_within_the_budget_then_stops_at_4_to_1(budget_engine, tmp_path) -> None:
    from engine.outputs import save_result

    image = save_result(budget_engine.run(GenerationRequest(prompt="a red circle", seed=3, count=1)), tmp_path / "a")
    current = image.images[0]
    for _ in range(10):
        try:
            current = run(budget_engine, "pan", current, tmp_path, direction="left")
        except RequestError as refusal:
            assert "wider than 4:1" in str(refusal)
            break
        width, height = size_of(current)
        assert width * height <= BUDGET and width / height <= 4
    else:
        pytest.fail("ten pans one way were all allowed")


def test_a_stored_request_past_a_lowered_budget_is_refused(budget_engine) -> None:
    stored = GenerationRequest(prompt="a red circle", width=512, height=512, steps=2, guidance=7.0, sampler="euler")
    with pytest.raises(RequestError, match=r"512×512 images \(0.26 MP\), more than this server allows"):
        budget_engine.run(stored)
