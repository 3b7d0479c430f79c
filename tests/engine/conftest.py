"""One Engine for the whole session: the embedded default model, loaded once, 3 steps; and one with tiny FLUX
and SD3 models and LoRAs registered, for the family and LoRA tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.tiny_flow import save_tiny_flow_models, save_tiny_lora


@pytest.fixture(scope="session")
def engine():
    import torch

    from engine.engine import Engine
    from engine.settings import EngineSettings

    torch.set_num_threads(1)
    settings = EngineSettings(_env_file=None, model_id=None, default_steps=3, engine_device="cpu", engine_dtype=None)
    return Engine(settings)


def pixels(image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


@pytest.fixture(scope="session")
def flow_models(tmp_path_factory) -> dict[str, Path]:
    """name -> folder of the tiny FLUX and SD3 models, and of a LoRA for each of FLUX and the default model."""
    from diffusers import FluxPipeline, StableDiffusionPipeline

    from engine.default_model import DEFAULT_MODEL_FOLDER

    folder = tmp_path_factory.mktemp("flow-models")
    paths = save_tiny_flow_models(folder)

    paths["flux-lora"] = save_tiny_lora(FluxPipeline.from_pretrained(paths["flux"]), "transformer", folder / "fl", 1)
    default = StableDiffusionPipeline.from_pretrained(DEFAULT_MODEL_FOLDER)
    paths["default-lora"] = save_tiny_lora(default, "unet", folder / "dl", 2)
    return paths


@pytest.fixture(scope="session")
def flow_engine(flow_models):
    """An engine with the tiny FLUX (schnell-style preset: 2 steps, no guidance) and SD3 models registered as an
    operator registers them, and LoRAs for FLUX and the default model."""
    import torch

    from engine.engine import Engine
    from engine.settings import EngineSettings

    torch.set_num_threads(1)
    settings = EngineSettings(
        _env_file=None,
        model_id=None,
        models=f"flux={flow_models['flux']}?size=64&steps=2&guidance=0, sd3={flow_models['sd3']}?steps=2",
        loras=f"fx={flow_models['flux-lora']}?model=flux, ink={flow_models['default-lora']}?weight=0.8",
        default_steps=2,
        max_loaded_models=3,
        engine_device="cpu",
    )
    return Engine(settings)
