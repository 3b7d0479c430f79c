"""Image prompts: /imagine starting from the member's images (`request.image_prompts`).

One image is the starting point of an image-to-image run: cropped to the request's aspect ratio around its centre,
resized to the output size, then redrawn with strength `image_strength(image_weight)`. Several images (/blend),
on a model without an IP-Adapter, start from their composite: each one fitted the same way, then averaged pixel
by pixel (a double exposure). With an IP-Adapter the images condition the model instead (`engine.ip_adapter`).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps

# Midjourney's --iw 0..3 onto image-to-image strength: iw 0 leaves the image almost nothing (strength 1, pure
# noise over it), the default 1 keeps its layout and colours loosely (0.75), iw 3 stays close to it (0.25).
STRENGTH_PER_IMAGE_WEIGHT = 0.25
# Midjourney's --iw onto the IP-Adapter's scale: the default 1 gives 0.5, diffusers' usual balance of image and text.
SCALE_PER_IMAGE_WEIGHT = 0.5


def image_strength(image_weight: float) -> float:
    return 1.0 - STRENGTH_PER_IMAGE_WEIGHT * image_weight


def adapter_scale(image_weight: float) -> float:
    return SCALE_PER_IMAGE_WEIGHT * image_weight


def start_image(images: list[Image.Image], size: tuple[int, int]) -> Image.Image:
    """The starting image at `size`: the one image fitted, or the average of several fitted ones."""
    fitted = [ImageOps.fit(image, size, Image.LANCZOS) for image in images]
    if len(fitted) == 1:
        return fitted[0]
    mean = np.mean([np.asarray(image, dtype=np.float32) for image in fitted], axis=0)
    return Image.fromarray(np.rint(mean).astype(np.uint8))
