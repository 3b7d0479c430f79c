"""The Engine: turns a GenerationRequest into images, one batched pipeline call per run.

Every image in a batch gets its own CPU generator (seed + i) and its own initial noise, so an
image does not depend on what else shares its batch (see docs/engine.md for the measured
tolerance). For bit-exact replays the request names the batch size and slot an image was made at.
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import diffusers
import torch
import transformers
from PIL import Image

from engine import budgets, loading, operations
from engine.captions import Captioner
from engine.flags import aspect_flag
from engine.memory import MemorySaving
from engine.model import LoadedModel
from engine.noise import image_generator, initial_noise
from engine.operations import image_prompt
from engine.preview import latent_previews
from engine.progress import step_callback
from engine.prompt_weights import plain_text
from engine.request import DEFAULT_IMAGE_WEIGHT, GenerationRequest, Operation
from engine.resident import ResidentModels
from engine.results import (
    DescriptionResult,
    GenerationCancelled,
    GenerationResult,
    ModelNotFoundError,
    Progress,
    RequestError,
    RunInfo,
    Versions,
)
from engine.safety import ContentFilter, checker_verdict
from engine.samplers import DEFAULT_SAMPLER
from engine.settings import EngineSettings
from engine.sizing import aspect_of, fit_size
from engine.slots import batch_slots
from engine.speedups import Speedups
from engine.tiling import seamless

ProgressCallback = Callable[[Progress], None]
__all__ = ["Engine", "GenerationCancelled", "GenerationResult", "ModelNotFoundError", "Progress", "RequestError"]
WARM_UP_STEPS = 2
NO_CAPTIONER = (
    "Describing images is not turned on for this bot: its operator can set CAPTION_MODEL to a captioning model "
    "(e.g. Salesforce/blip-image-captioning-base) and restart it."
)


class Engine:
    def __init__(self, settings: EngineSettings | None = None, device: str | None = None):
        self.settings = settings or EngineSettings()
        self.device, self.dtype = loading.choose_device(
            device or self.settings.engine_device, self.settings.engine_dtype
        )
        self.speedups = Speedups.from_settings(self.settings)
        self.registry = self.settings.registry()
        self.models = ResidentModels(
            self.registry,
            self.device,
            self.dtype,
            self.speedups,
            self.settings.max_loaded_models,
            MemorySaving.from_settings(self.settings),
        )
        self._upscaler = None
        self.content_filter = ContentFilter.from_settings(self.settings, self.device, self.dtype)
        """Which images are unsafe: each model's own safety checker, and CONTENT_CLASSIFIER when set."""
        caption_model = self.settings.caption_model
        self.captioner = Captioner(caption_model, self.device, self.dtype) if caption_model else None
        """/describe's writer (CAPTION_MODEL), loaded on first use; None when the operator set none."""
        self._lock = threading.RLock()
        self._largest_image = budgets.largest_image(self.settings.max_pixels, self.settings.upscale_budget)

    def model(self, name: str | None = None) -> LoadedModel:
        """The loaded model for a request's `model`: a registered name, None for the default (see
        `engine.registry`); loads it lazily, keeping up to MAX_LOADED_MODELS in memory."""
        return self.models.get(name)

    def warm_up(self, batch_sizes: Iterable[int] = (4,), aspects: Iterable[tuple[int, int]] = ((1, 1),)) -> float:
        """Compile now for every (aspect, batch size) pair, so compilation never lands on a user's job.

        Runs one short imagine per pair, sized by `resolve` exactly as a job with that `--ar` is, with
        the default model, guidance and sampler (guidance decides whether classifier-free guidance
        doubles the UNet batch). With ENGINE_COMPILE=off it returns at once: eager runs have nothing to
        prepare. CUDA graphs (reduce-overhead) are recorded on a shape's second call, so that mode runs
        each pair twice. Returns the seconds spent.
        """
        if self.speedups.compile_mode is None:
            return 0.0
        start = time.perf_counter()
        calls = 2 if self.speedups.compile_mode == "reduce-overhead" else 1
        for aspect in aspects:
            for batch_size in batch_sizes:
                # A replay runs exactly `batch_size` images in one UNet batch, beyond a job's 16-image cap too.
                request = GenerationRequest(
                    prompt="warm-up",
                    aspect=aspect,
                    steps=WARM_UP_STEPS,
                    seed=0,
                    count=1,
                    replay_batch=batch_size,
                    replay_slot=0,
                )
                for _ in range(calls):
                    self.run(request)
        return time.perf_counter() - start

    def resolve(self, request: GenerationRequest) -> GenerationRequest:
        """Fill size, steps, guidance, sampler, LoRA weights, strength and chaos seed from the request, else the
        model's registry entry, else its family, else the settings; warn about truncated prompts and what the
        model's family ignores. A request past a pixel budget (a stored one too, after the operator lowered it),
        for an unregistered model or LoRA, or asking what the family cannot do raises RequestError."""
        if request.operation is Operation.DESCRIBE:
            raise ValueError("a describe request makes no images: run it with Engine.describe")
        model = self.model(request.model)
        preset, settings, family = model.entry, self.settings, model.family
        guidance = next(
            value
            for value in (request.guidance, preset.guidance, family.default_guidance, settings.default_guidance)
            if value is not None
        )
        updates: dict = {
            "steps": request.steps or preset.steps or settings.default_steps,
            "guidance": guidance,
            "sampler": family.pick_sampler(
                request.sampler,
                (request.default_sampler, preset.sampler, settings.default_sampler or DEFAULT_SAMPLER),
            ),
            "default_sampler": None,
            "loras": self.registry.loras.resolve(model.name, request.loras),
            "chaos_seed": request.seed if request.chaos_seed is None else request.chaos_seed,
            "warnings": self._warnings(model, request),
        }
        if request.width is None or request.height is None:
            updates["width"], updates["height"] = self._size(request, model)
        if request.image_prompts and request.image_weight is None:
            updates["image_weight"] = DEFAULT_IMAGE_WEIGHT
        from_image = request.operation is not Operation.IMAGINE or starts_from_images(request, model)
        if request.strength is None and from_image:
            updates["strength"] = operations.default_strength(request)
        resolved = GenerationRequest.model_validate({**request.model_dump(), **updates})
        budgets.check_request(resolved, settings.max_pixels, settings.upscale_budget)
        return resolved

    def _size(self, request: GenerationRequest, model: LoadedModel) -> tuple[int, int]:
        max_pixels = self.settings.max_pixels
        if request.operation is Operation.IMAGINE:
            return fit_size(request.aspect, model.native_size, model.size_multiple, max_pixels)
        source = open_source(request.source_image, self._largest_image)
        refusal = budgets.source_refusal(request, source.size, self.settings.upscale_budget)
        if refusal:
            raise RequestError(refusal)
        return operations.output_size(request, source.size, model.size_multiple, max_pixels)

    def run(
        self,
        request: GenerationRequest,
        *,
        on_progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        preview: bool = False,
    ) -> GenerationResult:
        """Generate `request.count` images in one batched pipeline call (or replay one image)."""
        return self._generate([self.resolve(request)], [on_progress], cancel, preview)[0]

    def run_batch(
        self,
        requests: Sequence[GenerationRequest],
        *,
        on_progress: Sequence[ProgressCallback | None] | None = None,
        cancel: threading.Event | None = None,
        preview: bool = False,
    ) -> list[GenerationResult]:
        """Run compatible imagine requests (equal `batch_key()`) as one UNet batch.

        `on_progress` holds one callback (or None) per request, each seeing only its own images;
        `cancel` stops the whole batch.
        """
        resolved = [self.resolve(request) for request in requests]
        keys = {request.batch_key() for request in resolved}
        if not resolved or None in keys or len(keys) != 1:
            raise ValueError("run_batch needs imagine requests that all have the same batch_key()")
        callbacks = list(on_progress) if on_progress is not None else [None] * len(resolved)
        if len(callbacks) != len(resolved):
            raise ValueError("run_batch needs one on_progress entry per request")
        return self._generate(resolved, callbacks, cancel, preview)

    def describe(self, request: GenerationRequest, *, cancel: threading.Event | None = None) -> DescriptionResult:
        """/describe: `request.count` prompt suggestions for its source image, written by CAPTION_MODEL with the
        request's seed, each ending with the image's shape as `--ar W:H` (as Midjourney's do), so that imagining
        one keeps that shape over the member's default aspect. No model is needed, so none is loaded."""
        if request.operation is not Operation.DESCRIBE:
            raise ValueError("Engine.describe takes describe requests; run() makes images")
        if self.captioner is None:
            raise RequestError(NO_CAPTIONER)
        if cancel is not None and cancel.is_set():
            raise GenerationCancelled()
        image = open_source(request.source_image, self._largest_image)
        captions = self.captioner.suggestions(image, request.count, request.seed)
        if not captions:
            raise RequestError("The captioning model found nothing to say about this image; try another image.")
        shape = aspect_flag(aspect_of(*image.size))
        return DescriptionResult(request, tuple(f"{caption} {shape}" for caption in captions), self.captioner.source)

    def _generate(self, requests, callbacks, cancel, preview) -> list[GenerationResult]:
        if cancel is not None and cancel.is_set():
            raise GenerationCancelled()
        first = requests[0]
        model = self.model(first.model)
        slots = batch_slots(requests)
        owners = [(slot.request_index, slot.kept) for slot in slots]
        with self._lock:
            if first.operation is Operation.UPSCALE and self.settings.upscaler_model:
                # The dedicated upscaler is an SD UNet model of its own, whatever model the member chose.
                on_step_end = step_callback(latent_previews, owners, callbacks, cancel, preview)
                images, checker, scheduler_name = self._dedicated_upscale(first, slots, on_step_end)
                run = self._run_info(model, scheduler_name, len(slots), upscaler=self.settings.upscaler_model)
            else:
                render = functools.partial(model.family.previews, width=first.width, height=first.height)
                on_step_end = step_callback(render, owners, callbacks, cancel, preview)
                images, checker, scheduler_name = self._diffuse(model, requests, slots, on_step_end)
                run = self._run_info(model, scheduler_name, len(slots))
            flagged = self._judge(images, checker, slots)
        results = []
        for index, request in enumerate(requests):
            picked = [
                (position, slot) for position, slot in enumerate(slots) if slot.request_index == index and slot.kept
            ]
            results.append(
                GenerationResult(
                    request=request,
                    images=[images[position] for position, _ in picked],
                    seeds=[slot.seed for _, slot in picked],
                    slots=[position for position, _ in picked],
                    run=run,
                    flagged=[flagged[position] for position, _ in picked],
                )
            )
        return results

    def _judge(self, images: list[Image.Image], checker: list[bool], slots) -> list[bool]:
        """Per batch position: flagged by the model's safety checker or the operator's classifier. Positions a
        replay fills only to keep the batch shape are not judged."""
        kept = [position for position, slot in enumerate(slots) if slot.kept]
        verdict = self.content_filter.flags([images[position] for position in kept], [checker[p] for p in kept])
        flagged = [False] * len(images)
        for position, flag in zip(kept, verdict, strict=True):
            flagged[position] = flag
        return flagged

    def _diffuse(self, model: LoadedModel, requests, slots, on_step_end) -> tuple[list[Image.Image], list[bool], str]:
        """The images, the model's safety checker's verdict on each (a pipeline with a checker has already blacked
        out the ones it flagged), and the scheduler's name."""
        first = requests[0]
        pipe, call, plan = self._pipeline_call(model, requests, slots)
        pipe.scheduler = model.scheduler(first.sampler)
        model.adapters.activate([(self.registry.loras.get(lora.name), lora.weight) for lora in first.loras])
        with model.family.seamless(first.tile), self._blending(model, first, plan):
            output = pipe(
                **call,
                callback_on_step_end=on_step_end,
                callback_on_step_end_tensor_inputs=["latents"],
                output_type="pil",
            )
        images = output.images
        checker = checker_verdict(output, len(images))
        if plan is not None and plan.keep is not None:
            for image in images:
                image.paste(plan.keep.image, plan.keep.offset, plan.keep.mask)
        return images, checker, type(pipe.scheduler).__name__

    def _blending(self, model: LoadedModel, request: GenerationRequest, plan) -> contextlib.AbstractContextManager:
        """The model's IP-Adapter wired in for a blend of image prompts that does not start from their composite."""
        if plan is not None or not request.image_prompts:
            return contextlib.nullcontext()
        return model.ip_adapter.attached(image_prompt.adapter_scale(request.image_weight))

    def upscaler(self):
        """The dedicated upscaler pipeline named by UPSCALER_MODEL (e.g. the SD x4 upscaler), loaded once."""
        with self._lock:
            if self._upscaler is None:
                self._upscaler = loading.load_upscaler(self.settings.upscaler_model, self.device, self.dtype)
            return self._upscaler

    def _dedicated_upscale(self, request, slots, on_step_end) -> tuple[list[Image.Image], list[bool], str]:
        """Upscale with UPSCALER_MODEL, then resize its output (4× for the SD upscaler) to the 2× size.

        That pipeline only offers diffusers' older per-step `callback`, so progress goes through it."""
        pipe = self.upscaler()
        source = open_source(request.source_image, self._largest_image)

        def on_step(step, timestep, latents):
            on_step_end(pipe, step, timestep, {"latents": latents})

        with seamless(pipe.unet, pipe.vae, enabled=request.tile):
            output = pipe(
                prompt=[request.prompt] * len(slots),
                negative_prompt=[request.negative_prompt] * len(slots),
                image=[source] * len(slots),
                num_inference_steps=request.steps,
                guidance_scale=request.guidance,
                generator=[image_generator(slot.seed) for slot in slots],
                callback=on_step,
                callback_steps=1,
            )
        size = (request.width, request.height)
        images = [image.resize(size, Image.LANCZOS) for image in output.images]
        return images, checker_verdict(output, len(images)), type(pipe.scheduler).__name__

    def _pipeline_call(self, model: LoadedModel, requests, slots):
        first = requests[0]
        common = model.family.prompt_arguments(
            [requests[slot.request_index].prompt for slot in slots],
            [requests[slot.request_index].negative_prompt for slot in slots],
            first.guidance,
        )
        if first.operation is Operation.IMAGINE and not starts_from_images(first, model):
            latents, generators = initial_noise(
                [slot.seed for slot in slots],
                [requests[slot.request_index].chaos_seed for slot in slots],
                [requests[slot.request_index].chaos for slot in slots],
                model.latent_shape(first.width, first.height),
            )
            call = common | {
                "width": first.width,
                "height": first.height,
                "num_inference_steps": first.steps,
                "generator": generators,
                "latents": model.family.pack(latents).to(model.device, model.dtype),
            }
            if first.image_prompts:
                call |= model.ip_adapter.arguments(self._image_prompts(first))
            return model.text_to_image, call, None
        plan = self._plan(first, model)
        # Image-to-image denoises int(steps × strength) steps, on every family; keep at least one.
        steps = max(first.steps, math.ceil(1 / plan.strength))
        call = common | {
            "image": [plan.image] * len(slots),
            "strength": model.family.image_strength(plan.strength, steps),
            "num_inference_steps": steps,
            "generator": [image_generator(slot.seed) for slot in slots],
        }
        if plan.pipeline == "inpainting":
            call |= {"mask_image": [plan.mask] * len(slots), "width": first.width, "height": first.height}
            return model.inpainting, call, plan
        return model.image_to_image, call | model.family.image_to_image_size(first.width, first.height), plan

    def _plan(self, request: GenerationRequest, model: LoadedModel) -> operations.SourcePlan:
        if request.image_prompts:
            return operations.image_prompt_plan(request, self._image_prompts(request))
        source = open_source(request.source_image, self._largest_image)
        return operations.plan(request, source, model.size_multiple, self.settings.max_pixels)

    def _image_prompts(self, request: GenerationRequest) -> list[Image.Image]:
        return [open_source(path, self._largest_image) for path in request.image_prompts]

    def _warnings(self, model: LoadedModel, request: GenerationRequest) -> tuple[str, ...]:
        warnings = list(request.warnings)
        reader = model.family.reader
        texts = (("prompt", plain_text(request.prompt)), ("negative prompt", plain_text(request.negative_prompt)))
        for warning in [
            *(reader.truncation(label, text) for label, text in texts),
            *model.family.check(request),
            *image_prompt_warnings(request, model),
        ]:
            if warning and warning not in warnings:
                warnings.append(warning)
        return tuple(warnings)

    def _run_info(
        self, model: LoadedModel, scheduler_name: str, batch_size: int, upscaler: str | None = None
    ) -> RunInfo:
        return RunInfo(
            model=model.name,
            scheduler=scheduler_name,
            dtype=str(model.dtype).removeprefix("torch."),
            device=str(model.device),
            versions=Versions(torch.__version__, diffusers.__version__, transformers.__version__),
            batch_size=batch_size,
            speedups=self.speedups.as_dict(),
            upscaler=upscaler,
        )


def starts_from_images(request: GenerationRequest, model: LoadedModel) -> bool:
    """Whether an imagine request runs image-to-image from its image prompts (one image, or a blend on a model
    without an IP-Adapter) rather than text-to-image (none, or a blend through the IP-Adapter). A blend resolved
    to its composite has a strength and keeps that path, so it reproduces after an adapter is registered."""
    if not request.image_prompts:
        return False
    return len(request.image_prompts) == 1 or request.strength is not None or model.ip_adapter is None


def image_prompt_warnings(request: GenerationRequest, model: LoadedModel) -> list[str]:
    if request.image_weight is not None and not request.image_prompts:
        return ["--iw weighs an image prompt, and this prompt has none, so it had no effect."]
    if request.chaos and starts_from_images(request, model):
        return ["--chaos has no effect on a job that starts from your image; it was ignored."]
    return []


def open_source(path: str | Path | None, max_pixels: int) -> Image.Image:
    """The source image of an image operation, refused when it is missing, damaged or larger than any image
    this bot makes (so a crafted file is never decoded)."""
    if path is None:
        raise RequestError("this operation needs a source image")
    try:
        with budgets.open_checked(path, max_pixels) as image:
            return image.convert("RGB")
    except (OSError, ValueError) as error:
        raise RequestError(f"The source image cannot be used: {error}.") from None
