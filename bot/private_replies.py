"""The private (ephemeral) texts: an image's full record, your history, the queue, your settings."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from pathlib import PurePath

from bot.derive import cell_name
from bot.public_messages import MAX_CONTENT, prompt_and_flags, quoted, shorten
from engine.loras import RegisteredLora
from engine.registry import ModelRegistry, RegisteredModel
from engine.request import DEFAULT_IMAGE_WEIGHT, MAX_ZOOM, GenerationRequest, Operation
from jobs.results import ImageRecord
from jobs.states import ContentPolicy
from jobs.views import GuildConfigView, JobView, QueueStats, UserSettingsView

# How /config shows the content policy (`bot.content_policy`).
POLICY_DESCRIPTIONS = {
    ContentPolicy.BLOCK: "blocked: images the content filter flags are not shown",
    ContentPolicy.SPOILER: "shown behind a spoiler",
    ContentPolicy.AGE_RESTRICTED: "shown only in age-restricted channels, blocked elsewhere",
}


def reproduce_command(job_id: str, index: int | None = None) -> str:
    return f"/reproduce job:{job_id}" + (f" image:{index}" if index is not None else "")


# The prompt line of ℹ️ and 📩 (its flags keep at least half): with the other lines at their longest (six LoRAs,
# five image prompts, nine region cells) the record stays within MAX_CONTENT, the reproduce command last.
MAX_DETAILS_PROMPT = 900
# The characters of an image prompt's content hash (its stored name) that ℹ️ and 📩 show for it.
SOURCE_HASH_CHARS = 8
_SOURCE_NAME = re.compile(r"[0-9a-f]{64}\.png")


def details_content(job: JobView, image: ImageRecord) -> str:
    """An image's full record (ℹ️, and 📩 by DM): the prompt and flags as a prompt to paste back, the values
    they resolved to, the LoRAs, the image prompts (by content hash, never by path), the operation (zoom and
    canvas, region cells, pan direction, strength), and the device as `device_label` names it."""
    request = job.request
    device = device_label(job.device) if job.device else "unknown device"
    lines = [
        f"**Job** `{job.public_id}` image {image.index} of {len(job.images)} ({job.kind})",
        f"**Prompt:** {prompt_and_flags(request, MAX_DETAILS_PROMPT)}",
        f"**Seed:** {image.seed}",
        f"**Model:** {job.model or request.model or 'default'}",
        f"**Size:** {image.width}×{image.height} (aspect {request.aspect[0]}:{request.aspect[1]})",
        f"**Steps:** {request.steps} · **Guidance:** {request.guidance} · **Sampler:** {request.sampler}",
        f"**Chaos:** {request.chaos} · **Tile:** {'yes' if request.tile else 'no'}",
        *_loras_lines(request),
        *_image_prompt_lines(request),
        *_operation_lines(request),
        f"**Batch:** slot {image.batch_slot + 1} of {image.batch_size} on {device}",
        f"**Reproduce:** `{reproduce_command(job.public_id, image.index)}`",
    ]
    return shorten("\n".join(lines), MAX_CONTENT)


def _loras_lines(request: GenerationRequest) -> list[str]:
    if not request.loras:
        return []
    shown = [
        f"{quoted(lora.name, 32)} at {'its registered weight' if lora.weight is None else f'{lora.weight:g}'}"
        for lora in request.loras
    ]
    return [f"**LoRAs:** {', '.join(shown)}"]


def _image_prompt_lines(request: GenerationRequest) -> list[str]:
    """How many images the job started from and each one's content hash (the stored file's name), never the
    server's path; `--iw`, what they weighed against the words."""
    if not request.image_prompts:
        return []
    hashes = [
        f"`{name[:SOURCE_HASH_CHARS]}`" if _SOURCE_NAME.fullmatch(name := PurePath(path).name) else "?"
        for path in request.image_prompts
    ]
    weight = DEFAULT_IMAGE_WEIGHT if request.image_weight is None else request.image_weight
    return [f"**Image prompts:** {len(hashes)} ({', '.join(hashes)}) · **Image weight:** --iw {weight:g}"]


def _operation_lines(request: GenerationRequest) -> list[str]:
    parts = [part for part in (request.mode, request.direction and request.direction.value) if part]
    if request.operation is Operation.ZOOM:
        canvas = request.canvas_aspect
        parts.append(f"zoom out {MAX_ZOOM if request.zoom is None else request.zoom:g}×")  # None: the 2x button
        parts.append(f"canvas {canvas[0]}:{canvas[1]}" if canvas else "canvas as the source image")
    if request.region:
        parts.append(f"repainting {', '.join(cell_name(cell) for cell in request.region)}")
    if request.strength is not None:
        parts.append(f"strength {request.strength:g}")
    if request.operation is Operation.IMAGINE and not parts:
        return []
    return [f"**Operation:** {request.operation}" + (f" ({', '.join(parts)})" if parts else "")]


def history_content(jobs: list[JobView], dm_channel_id: int | None = None) -> str:
    """The member's recent jobs with links; a private result lies in their DMs with the bot (`dm_channel_id`),
    though the job belongs to its server."""
    if not jobs:
        return "You have no jobs yet. Try `/imagine prompt: a red fox in snow`."
    lines = ["**Your recent jobs** (newest first):"]
    for job in jobs:
        place = "@me" if job.guild_id is None or job.channel_id == dm_channel_id else job.guild_id
        where = f" · https://discord.com/channels/{place}/{job.channel_id}/{job.message_id}" if job.message_id else ""
        lines.append(f"`{job.public_id}` {job.kind}, {job.status}: {quoted(job.raw_prompt, 80)}{where}")
    lines.append("Use `/show job:<id>` to post one again, `/reproduce job:<id>` to make it again.")
    return shorten("\n".join(lines), MAX_CONTENT)


def info_content(stats: QueueStats, user_id: int, bot_uptime: float, models: ModelRegistry) -> str:
    mine = stats.positions_by_user.get(user_id, ())
    positions = ", ".join(f"#{place}" for place in mine) if mine else "none waiting"
    lines = [
        f"**Queue:** {stats.queue_length} waiting, {stats.running} running",
        f"**Your jobs in the queue:** {positions}",
        "**Models** (`--model NAME`, or /settings):",
        *(f"- {model_line(entry)}" for entry in models.entries),
        *(["**LoRAs** (`--lora NAME` or `--lora NAME:0.6`):"] if models.loras.entries else []),
        *(f"- {lora_line(lora)}" for lora in models.loras.entries),
        f"**Devices:** {devices_line(stats.devices)}",
        f"**Uptime:** {timedelta(seconds=int(bot_uptime))}",
    ]
    return shorten("\n".join(lines), MAX_CONTENT)


def device_label(name: str) -> str:
    """A device as members see it, wherever they do (ℹ️, 📩, /info): a Ray cluster's (`<node address>/<node id
    prefix>:<index>`, jobs/ray_backend/cluster.py) by node id and index, `3f9a2c:0`, since the machine's network
    address is the operator's business; this machine's (`cuda:0`) as named."""
    return name.rpartition("/")[2]


def devices_line(devices: Sequence[str]) -> str:
    """This machine's devices as named (`cuda:0, cuda:1`); a Ray cluster's counted by machine, each machine
    shown by its node id (`device_label` without the index)."""
    local = [name for name in devices if device_label(name) == name]
    machines = Counter(device_label(name).rsplit(":", 1)[0] for name in devices if device_label(name) != name)
    if not machines:
        return ", ".join(local) or "none"
    count = sum(machines.values())
    each = ", ".join(f"`{machine}`: {number}" for machine, number in sorted(machines.items()))
    plural = "s" if len(machines) > 1 else ""
    return ", ".join([*local, f"{count} on {len(machines)} machine{plural} ({each})"])


def lora_line(lora: RegisteredLora) -> str:
    """A registered LoRA as members see it: its name, what it is for, when it applies; never its file."""
    applies = "always on" if lora.always else f"weight {lora.weight:g}"
    return f"`{lora.name}` — {lora.description or 'a style'} (for {', '.join(lora.models)}; {applies})"


def model_line(entry: RegisteredModel) -> str:
    """A registered model as members see it: its name, what the operator says of it, its presets (steps,
    guidance, sampler, and the size it draws a square at). A local path is never shown; a hub id is, since
    anyone may look it up."""
    parts = [entry.description or (entry.source if entry.from_hub else None) or "the server's model"]
    presets = [
        f"{label} {value}"
        for label, value in (
            ("steps", entry.steps),
            ("guidance", entry.guidance),
            ("sampler", entry.sampler),
            ("size", entry.size and f"{entry.size}×{entry.size}"),
        )
        if value is not None
    ]
    if presets:
        parts.append(f"({', '.join(presets)} by default)")
    return f"`{entry.name}` — {' '.join(parts)}"


def settings_content(settings: UserSettingsView) -> str:
    defaults = settings.defaults
    aspect = defaults.get("aspect")
    guidance = defaults.get("guidance")
    negative = defaults.get("negative_prompt")
    lines = [
        "**Your defaults** (a flag in the prompt always wins):",
        f"Aspect ratio: {f'{aspect[0]}:{aspect[1]}' if aspect else 'model default (1:1)'}",
        f"Steps: {defaults.get('steps') or 'model default'}",
        f"Model: {defaults.get('model') or 'server default'}",
        f"Guidance: {guidance if guidance is not None else 'model default'}",
        f"Sampler: {defaults.get('sampler') or 'model default'}",
        f"Chaos: {defaults.get('chaos') or 0}",
        f"Negative prompt: {quoted(negative, 300) if negative else 'none'}",
        "**Your buttons:**",
        f"V1–V4 make {settings.variation_mode} variations",
        f"Remix (edit the prompt before V, 🔄, Vary, Zoom, Pan): {'on' if settings.remix else 'off'}",
        f"Private results (your jobs in your DMs): {'on' if settings.private_results else 'off'}",
        f"Others may press my buttons: {'yes' if settings.others_may_use_buttons else 'no'}",
    ]
    return shorten("\n".join(lines), MAX_CONTENT)


def config_content(config: GuildConfigView) -> str:
    channels = ", ".join(f"<#{channel}>" for channel in config.allowed_channel_ids) or "every channel"
    words = ", ".join(quoted(word, 100) for word in config.banned_words) or "none"
    role = f"<@&{config.admin_role_id}>" if config.admin_role_id else "none (the server owner only)"
    policy = POLICY_DESCRIPTIONS[config.content_policy]
    return shorten(
        f"**Images allowed in:** {channels}\n**Banned words:** {words}\n**Admin role:** {role}\n"
        f"**Flagged images:** {policy}",
        MAX_CONTENT,
    )
