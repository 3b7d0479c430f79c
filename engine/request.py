"""The typed request that travels from the slash command to the GPU.

Pure Python on purpose: the bot builds and validates requests without importing torch.
A request may leave size, steps, guidance and sampler unset; `Engine.resolve` fills them from
the model's native resolution and the settings (the sampler from the member's `default_sampler` first),
and the resolved request is what gets stored, so a stored record reproduces the same image even after
the defaults change.
"""

from __future__ import annotations

import secrets
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.prompt_weights import uses_weights

MAX_SEED = 2**32 - 1
# No image wider or taller than this; --ar and pans stop here.
MAX_ASPECT_RATIO = 4
# A replay runs at most this many images in one batch (MAX_BATCH_IMAGES is at most 64 too).
MAX_REPLAY_BATCH = 64
# The most images one job makes.
MAX_COUNT = 16
# The most LoRAs a member names in one prompt (--lora); the models' always-on LoRAs come on top.
MAX_LORAS = 3
# The most LoRAs one run applies: the member's and the always-on ones (the registry bounds those to MAX_LORAS).
MAX_RUN_LORAS = 2 * MAX_LORAS
MAX_LORA_WEIGHT = 2.0
# Image prompts one job starts from (/imagine with images, /blend takes 2 to this many).
MAX_IMAGE_PROMPTS = 5
# Midjourney's --iw range and default.
MAX_IMAGE_WEIGHT = 3.0
DEFAULT_IMAGE_WEIGHT = 1.0
# Zoom Out factors: Midjourney's 1.5× and 2× buttons, Custom Zoom anywhere between (1.0 with a new
# aspect ratio is Make Square's).
MIN_ZOOM, MAX_ZOOM = 1.0, 2.0
# Vary (Region) picks among the 3×3 cells of an image, numbered row by row from the top left.
REGION_CELLS = 9
# /describe's suggestions, as Midjourney's four.
DESCRIBE_SUGGESTIONS = 4


class Operation(StrEnum):
    IMAGINE = "imagine"
    VARIATION = "variation"
    UPSCALE = "upscale"
    ZOOM = "zoom"
    PAN = "pan"
    REGION = "region"
    """Vary (Region): repaint the chosen cells of an image, keep the rest pixel for pixel."""
    DESCRIBE = "describe"
    """/describe: `count` prompt suggestions for an image, written by the operator's CAPTION_MODEL; no images."""


class Direction(StrEnum):
    LEFT = "left"
    RIGHT = "right"
    UP = "up"
    DOWN = "down"


# Which `mode` each image-to-image operation accepts; the first one is the default.
OPERATION_MODES: dict[Operation, tuple[str, ...]] = {
    Operation.VARIATION: ("strong", "subtle"),
    Operation.UPSCALE: ("subtle", "creative"),
}

# Operations that work on an existing image and therefore need `source_image`.
IMAGE_OPERATIONS = frozenset(
    {Operation.VARIATION, Operation.UPSCALE, Operation.ZOOM, Operation.PAN, Operation.REGION, Operation.DESCRIBE}
)


class LoraChoice(BaseModel):
    """One LoRA in a request: a registered name and its weight (None: the weight the operator registered;
    `Engine.resolve` fills it in, so a stored request reproduces even after the registry changes)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=32)
    weight: float | None = Field(default=None, ge=0.0, le=MAX_LORA_WEIGHT)


def random_seed() -> int:
    return secrets.randbelow(MAX_SEED + 1)


class GenerationRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    operation: Operation = Operation.IMAGINE
    prompt: str
    negative_prompt: str = ""
    aspect: tuple[int, int] = (1, 1)
    width: int | None = Field(default=None, ge=8, le=8192)
    height: int | None = Field(default=None, ge=8, le=8192)
    steps: int | None = Field(default=None, ge=1, le=150)
    guidance: float | None = Field(default=None, ge=0.0, le=30.0)
    sampler: str | None = None
    """A sampler the member typed (`--sampler`), or the one the engine resolved: the model's family must offer it."""
    default_sampler: str | None = None
    """The member's /settings sampler, when the prompt typed none: used where the model's family offers it, else
    the family's own, as the operator's DEFAULT_SAMPLER is. `Engine.resolve` turns it into `sampler` and clears it."""
    seed: int = Field(default_factory=random_seed, ge=0, le=MAX_SEED)
    count: int = Field(default=4, ge=1, le=MAX_COUNT)
    chaos: int = Field(default=0, ge=0, le=100)
    # Seed of the noise a job's images share under --chaos; `Engine.resolve` sets it to `seed`, so an
    # image replayed on its own (seed + i, count 1) keeps the shared noise of the job it came from.
    chaos_seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    tile: bool = False
    model: str | None = None
    loras: tuple[LoraChoice, ...] = Field(default=(), max_length=MAX_RUN_LORAS)
    strength: float | None = Field(default=None, gt=0.0, le=1.0)
    source_image: str | None = None
    direction: Direction | None = None
    mode: str | None = None
    warnings: tuple[str, ...] = ()
    replay_batch: int | None = Field(default=None, ge=1, le=MAX_REPLAY_BATCH)
    replay_slot: int | None = Field(default=None, ge=0)
    image_prompts: tuple[str, ...] = Field(default=(), max_length=MAX_IMAGE_PROMPTS)
    """Imagine only: images the member gave (an attachment, URLs, /blend), stored by the bot under
    DATA_DIR/sources/ and named by absolute path, like `source_image`. One is the starting point of an
    image-to-image job; several are blended (docs/prompt-flags.md)."""
    image_weight: float | None = Field(default=None, ge=0.0, le=MAX_IMAGE_WEIGHT)
    """Midjourney's --iw: how much the image prompts weigh against the text (resolved to 1.0)."""
    zoom: float | None = Field(default=None, ge=MIN_ZOOM, le=MAX_ZOOM)
    """Zoom only: how far out (None: 2.0, the first Zoom Out button's)."""
    canvas_aspect: tuple[int, int] | None = None
    """Zoom only: the shape of the zoomed-out canvas (None: the source image's); Make Square is 1:1 at zoom 1.0."""
    region: tuple[int, ...] = Field(default=(), max_length=REGION_CELLS)
    """Vary (Region) only: the cells to repaint, 0–8 row by row from the top left, ascending."""

    @field_validator("canvas_aspect")
    @classmethod
    def _check_canvas_aspect(cls, aspect: tuple[int, int] | None) -> tuple[int, int] | None:
        if aspect is not None and (min(aspect) < 1 or max(aspect) > MAX_ASPECT_RATIO * min(aspect)):
            raise ValueError(f"the canvas shape must lie between 1:{MAX_ASPECT_RATIO} and {MAX_ASPECT_RATIO}:1")
        return aspect

    @model_validator(mode="after")
    def _check_operation_fields(self) -> GenerationRequest:
        if self.operation in IMAGE_OPERATIONS and not self.source_image:
            raise ValueError(f"the {self.operation} operation needs a source image")
        if self.operation is Operation.PAN and self.direction is None:
            raise ValueError("pan needs a direction: left, right, up or down")
        allowed = OPERATION_MODES.get(self.operation)
        if self.mode is not None and (allowed is None or self.mode not in allowed):
            accepted = ", ".join(allowed) if allowed else "none"
            raise ValueError(f"mode {self.mode!r} does not apply to {self.operation}; accepted: {accepted}")
        if (self.replay_batch is None) != (self.replay_slot is None):
            raise ValueError("replay_batch and replay_slot go together")
        if self.replay_batch is not None and self.replay_slot >= self.replay_batch:
            raise ValueError("replay_slot must be smaller than replay_batch")
        if self.image_prompts and self.operation is not Operation.IMAGINE:
            raise ValueError("image prompts start imagine jobs only")
        if (self.zoom is not None or self.canvas_aspect is not None) and self.operation is not Operation.ZOOM:
            raise ValueError("a zoom factor or canvas shape applies to zoom only")
        if self.zoom == MIN_ZOOM and self.canvas_aspect is None:
            raise ValueError(f"zoom {MIN_ZOOM:g} leaves nothing to paint: zoom out further, or give a new aspect ratio")
        if self.operation is Operation.REGION:
            if not self.region:
                raise ValueError("Vary (Region) needs at least one cell to repaint")
            if list(self.region) != sorted(set(self.region)) or not all(
                0 <= cell < REGION_CELLS for cell in self.region
            ):
                raise ValueError(f"region cells are distinct numbers 0 to {REGION_CELLS - 1}, ascending")
        elif self.region:
            raise ValueError("region cells apply to Vary (Region) only")
        names = [lora.name for lora in self.loras]
        if len(set(names)) != len(names):
            raise ValueError("each LoRA may be named once")
        return self

    @property
    def seeds(self) -> list[int]:
        """Image i of a job uses seed + i, so any single image can be regenerated alone.

        The sum wraps within the seed range, so every image of a job started near the top of the
        range has a seed that a stored record (and `--seed`) can name again.
        """
        return [(self.seed + i) % (MAX_SEED + 1) for i in range(self.count)]

    @property
    def is_resolved(self) -> bool:
        return None not in (self.width, self.height, self.steps, self.guidance, self.sampler)

    def batch_key(self) -> tuple | None:
        """Requests with equal keys can share one UNet batch (prompts and seeds may differ); None: always alone.
        LoRAs change the denoiser's weights for the whole batch, so only requests with the same ones share; a
        weighted prompt turns the whole batch's prompts into embeddings, so weighted ones batch only together.

        Read from the fields as asked, so the queue (which cannot resolve a request: that needs the model)
        and the engine (which checks resolved ones) use the same rule: two requests equal here resolve alike.
        """
        if self.operation is not Operation.IMAGINE or self.replay_batch is not None or self.image_prompts:
            return None
        return (
            self.model,
            self.loras,
            self.aspect,
            self.width,
            self.height,
            self.steps,
            self.sampler,
            self.default_sampler,
            self.guidance,
            self.tile,
            uses_weights(self.prompt) or uses_weights(self.negative_prompt),
        )
