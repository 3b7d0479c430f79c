"""What FLUX.1 and SD3 share: a patchifying transformer denoiser on a flow-matching schedule.

Their only sampler is the flow-matching Euler scheduler they ship with (diffusers' other schedulers do not
take the shifted sigmas these pipelines pass), and `--tile` is refused: seamless tiling pads convolutions,
and a transformer attends across the whole image instead.

Their image-to-image and inpainting pipelines round the steps a strength denoises up (`ceil(steps × strength)`),
where the UNet ones round down, and any strength above 1 − 1/steps starts from pure noise, ignoring the image:
at 2 steps the default `--iw 1` (0.75), at FLUX.1-schnell's 4 steps `--iw 0.5` (0.875) and Vary (Region) (0.8).
`image_strength` asks them for the UNet's count instead.
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

    def image_strength(self, strength: float, steps: int) -> float:
        denoised = max(1, int(steps * strength))
        if denoised >= steps:
            return 1.0
        # Half a step under the count, so that the pipeline's rounding lands on it whatever the float error.
        return (denoised - 0.5) / steps

    def image_to_image_size(self, width: int, height: int) -> dict:
        # Their image-to-image pipelines default to the native size, whatever the image's size.
        return {"width": width, "height": height}
