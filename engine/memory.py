"""Memory settings for models larger than the device: CPU offload, VAE slicing, quantized weights.

All off by default; each trades speed (or some quality, for quantization) for memory, as diffusers'
memory and quantization guides describe. The trade-offs in docs/engine.md are those guides' figures;
this project has not measured them.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import torch
from diffusers import DiffusionPipeline, PipelineQuantizationConfig

from engine.settings import EngineSettings, QuantizationSetting

# Only the denoiser is quantized: it holds most of the weights of FLUX.1 (12 B) and SD3.5 Large (8 B) and
# runs at every step; pipelines without a `transformer` (UNet models) load unquantized, with a log line.
QUANTIZED_COMPONENTS = ["transformer"]


@dataclass(frozen=True)
class Backend:
    package: str
    quant_backend: str
    kwargs: dict


def _backends(dtype: torch.dtype) -> dict[str, Backend]:
    return {
        "bnb-nf4": Backend(
            "bitsandbytes",
            "bitsandbytes_4bit",
            {"load_in_4bit": True, "bnb_4bit_quant_type": "nf4", "bnb_4bit_compute_dtype": dtype},
        ),
        "bnb-int8": Backend("bitsandbytes", "bitsandbytes_8bit", {"load_in_8bit": True}),
        "torchao-int8": Backend("torchao", "torchao", {"quant_type": "int8wo"}),
    }


@dataclass(frozen=True)
class MemorySaving:
    cpu_offload: bool = False
    """Keep each component on the CPU until it runs (`enable_model_cpu_offload`): the device holds one
    component at a time."""
    vae_slicing: bool = False
    """Decode a batch's images one at a time instead of all at once."""
    quantization: QuantizationSetting = "off"

    @classmethod
    def from_settings(cls, settings: EngineSettings) -> MemorySaving:
        return cls(settings.engine_cpu_offload, settings.engine_vae_slicing, settings.engine_quantization)

    def quantization_config(self, dtype: torch.dtype) -> PipelineQuantizationConfig | None:
        """The `quantization_config` for `from_pretrained`, or None; ValueError naming the package to install."""
        if self.quantization == "off":
            return None
        backend = _backends(dtype)[self.quantization]
        if importlib.util.find_spec(backend.package) is None:
            raise ValueError(
                f"ENGINE_QUANTIZATION={self.quantization} needs the {backend.package} package: "
                f"pip install {backend.package}, or set ENGINE_QUANTIZATION=off"
            )
        return PipelineQuantizationConfig(
            quant_backend=backend.quant_backend,
            quant_kwargs=backend.kwargs,
            components_to_quantize=QUANTIZED_COMPONENTS,
        )

    def place(self, pipe: DiffusionPipeline, device: torch.device) -> DiffusionPipeline:
        """Put `pipe` on `device`, or let offloading move each component there when it runs."""
        if self.cpu_offload and device.type != "cpu":
            pipe.enable_model_cpu_offload(device=device)
        else:
            pipe.to(device)
        if self.vae_slicing:
            pipe.vae.enable_slicing()
        return pipe
