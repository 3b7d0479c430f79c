"""Per-step progress for diffusers' `callback_on_step_end`: cancel check, progress reports, previews."""

from __future__ import annotations

from engine.outputs import make_grid
from engine.preview import latent_previews
from engine.results import GenerationCancelled, Progress


def step_callback(sdxl: bool, slots: list[tuple[int, bool]], callbacks, cancel, preview: bool):
    """The callback for one run. `slots` holds (request index, kept) for each image in the batch;
    each request's callback sees a preview grid of only its own kept images."""

    def on_step_end(pipe, step, timestep, tensors):
        if cancel is not None and cancel.is_set():
            raise GenerationCancelled()
        if not any(callbacks):
            return {}
        # The dedicated upscaler has no num_timesteps; it always runs its scheduler's full schedule.
        total = getattr(pipe, "num_timesteps", None) or len(pipe.scheduler.timesteps)
        previews = latent_previews(tensors["latents"], sdxl=sdxl) if preview else None
        for index, callback in enumerate(callbacks):
            if callback is None:
                continue
            picture = None
            if previews is not None:
                picture = make_grid(
                    [p for p, (owner, kept) in zip(previews, slots, strict=False) if owner == index and kept]
                )
            callback(Progress(step + 1, total, (step + 1) / total, picture))
        return {}

    return on_step_end
