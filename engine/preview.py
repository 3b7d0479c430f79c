"""Cheap progress previews: a linear latent→RGB projection instead of a VAE decode.

The factors are the widely used least-squares fits for the SD 1.x/2.x and SDXL latent spaces; for
any other latent space (such as the embedded tiny model) the SD 1.x fit still gives a rough,
changing picture, which is all a progress preview needs.
"""

from __future__ import annotations

import torch
from PIL import Image

SD_FACTORS = torch.tensor(
    [[0.3512, 0.2297, 0.3227], [0.3250, 0.4974, 0.2350], [-0.2829, 0.1762, 0.2721], [-0.2120, -0.2616, -0.7177]]
)
SDXL_FACTORS = torch.tensor(
    [[0.3651, 0.4232, 0.4341], [-0.2533, -0.0042, 0.1068], [0.1076, 0.1111, -0.0362], [-0.3165, -0.2492, -0.2188]]
)
SDXL_BIAS = torch.tensor([0.1084, -0.0175, -0.0011])
PREVIEW_UPSCALE = 4


def latent_previews(latents: torch.Tensor, sdxl: bool = False) -> list[Image.Image]:
    """One small RGB image per latent in the batch (4 latent channels expected)."""
    factors, bias = (SDXL_FACTORS, SDXL_BIAS) if sdxl else (SD_FACTORS, torch.zeros(3))
    rgb = torch.einsum("bchw,cr->brhw", latents.detach().float().cpu()[:, :4], factors) + bias[None, :, None, None]
    pixels = ((rgb.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    previews = []
    for array in pixels:
        image = Image.fromarray(array)
        previews.append(image.resize((image.width * PREVIEW_UPSCALE, image.height * PREVIEW_UPSCALE), Image.BILINEAR))
    return previews
