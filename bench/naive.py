"""The naive baseline: a plain diffusers pipeline, one call after another, as the docs show it.

The pipeline returns latents and the decode runs here, exactly as the pipeline's own tail does
it (scale, upcast a force_upcast VAE in fp16, postprocess), so the VAE levers can change the
decoder alone and the UNet and decode times are reported apart.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from diffusers import AutoencoderTiny, DiffusionPipeline

from bench.architectures import scale_init
from bench.levers import PipelineOptions
from bench.peak import synchronize
from bench.workload import JobTiming, RunMeasurement
from engine.request import GenerationRequest
from engine.speedups import apply_speedups


def build_pipeline(folder: Path, options: PipelineOptions, device: torch.device) -> DiffusionPipeline:
    """Load the model folder as the docs show (`from_pretrained(..., dtype=...).to(device)`), then apply `options`;
    the speed levers go through the engine's own `apply_speedups`."""
    pipe = DiffusionPipeline.from_pretrained(folder, dtype=options.torch_dtype(device)).to(device)
    pipe.set_progress_bar_config(disable=True)
    if options.vae == "tiny":
        tiny = AutoencoderTiny()
        scale_init(tiny, 0.5, torch.Generator().manual_seed(1))
        pipe.vae = tiny.eval().requires_grad_(False).to(device, pipe.unet.dtype)
    if options.vae_dtype:
        pipe.vae.to(getattr(torch, options.vae_dtype))
    return apply_speedups(pipe, options.speedups)


def decode(pipe: DiffusionPipeline, latents: torch.Tensor) -> list:
    """Latents → PIL images, the way the pipeline's own tail does it (SDXL's VAE upcasts from fp16)."""
    vae = pipe.vae
    upcast = getattr(vae.config, "force_upcast", False) and vae.dtype == torch.float16
    with torch.inference_mode():
        if upcast:
            vae.to(torch.float32)
        scaled = latents.to(vae.dtype) / getattr(vae.config, "scaling_factor", 1.0)
        image = vae.decode(scaled).sample
        if upcast:
            vae.to(torch.float16)
    return pipe.image_processor.postprocess(image.float(), output_type="pil")


def _chunks(jobs: list[GenerationRequest], images_per_call: int) -> list[list[tuple[int, int]]]:
    """(job index, seed) per image, cut into calls of `images_per_call` images in arrival order."""
    images = [(index, seed) for index, request in enumerate(jobs) for seed in request.seeds]
    return [images[i : i + images_per_call] for i in range(0, len(images), images_per_call)]


def _call(
    pipe: DiffusionPipeline,
    request: GenerationRequest,
    prompts: list[str],
    seeds: list[int],
    options: PipelineOptions,
    on_preview,
) -> torch.Tensor:
    device = pipe.unet.device

    def preview(pipe, step, timestep, kwargs):
        if (step + 1) % options.preview_every == 0:
            decode(pipe, kwargs["latents"])
            on_preview()
        return kwargs

    return pipe(
        prompt=prompts,
        negative_prompt=[request.negative_prompt] * len(prompts),
        height=request.height,
        width=request.width,
        num_inference_steps=request.steps,
        guidance_scale=request.guidance,
        output_type="latent",
        generator=[torch.Generator(device).manual_seed(seed) for seed in seeds],
        callback_on_step_end=preview if options.preview_every else None,
    ).images


def warm_up(pipe: DiffusionPipeline, request: GenerationRequest, options: PipelineOptions) -> float:
    """One short call at the measured batch shape, so compilation never lands on a user's job."""
    start = time.perf_counter()
    warm = request.model_copy(update={"steps": 2})
    latents = _call(
        pipe, warm, [warm.prompt] * options.images_per_call, list(range(options.images_per_call)), options, lambda: None
    )
    decode(pipe, latents)
    return time.perf_counter() - start


def run_naive(
    pipe: DiffusionPipeline, jobs: list[GenerationRequest], options: PipelineOptions, name: str = "naive"
) -> RunMeasurement:
    """All jobs arrive at t=0; images run `images_per_call` at a time, one call after another."""
    device = pipe.unet.device
    warmup_s = warm_up(pipe, jobs[0], options)
    timings = [JobTiming() for _ in jobs]
    remaining = [request.count for request in jobs]
    unet_s = decode_s = 0.0
    start = time.perf_counter()
    for chunk in _chunks(jobs, options.images_per_call):
        owners = sorted({index for index, _ in chunk})

        def seen_preview(owners=owners):
            for index in owners:
                if timings[index].first_output is None:
                    timings[index].first_output = time.perf_counter() - start

        call_start = time.perf_counter()
        latents = _call(
            pipe,
            jobs[chunk[0][0]],
            [jobs[index].prompt for index, _ in chunk],
            [seed for _, seed in chunk],
            options,
            seen_preview,
        )
        synchronize(device)
        decode_start = time.perf_counter()
        decode(pipe, latents)
        done = time.perf_counter()
        unet_s += decode_start - call_start
        decode_s += done - decode_start
        for index, _ in chunk:
            remaining[index] -= 1
            if timings[index].first_output is None:
                timings[index].first_output = done - start
            if remaining[index] == 0:
                timings[index].finished = done - start
    wall = time.perf_counter() - start
    images = sum(request.count for request in jobs)
    return RunMeasurement(
        name,
        images,
        wall,
        timings,
        {
            "warmup_s": warmup_s,
            "text_and_denoise_s": unet_s,
            "decode_s": decode_s,
            "options": options.as_dict(),
        },
    )
