"""One Engine for the whole session: the embedded default model, loaded once, 3 steps."""

from __future__ import annotations

import numpy as np
import pytest


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
