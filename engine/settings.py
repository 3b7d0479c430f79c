"""Engine configuration, read from the environment (or a `.env` file) by pydantic-settings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from engine.loras import RegisteredLora, parse_loras
from engine.registry import DEFAULT_MODEL, ModelRegistry, RegisteredModel, looks_like_path, parse_models

CompileSetting = Literal["off", "default", "max-autotune-no-cudagraphs", "reduce-overhead"]
QuantizationSetting = Literal["off", "bnb-nf4", "bnb-int8", "torchao-int8"]
# Per helper-model field: its setting, what its folder holds, and a hub id that fits.
HELPER_MODELS = {
    "content_classifier": (
        "CONTENT_CLASSIFIER",
        "an image classifier (config.json, weights, preprocessor_config.json)",
        "Falconsai/nsfw_image_detection",
    ),
    "caption_model": (
        "CAPTION_MODEL",
        "an image-to-text model (config.json, weights, preprocessor_config.json, tokenizer files)",
        "Salesforce/blip-image-captioning-base",
    ),
}


class EngineSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore", protected_namespaces=())

    model_id: str | None = None
    """The `default` model: hub id, local diffusers folder or single .safetensors/.ckpt file; None uses the
    embedded default."""
    models: Annotated[tuple[RegisteredModel, ...], NoDecode] = ()
    """More models members may choose by name (`engine.registry` has the format)."""
    loras: Annotated[tuple[RegisteredLora, ...], NoDecode] = ()
    """LoRAs members may add with --lora (`engine.loras` has the format)."""
    max_loaded_models: int = Field(default=1, ge=1)
    """How many models an engine keeps in memory; the least recently used goes first when another loads."""
    upscaler_model: str | None = None
    """Optional dedicated upscaler (e.g. stabilityai/stable-diffusion-x4-upscaler) for the upscale operation."""
    content_classifier: str | None = None
    """An image-classification model (transformers: a local folder, or a hub id downloaded at start-up) run on
    every image; those it scores unsafe are flagged, like those a model's own safety checker flags
    (`engine.safety`). None: only the models' own safety checkers judge."""
    content_classifier_labels: Annotated[tuple[str, ...], NoDecode] = ("nsfw",)
    """The classifier's labels that count as unsafe (comma-separated in the environment)."""
    content_classifier_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    """An image is flagged when the probability of the unsafe labels (summed; the highest one for a multi-label
    model) reaches this."""
    caption_model: str | None = None
    """An image-to-text model (transformers, e.g. Salesforce/blip-image-captioning-base: a local folder, or a hub id
    downloaded at start-up) that writes /describe's prompt suggestions (`engine.captions`). None: no /describe."""
    engine_device: str | None = None
    engine_dtype: str | None = None
    max_pixels: int = Field(default=1024 * 1024, ge=64 * 64)
    """The most pixels of one image made by imagine, variation, zoom or pan."""
    upscale_max_pixels: int | None = Field(default=None, ge=64 * 64)
    """The most pixels of an upscaled image; None means 4 × MAX_PIXELS."""
    default_steps: int = 30
    default_guidance: float = 7.0
    default_sampler: str | None = None
    """None uses `engine.samplers.DEFAULT_SAMPLER`."""

    # Speed settings (engine/speedups.py). All off until the GPU benchmark says which pay off
    # (docs/performance.md); each keeps images within the tolerance stated in docs/engine.md.
    engine_channels_last: bool = False
    engine_fuse_qkv: bool = False
    engine_compile: CompileSetting = "off"
    """torch.compile mode for the UNet and VAE decoder; compiles at worker start (`Engine.warm_up`)."""
    engine_vae_tiling: bool = False

    # Memory settings for big models (engine/memory.py, docs/engine.md): all off, each costs speed.
    engine_cpu_offload: bool = False
    """Keep components on the CPU until they run (diffusers' model CPU offload)."""
    engine_vae_slicing: bool = False
    """Decode a batch one image at a time."""
    engine_quantization: QuantizationSetting = "off"
    """Load transformer denoisers quantized: bnb-nf4 / bnb-int8 need bitsandbytes, torchao-int8 needs torchao."""

    @field_validator("models", mode="before")
    @classmethod
    def _parse_models(cls, value: object) -> object:
        return parse_models(value) if isinstance(value, str) else value

    @field_validator("loras", mode="before")
    @classmethod
    def _parse_loras(cls, value: object) -> object:
        return parse_loras(value) if isinstance(value, str) else value

    @field_validator("content_classifier_labels", mode="before")
    @classmethod
    def _parse_labels(cls, value: object) -> object:
        if isinstance(value, str):
            value = [label.strip() for label in value.split(",") if label.strip()]
        if not value:
            raise ValueError("CONTENT_CLASSIFIER_LABELS needs at least one label that counts as unsafe, e.g. nsfw")
        return value

    @field_validator("content_classifier", "caption_model")
    @classmethod
    def _check_helper_model(cls, value: str | None, info: ValidationInfo) -> str | None:
        # A local folder is checked at start-up; a hub id when it is downloaded (also at start-up).
        if value and looks_like_path(value) and not (Path(value).expanduser() / "config.json").is_file():
            setting, kind, example = HELPER_MODELS[info.field_name]
            raise ValueError(
                f"{setting} {value!r} is not a transformers model folder (no config.json there). Set it to a folder "
                f"written by `save_pretrained` of {kind}, a Hugging Face hub id such as {example}, or leave it empty."
            )
        return value or None

    @model_validator(mode="after")
    def _check_registry(self) -> EngineSettings:
        # A duplicate name, MODEL_ID beside a MODELS entry named default, or a LoRA for an unregistered model
        # fails at start-up.
        self.registry()
        return self

    def registry(self) -> ModelRegistry:
        entries = list(self.models)
        if self.model_id is not None:
            if any(entry.name == DEFAULT_MODEL for entry in entries):
                raise ValueError(f"MODELS names a {DEFAULT_MODEL!r} model and MODEL_ID is set too; keep one of them")
            entries.insert(0, RegisteredModel(name=DEFAULT_MODEL, source=self.model_id))
        return ModelRegistry(entries, self.loras)

    @property
    def upscale_budget(self) -> int:
        return self.upscale_max_pixels or 4 * self.max_pixels
