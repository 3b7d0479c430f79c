"""Model families: everything that differs between SD/SDXL UNets, FLUX.1 and SD3, behind `Family`.

`family_for(pipe)` picks the family from the loaded text-to-image pipeline's class. To add a family,
write one module here with a `Family` subclass (see `engine/families/base.py` and docs/engine.md) and list
it in FAMILIES.
"""

from __future__ import annotations

from diffusers import DiffusionPipeline

from engine.families.base import Family, PromptReader
from engine.families.flux import FluxFamily
from engine.families.sd3 import SD3Family
from engine.families.unet import UNetFamily
from engine.results import ModelNotFoundError

FAMILIES: tuple[type[Family], ...] = (UNetFamily, FluxFamily, SD3Family)

__all__ = ["FAMILIES", "Family", "FluxFamily", "PromptReader", "SD3Family", "UNetFamily", "family_for"]


def family_for(pipe: DiffusionPipeline) -> Family:
    for family in FAMILIES:
        if isinstance(pipe, family.pipelines):
            return family(pipe)
    supported = ", ".join(pipeline.__name__ for family in FAMILIES for pipeline in family.pipelines)
    raise ModelNotFoundError(
        f"The model loads as a {type(pipe).__name__}, which this engine cannot drive; it drives {supported}. "
        "Register a model of one of those kinds."
    )
