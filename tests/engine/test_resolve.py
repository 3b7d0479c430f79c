"""Engine.resolve: the stored request has every setting filled in."""

from __future__ import annotations

import pytest

from engine.request import GenerationRequest


def test_resolve_fills_size_steps_guidance_sampler_and_chaos_seed(engine):
    resolved = engine.resolve(GenerationRequest(prompt="a star", seed=9, aspect=(3, 2)))
    assert resolved.is_resolved
    assert resolved.width > resolved.height and resolved.width % 16 == 0 and resolved.height % 16 == 0
    assert (resolved.steps, resolved.guidance, resolved.sampler, resolved.chaos_seed) == (3, 7.0, "euler", 9)
    assert engine.resolve(resolved) == resolved


def test_explicit_settings_are_kept(engine):
    resolved = engine.resolve(GenerationRequest(prompt="a star", steps=5, guidance=2.5, sampler="DPM++ 2M Karras"))
    assert (resolved.steps, resolved.guidance, resolved.sampler) == (5, 2.5, "dpm++2m-karras")


def test_a_prompt_longer_than_the_token_window_gets_one_warning(engine):
    window = engine.model().token_window
    prompt = "a " * (window - 2) + "purple star"
    resolved = engine.resolve(GenerationRequest(prompt=prompt))
    assert len(resolved.warnings) == 1
    assert f"reads only {window - 2}" in resolved.warnings[0] and "purple" in resolved.warnings[0]
    assert engine.resolve(resolved).warnings == resolved.warnings
    assert engine.resolve(GenerationRequest(prompt="a small red circle")).warnings == ()


def test_an_unknown_sampler_is_a_request_error(engine):
    from engine.engine import RequestError

    with pytest.raises(RequestError, match="unknown sampler 'warp-drive'"):
        engine.resolve(GenerationRequest(prompt="a star", sampler="warp-drive"))
