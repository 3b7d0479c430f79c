"""One tiny-model Engine for the whole session: the random default model, built once, 3 steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def engine_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("engine-data")


@pytest.fixture(scope="session")
def engine(engine_data_dir: Path):
    import torch

    from engine.engine import Engine
    from engine.settings import EngineSettings

    torch.set_num_threads(1)
    settings = EngineSettings(_env_file=None, model_id=None, data_dir=engine_data_dir, default_steps=3,
                              engine_device="cpu", engine_dtype=None)
    return Engine(settings)


def pixels(image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.int16)
