"""Cheap progress previews: a linear latent→RGB projection instead of a VAE decode.

Each family's latent space has its own factors. SD 1.x/2.x and SDXL use the widely used least-squares
fits; SD3 and FLUX.1 (16 latent channels) use the published factors of ComfyUI's `comfy/latent_formats.py`
(SD3 and Flux classes), which act, like ours, on the sampler's scaled latents. For any other latent space
(such as the embedded tiny model) the nearest fit still gives a rough, changing picture, which is all a
progress preview needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from PIL import Image

PREVIEW_UPSCALE = 4


@dataclass(frozen=True)
class LatentFactors:
    """rgb = latent · weights + bias, per pixel; `weights` has one row per latent channel."""

    weights: torch.Tensor
    bias: torch.Tensor


SD_FACTORS = LatentFactors(
    torch.tensor(
        [[0.3512, 0.2297, 0.3227], [0.3250, 0.4974, 0.2350], [-0.2829, 0.1762, 0.2721], [-0.2120, -0.2616, -0.7177]]
    ),
    torch.zeros(3),
)
SDXL_FACTORS = LatentFactors(
    torch.tensor(
        [[0.3651, 0.4232, 0.4341], [-0.2533, -0.0042, 0.1068], [0.1076, 0.1111, -0.0362], [-0.3165, -0.2492, -0.2188]]
    ),
    torch.tensor([0.1084, -0.0175, -0.0011]),
)
SD3_FACTORS = LatentFactors(
    torch.tensor(
        [
            [-0.0922, -0.0175, 0.0749],
            [0.0311, 0.0633, 0.0954],
            [0.1994, 0.0927, 0.0458],
            [0.0856, 0.0339, 0.0902],
            [0.0587, 0.0272, -0.0496],
            [-0.0006, 0.1104, 0.0309],
            [0.0978, 0.0306, 0.0427],
            [-0.0042, 0.1038, 0.1358],
            [-0.0194, 0.0020, 0.0669],
            [-0.0488, 0.0130, -0.0268],
            [0.0922, 0.0988, 0.0951],
            [-0.0278, 0.0524, -0.0542],
            [0.0332, 0.0456, 0.0895],
            [-0.0069, -0.0030, -0.0810],
            [-0.0596, -0.0465, -0.0293],
            [-0.1448, -0.1463, -0.1189],
        ]
    ),
    torch.tensor([0.2394, 0.2135, 0.1925]),
)
FLUX_FACTORS = LatentFactors(
    torch.tensor(
        [
            [-0.0346, 0.0244, 0.0681],
            [0.0034, 0.0210, 0.0687],
            [0.0275, -0.0668, -0.0433],
            [-0.0174, 0.0160, 0.0617],
            [0.0859, 0.0721, 0.0329],
            [0.0004, 0.0383, 0.0115],
            [0.0405, 0.0861, 0.0915],
            [-0.0236, -0.0185, -0.0259],
            [-0.0245, 0.0250, 0.1180],
            [0.1008, 0.0755, -0.0421],
            [-0.0515, 0.0201, 0.0011],
            [0.0428, -0.0012, -0.0036],
            [0.0817, 0.0765, 0.0749],
            [-0.1264, -0.0522, -0.1103],
            [-0.0280, -0.0881, -0.0499],
            [-0.1262, -0.0982, -0.0778],
        ]
    ),
    torch.tensor([-0.0329, -0.0718, -0.0851]),
)


def latent_previews(latents: torch.Tensor, factors: LatentFactors = SD_FACTORS) -> list[Image.Image]:
    """One small RGB image per (batch, channels, height, width) latent; channels past the factors' rows are
    left out, and a latent with fewer channels uses the first rows."""
    channels = min(latents.shape[1], factors.weights.shape[0])
    weights = factors.weights[:channels]
    rgb = torch.einsum("bchw,cr->brhw", latents.detach().float().cpu()[:, :channels], weights)
    rgb = rgb + factors.bias[None, :, None, None]
    pixels = ((rgb.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    previews = []
    for array in pixels:
        image = Image.fromarray(array)
        previews.append(image.resize((image.width * PREVIEW_UPSCALE, image.height * PREVIEW_UPSCALE), Image.BILINEAR))
    return previews
