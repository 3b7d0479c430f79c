"""Per-step progress for diffusers' `callback_on_step_end`: cancel check, progress reports, previews."""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from PIL import Image

from engine.outputs import make_grid
from engine.results import GenerationCancelled, Progress

RenderPreviews = Callable[[torch.Tensor], list[Image.Image]]


def step_callback(render: RenderPreviews, slots: list[tuple[int, bool]], callbacks, cancel, preview: bool):
    """The callback for one run. `render` turns the step's latents into one preview per image (the model
    family knows its latent layout); `slots` holds (request index, kept) for each image in the batch; each
    request's callback may ask for a preview grid of only its own kept images, rendered then (at most once per
    step for the whole batch), so steps whose previews nobody sends cost nothing."""

    def on_step_end(pipe, step, timestep, tensors):
        if cancel is not None and cancel.is_set():
            raise GenerationCancelled()
        if not any(callbacks):
            return {}
        # The dedicated upscaler has no num_timesteps; it always runs its scheduler's full schedule.
        total = getattr(pipe, "num_timesteps", None) or len(pipe.scheduler.timesteps)
        previews = functools.cache(lambda: render(tensors["latents"]))
        for index, callback in enumerate(callbacks):
            if callback is None:
                continue
            make_preview = functools.partial(_grid_of, previews, slots, index) if preview else None
            callback(Progress(step + 1, total, (step + 1) / total, make_preview))
        return {}

    return on_step_end


def _grid_of(previews, slots: list[tuple[int, bool]], index: int):
    return make_grid(
        [picture for picture, (owner, kept) in zip(previews(), slots, strict=True) if owner == index and kept]
    )
