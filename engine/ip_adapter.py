"""IP-Adapter image conditioning for /blend, on models whose registry entry names one (`ip_adapter`).

diffusers' `load_ip_adapter` rewires the UNet for good: every attention processor is replaced, an image
projection is added, and the pipeline gains an image encoder. Jobs without images must keep their pixels, so the
adapter is loaded once (hub files only from the cache: engines run offline, `engine.prefetch` downloads them),
its pieces are kept aside, and each blend run swaps them in and the model's own pieces back afterwards — the very
objects it had, so a plain job after a blend is bit-identical to one before.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diffusers import DiffusionPipeline
from PIL import Image

from engine.results import ModelNotFoundError, RequestError
from engine.sources import is_local_file

if TYPE_CHECKING:
    from engine.families import Family

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IpAdapterFiles:
    """Where diffusers finds an adapter: a hub repository or a folder, the subfolder and the weights file. The
    image encoder is the `image_encoder` folder beside the weights (h94/IP-Adapter's layout)."""

    repository: str
    subfolder: str
    weight_name: str

    @classmethod
    def parse(cls, spec: str) -> IpAdapterFiles:
        """`h94/IP-Adapter/models/ip-adapter_sd15.safetensors` (hub) or `/srv/ip/ip-adapter.safetensors` (local)."""
        if is_local_file(spec):
            path = Path(spec).expanduser()
            return cls(str(path.parent), "", path.name)
        owner, name, *rest = spec.split("/")
        return cls(f"{owner}/{name}", "/".join(rest[:-1]), rest[-1])


def download(spec: str) -> None:
    """Bring a hub IP-Adapter's weights and image encoder into the Hugging Face cache (for `engine.prefetch`)."""
    from huggingface_hub import snapshot_download

    files = IpAdapterFiles.parse(spec)
    folder = f"{files.subfolder}/" if files.subfolder else ""
    try:
        snapshot_download(files.repository, allow_patterns=[folder + files.weight_name, folder + "image_encoder/*"])
    except Exception as error:  # the hub client raises many unrelated error types for one cause
        raise ModelNotFoundError(
            f"IP-Adapter {spec!r} could not be downloaded from the Hugging Face hub ({type(error).__name__}: {error})."
        ) from error


@dataclass(frozen=True)
class _Wiring:
    """The parts of a pipeline an IP-Adapter changes."""

    processors: dict[str, Any]
    encoder_hid_proj: Any
    encoder_hid_dim_type: str | None
    image_encoder: Any
    feature_extractor: Any

    @classmethod
    def of(cls, pipe: DiffusionPipeline) -> _Wiring:
        return cls(
            dict(pipe.unet.attn_processors),
            pipe.unet.encoder_hid_proj,
            pipe.unet.config.encoder_hid_dim_type,
            pipe.image_encoder,
            pipe.feature_extractor,
        )

    def apply(self, pipe: DiffusionPipeline) -> None:
        pipe.unet.set_attn_processor(dict(self.processors))  # set_attn_processor empties the dict it is given
        pipe.unet.encoder_hid_proj = self.encoder_hid_proj
        pipe.unet.config.encoder_hid_dim_type = self.encoder_hid_dim_type
        pipe.image_encoder = self.image_encoder
        pipe.feature_extractor = self.feature_extractor


class ImagePromptAdapter:
    def __init__(self, pipe: DiffusionPipeline, spec: str, model_name: str, family: Family) -> None:
        if not family.ip_adapters or not hasattr(pipe, "load_ip_adapter"):
            raise RequestError(
                f"The model {model_name!r} cannot blend images: its ip_adapter setting needs a Stable Diffusion "
                f"(UNet) model, and this is a {family.label} model. Blend with another --model; the operator should "
                "remove ip_adapter from its MODELS entry."
            )
        self._pipe = pipe
        self._spec = spec
        self._model_name = model_name
        self._wiring: _Wiring | None = None

    @contextmanager
    def attached(self, scale: float) -> Iterator[None]:
        """The adapter wired in at `scale` for the runs inside, the model's own wiring back afterwards."""
        own = _Wiring.of(self._pipe)
        (self._wiring or self._load(own)).apply(self._pipe)
        try:
            self._pipe.set_ip_adapter_scale(scale)
            yield
        finally:
            own.apply(self._pipe)

    def arguments(self, images: list[Image.Image]) -> dict:
        """Pipeline arguments that condition every image of the batch on all of `images` (one adapter, several
        images: their image tokens side by side)."""
        return {"ip_adapter_image": [images]}

    def _load(self, own: _Wiring) -> _Wiring:
        files = IpAdapterFiles.parse(self._spec)
        try:
            self._pipe.load_ip_adapter(
                files.repository, subfolder=files.subfolder, weight_name=files.weight_name, local_files_only=True
            )
        except Exception as error:  # missing files, a foreign checkpoint, no cache: all mean "cannot blend with it"
            own.apply(self._pipe)
            log.error("loading the IP-Adapter %r of model %r failed: %s", self._spec, self._model_name, error)
            raise RequestError(
                f"The IP-Adapter of the model {self._model_name!r} could not be loaded, so images cannot be blended "
                "with it right now. The operator should check the model's ip_adapter setting in MODELS: a local "
                ".safetensors file with an image_encoder folder beside it, or a hub file that `python -m "
                "engine.prefetch` has downloaded (the bot's log says what went wrong)."
            ) from error
        self._wiring = _Wiring.of(self._pipe)
        return self._wiring
