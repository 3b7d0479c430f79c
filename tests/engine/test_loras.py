"""LoRAs: registered by the operator, named by members with --lora, switched per run without reloading the
model, part of the batch key and of the stored record (tiny random LoRAs made by the session fixture)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.engine import RequestError
from engine.flags import FlagError, parse_prompt
from engine.loras import parse_loras
from engine.outputs import a1111_parameters, read_record, save_result
from engine.registry import ModelRegistry, RegisteredModel
from engine.request import GenerationRequest, LoraChoice
from tests.engine.conftest import pixels


def run(engine, model=None, loras=(), **fields):
    request = GenerationRequest(
        prompt="a red circle", seed=3, count=2, model=model, loras=tuple(LoraChoice(**lora) for lora in loras), **fields
    )
    return engine.run(request)


def same(first, second) -> bool:
    return all(np.array_equal(pixels(a), pixels(b)) for a, b in zip(first.images, second.images, strict=True))


@pytest.mark.parametrize("model, lora", [(None, "ink"), ("flux", "fx")])
def test_a_lora_changes_the_pixels_and_weight_0_or_none_gives_the_plain_model_back(flow_engine, model, lora):
    plain = run(flow_engine, model)
    styled = run(flow_engine, model, [{"name": lora}])
    assert not same(plain, styled)
    assert same(run(flow_engine, model, [{"name": lora, "weight": 0.0}]), plain)
    assert same(run(flow_engine, model), plain)  # the adapter stays loaded, disabled
    assert same(run(flow_engine, model, [{"name": lora}]), styled)  # switched back on without reloading


def test_the_registered_weight_is_filled_in_and_recorded_for_exact_reproduction(flow_engine, tmp_path):
    result = run(flow_engine, None, [{"name": "ink"}])
    assert result.request.loras == (LoraChoice(name="ink", weight=0.8),)
    saved = save_result(result, tmp_path)
    replay, index, _ = read_record(saved.images[1])
    assert replay.loras == result.request.loras and index == 1
    again = flow_engine.run(replay)
    assert np.array_equal(pixels(again.images[0]), pixels(result.images[1]))
    assert "<lora:ink:0.8>" in a1111_parameters(result.request, 3, "default")


def test_unregistered_or_foreign_loras_are_refused(flow_engine):
    with pytest.raises(FlagError, match="--lora expects one of this server's LoRAs: fx, ink"):
        parse_prompt("a cat --lora nope", models=flow_engine.registry)
    with pytest.raises(RequestError, match="The LoRA 'nope' is not available"):
        run(flow_engine, None, [{"name": "nope"}])
    with pytest.raises(RequestError, match="made for flux, not for the model 'default'"):
        run(flow_engine, None, [{"name": "fx"}])
    assert parse_prompt("a cat --lora ink:0.5", models=flow_engine.registry).loras == (
        LoraChoice(name="ink", weight=0.5),
    )


def test_only_requests_with_the_same_loras_share_a_batch():
    plain = GenerationRequest(prompt="a", seed=1)
    styled = GenerationRequest(prompt="b", seed=2, loras=(LoraChoice(name="ink"),))
    assert plain.batch_key() != styled.batch_key()
    assert styled.batch_key() == GenerationRequest(prompt="c", seed=5, loras=(LoraChoice(name="ink"),)).batch_key()


def test_always_on_loras_join_every_job_of_their_models_unless_named():
    loras = parse_loras("grain=/l/grain.safetensors?always=1&weight=0.5&model=default&model=xl, ink=/l/ink.safetensors")
    registry = ModelRegistry([RegisteredModel(name="xl", source="org/xl")], loras)
    assert registry.loras.resolve("xl", ()) == (LoraChoice(name="grain", weight=0.5),)
    off = registry.loras.resolve("default", (LoraChoice(name="grain", weight=0.0), LoraChoice(name="ink")))
    assert off == (LoraChoice(name="grain", weight=0.0), LoraChoice(name="ink", weight=1.0))


@pytest.mark.parametrize(
    "text, message",
    [
        ("ink=org/ink", "not a local path"),
        ("ink=/l/ink.safetensors?model=nope", "not registered"),
        ("ink=/l/ink.safetensors?strength=2", "unknown setting"),
        ("ink=/l/a.safetensors, ink=/l/b.safetensors", "registered twice"),
    ],
)
def test_bad_lora_registrations_fail_at_start_up(text, message):
    with pytest.raises(ValueError, match=message):
        ModelRegistry([], parse_loras(text))
