"""The naive baseline: a plain diffusers pipeline, one call after another, as the docs show it.

The pipeline returns latents and the decode runs here, exactly as the pipeline's own tail does
it (unpack FLUX.1's tokens, scale and shift, upcast a force_upcast VAE in fp16, postprocess), so the
VAE levers can change the decoder alone and the denoiser and decode times are reported apart. Prompts
and guidance go in as the engine's model family passes them: FLUX.1 gets no negative prompt (its
guidance is distilled), SD and SD3 run classifier-free guidance.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from diffusers import AutoencoderTiny, DiffusionPipeline

from bench.architectures import scale_init
from bench.levers import PipelineOptions
from bench.models import family_class
from bench.peak import synchronize
from bench.workload import JobTiming, RunMeasurement
from engine.families import family_for
from engine.request import GenerationRequest
from engine.speedups import apply_speedups


def build_pipeline(folder: Path, options: PipelineOptions, device: torch.device) -> DiffusionPipeline:
    """Load the model folder as the docs show (`from_pretrained(..., dtype=...).to(device)`), then apply `options`;
    the speed levers go through the engine's own `apply_speedups`."""
    dtype = options.torch_dtype(device, family_class(folder))
    pipe = DiffusionPipeline.from_pretrained(folder, dtype=dtype).to(device)
    pipe.set_progress_bar_config(disable=True)
    if options.vae == "tiny":
        # TAESD's shape; with 16 latent channels it is TAEF1's / TAESD3's, the tiny decoders of FLUX.1 and SD3.
        tiny = AutoencoderTiny(latent_channels=pipe.vae.config.latent_channels)
        scale_init(tiny, 0.5, torch.Generator().manual_seed(1))
        pipe.vae = tiny.eval().requires_grad_(False).to(device, dtype)
    if options.vae_dtype:
        pipe.vae.to(getattr(torch, options.vae_dtype))
    return apply_speedups(pipe, options.speedups)


def decode(pipe: DiffusionPipeline, latents: torch.Tensor, width: int, height: int) -> list:
    """Latents → PIL images, the way the pipeline's own tail does it (SDXL's VAE upcasts from fp16)."""
    vae = pipe.vae
    upcast = getattr(vae.config, "force_upcast", False) and vae.dtype == torch.float16
    latents = family_for(pipe).unpack(latents, width, height)
    with torch.inference_mode():
        if upcast:
            vae.to(torch.float32)
        shift = getattr(vae.config, "shift_factor", None) or 0.0
        scaled = latents.to(vae.dtype) / getattr(vae.config, "scaling_factor", 1.0) + shift
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
    def preview(pipe, step, timestep, kwargs):
        if (step + 1) % options.preview_every == 0:
            decode(pipe, kwargs["latents"], request.width, request.height)
            on_preview()
        return kwargs

    negatives = [request.negative_prompt] * len(prompts)
    return pipe(
        **family_for(pipe).prompt_arguments(prompts, negatives, request.guidance),
        height=request.height,
        width=request.width,
        num_inference_steps=request.steps,
        output_type="latent",
        generator=[torch.Generator(pipe.device).manual_seed(seed) for seed in seeds],
        callback_on_step_end=preview if options.preview_every else None,
    ).images


def warm_up(pipe: DiffusionPipeline, request: GenerationRequest, options: PipelineOptions) -> float:
    """One short call at the measured batch shape, so compilation never lands on a user's job."""
    start = time.perf_counter()
    warm = request.model_copy(update={"steps": 2})
    latents = _call(
        pipe, warm, [warm.prompt] * options.images_per_call, list(range(options.images_per_call)), options, lambda: None
    )
    decode(pipe, latents, warm.width, warm.height)
    return time.perf_counter() - start


def run_naive(
    pipe: DiffusionPipeline, jobs: list[GenerationRequest], options: PipelineOptions, name: str = "naive"
) -> RunMeasurement:
    """All jobs arrive at t=0; images run `images_per_call` at a time, one call after another."""
    warmup_s = warm_up(pipe, jobs[0], options)
    timings = [JobTiming() for _ in jobs]
    remaining = [request.count for request in jobs]
    denoise_s = decode_s = 0.0
    start = time.perf_counter()
    for chunk in _chunks(jobs, options.images_per_call):
        owners = sorted({index for index, _ in chunk})

        def seen_preview(owners=owners):
            for index in owners:
                if timings[index].first_output is None:
                    timings[index].first_output = time.perf_counter() - start

        # Packed jobs share the first one's size, steps and guidance (the burst's jobs all agree on them).
        first = jobs[chunk[0][0]]
        call_start = time.perf_counter()
        latents = _call(
            pipe,
            first,
            [jobs[index].prompt for index, _ in chunk],
            [seed for _, seed in chunk],
            options,
            seen_preview,
        )
        synchronize(pipe.device)
        decode_start = time.perf_counter()
        decode(pipe, latents, first.width, first.height)
        done = time.perf_counter()
        denoise_s += decode_start - call_start
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
            "text_and_denoise_s": denoise_s,
            "decode_s": decode_s,
            "options": options.as_dict(),
        },
    )
