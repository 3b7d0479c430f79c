"""The embedded default model: a tiny Stable-Diffusion-format pipeline trained by this project.

It ships as an ordinary diffusers folder and loads through the same code path as any model;
`MODEL_CARD.md` beside it says what it can draw and how `engine.training` reproduces it.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_MODEL_FOLDER = Path(__file__).parent / "weights"
DEFAULT_MODEL_NAME = "default"
