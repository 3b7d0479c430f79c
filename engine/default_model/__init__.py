"""The embedded default model: trained weights when present, else a deterministic random tiny model."""

from __future__ import annotations

from pathlib import Path

TRAINED_WEIGHTS = Path(__file__).parent / "weights"
RANDOM_MODEL_NAME = "tiny-random"


def trained_weights_available() -> bool:
    return (TRAINED_WEIGHTS / "model_index.json").is_file()


def default_model_folder(data_dir: Path) -> Path:
    """The diffusers folder to load when MODEL_ID is unset, building the random model on first use."""
    if trained_weights_available():
        return TRAINED_WEIGHTS
    from engine.default_model.random_model import ensure_random_model

    return ensure_random_model(Path(data_dir) / "models" / RANDOM_MODEL_NAME)
