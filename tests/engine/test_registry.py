"""The model registry: only the operator's models load, a failed load leaves the others serving, and models
stay in memory up to MAX_LOADED_MODELS."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from engine.default_model import DEFAULT_MODEL_FOLDER
from engine.registry import ModelRegistry, RegisteredModel, UnknownModel, parse_models
from engine.request import GenerationRequest
from engine.results import ModelUnavailable
from engine.settings import EngineSettings


def test_models_are_written_as_a_comma_list_or_json_with_presets() -> None:
    [sdxl, turbo] = parse_models(
        "sdxl=stabilityai/stable-diffusion-xl-base-1.0@v1, turbo=stabilityai/sdxl-turbo?steps=4&guidance=0"
    )
    assert (sdxl.name, sdxl.source, sdxl.revision, sdxl.from_hub) == (
        "sdxl",
        "stabilityai/stable-diffusion-xl-base-1.0",
        "v1",
        True,
    )
    assert (turbo.steps, turbo.guidance) == (4, 0.0)
    [local] = parse_models('[{"name": "mine", "source": "/srv/models/mine", "description": "our own", "size": 768}]')
    assert not local.from_hub and local.size == 768


@pytest.mark.parametrize(
    "models, problem",
    [
        ("Bad Name=a/b", "lowercase letters"),
        ("x=a/b?colour=red", "unknown setting"),
        ("x=a/b, x=c/d", "registered twice"),
        ("x", "should look like name="),
        ("x=a/b?steps=999", "less than or equal to 150"),
    ],
)
def test_a_mistake_in_models_stops_the_start_with_the_reason(models: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        EngineSettings(_env_file=None, models=models)


def test_model_id_is_the_default_entry_and_cannot_be_named_twice() -> None:
    registry = EngineSettings(_env_file=None, model_id="org/base", models="fast=org/fast").registry()
    assert registry.names == ("default", "fast") and registry.get(None).source == "org/base"
    with pytest.raises(ValidationError, match="keep one of them"):
        EngineSettings(_env_file=None, model_id="org/base", models="default=org/other")


def test_an_unregistered_name_is_refused_with_the_names_that_exist() -> None:
    registry = ModelRegistry([RegisteredModel(name="turbo", source="stabilityai/sdxl-turbo")])
    with pytest.raises(
        UnknownModel, match="'evil/huge' is not available on this server; choose one of: default, turbo"
    ):
        registry.get("evil/huge")


@pytest.fixture
def two_model_engine(tmp_path: Path):
    from engine.engine import Engine

    (tmp_path / "broken").mkdir()  # a folder that is not a pipeline
    models = f"copy={DEFAULT_MODEL_FOLDER}?size=64, broken={tmp_path / 'broken'}"

    def build(capacity: int) -> Engine:
        settings = EngineSettings(
            _env_file=None, default_steps=2, engine_device="cpu", models=models, max_loaded_models=capacity
        )
        return Engine(settings)

    return build


def test_a_model_that_fails_to_load_leaves_the_current_one_serving(two_model_engine) -> None:
    engine = two_model_engine(1)
    engine.run(GenerationRequest(prompt="a red circle", seed=1, count=1))
    loaded = engine.model()
    with pytest.raises(ModelUnavailable) as refused:
        engine.run(GenerationRequest(prompt="a red circle", seed=1, count=1, model="broken"))
    assert "'broken' could not be loaded" in str(refused.value) and "tmp" not in str(refused.value)  # no path
    assert engine.models.names == ("default",) and engine.model() is loaded  # not unloaded, not reloaded
    engine.run(GenerationRequest(prompt="a red circle", seed=1, count=1))


def test_a_stored_request_for_an_unregistered_model_is_refused_by_the_engine(two_model_engine) -> None:
    with pytest.raises(UnknownModel, match="not available on this server"):
        two_model_engine(1).run(GenerationRequest(prompt="a red circle", count=1, model="someone/else"))


def test_up_to_max_loaded_models_stay_in_memory_least_recently_used_out_first(two_model_engine) -> None:
    one, two = two_model_engine(1), two_model_engine(2)
    for engine in (one, two):
        first = engine.model("default")
        engine.model("copy")
        again = engine.model("default")
        assert (again is first) == (engine is two)  # with room for two, no reload
    assert one.models.names == ("default",) and two.models.names == ("copy", "default")


def test_an_ip_adapter_names_its_weights_file_and_prefetch_downloads_the_hub_ones():
    from engine.prefetch import hub_ip_adapters
    from engine.settings import EngineSettings

    hub = "h94/IP-Adapter/models/ip-adapter_sd15.safetensors"
    models = f"sd=org/sd15?ip_adapter={hub}, mine=/srv/mine?ip_adapter=/srv/ip/ip-adapter.safetensors"
    assert parse_models(models)[0].ip_adapter == hub
    settings = EngineSettings(_env_file=None, model_id=None, models=models)
    assert hub_ip_adapters(settings) == [("sd", hub)]
    for wrong in ("h94/IP-Adapter", "h94/ip.safetensors", "/srv/ip/folder"):
        with pytest.raises(ValueError, match="ip_adapter .* must name the weights file"):
            parse_models(f"sd=org/sd15?ip_adapter={wrong}")
