"""Finding the model: clear errors when it is missing, the device rules, the deterministic default."""

from __future__ import annotations

import pytest
import torch

from engine.loading import ModelNotFoundError, choose_device, load_pipeline

CPU = torch.device("cpu")


def test_a_missing_folder_names_the_path_and_the_fix(tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelNotFoundError) as caught:
        load_pipeline(str(missing), torch.float32)
    message = str(caught.value)
    assert str(missing) in message and "local path" in message and "MODEL_ID" in message


def test_a_folder_that_is_not_a_pipeline_is_explained(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no model_index.json"):
        load_pipeline(str(tmp_path), torch.float32)


def test_a_file_that_is_not_a_checkpoint_is_explained(tmp_path):
    notes = tmp_path / "model.txt"
    notes.write_text("not a model")
    with pytest.raises(ModelNotFoundError, match=r"not a \.safetensors or \.ckpt"):
        load_pipeline(str(notes), torch.float32)


def test_an_uncached_hub_id_while_offline_says_what_was_tried(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError) as caught:
        load_pipeline("someone/not-cached-model", torch.float32)
    message = str(caught.value)
    assert "'someone/not-cached-model'" in message
    assert "not in the Hugging Face cache" in message and "HF_HUB_OFFLINE" in message


def test_device_defaults_to_cpu_float32_here_and_obeys_overrides():
    assert choose_device("cpu", None) == (CPU, torch.float32)
    assert choose_device("cpu", "bf16") == (CPU, torch.bfloat16)
    with pytest.raises(ValueError, match="ENGINE_DTYPE 'int8'"):
        choose_device("cpu", "int8")


def test_the_default_model_loads_through_the_folder_path_with_native_size_64(engine):
    model = engine.model()
    assert model.name == "default"
    assert model.native_size == 64


def test_an_unknown_hub_id_fails_quickly_with_the_cause(monkeypatch):
    """Offline here (unreachable hub), online elsewhere (no such repository): one clear error either way."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(ModelNotFoundError) as caught:
        load_pipeline("imagine-bot-tests/no-such-model-7c1e", torch.float32)
    message = str(caught.value)
    assert "'imagine-bot-tests/no-such-model-7c1e'" in message and "not in the Hugging Face cache" in message


@pytest.mark.parametrize(
    "key, pipeline",
    [
        ("model.diffusion_model.input_blocks.0.0.weight", "StableDiffusionPipeline"),
        ("conditioner.embedders.1.model.transformer.resblocks.9.mlp.c_proj.bias", "StableDiffusionXLPipeline"),
    ],
)
def test_an_unusable_checkpoint_file_names_the_pipeline_it_was_tried_as(tmp_path, key, pipeline):
    from safetensors.torch import save_file

    checkpoint = tmp_path / "broken.safetensors"
    save_file({key: torch.zeros(4)}, checkpoint)
    with pytest.raises(ModelNotFoundError) as caught:
        load_pipeline(str(checkpoint), torch.float32)
    assert f"as {pipeline}:" in str(caught.value) and str(checkpoint) in str(caught.value)
