"""What FLUX.1 and SD3 share: a patchifying transformer denoiser on a flow-matching schedule.

Their only sampler is the flow-matching Euler scheduler they ship with (diffusers' other schedulers do not
take the shifted sigmas these pipelines pass), and `--tile` is refused: seamless tiling pads convolutions,
and a transformer attends across the whole image instead.
"""

from __future__ import annotations

import torch

from engine.families.base import Family

FLOW_SAMPLER = "euler"


class TransformerFamily(Family):
    samplers = (FLOW_SAMPLER,)

    @property
    def denoiser(self) -> torch.nn.Module:
        return self.pipe.transformer

    def __init__(self, pipe) -> None:
        super().__init__(pipe)
        self._scheduler_class = type(pipe.scheduler)

    def scheduler(self, sampler: str):
        return self._scheduler_class.from_config(self._scheduler_config)

    def image_to_image_size(self, width: int, height: int) -> dict:
        # Their image-to-image pipelines default to the native size, whatever the image's size.
        return {"width": width, "height": height}
