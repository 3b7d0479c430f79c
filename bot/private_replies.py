"""The private (ephemeral) texts: an image's full record, your history, the queue, your settings."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

from bot.public_messages import MAX_CONTENT, quoted, shorten
from engine.loras import RegisteredLora
from engine.registry import ModelRegistry, RegisteredModel
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


def details_content(job: JobView, image: ImageRecord) -> str:
    request = job.request
    lines = [
        f"**Job** `{job.public_id}` image {image.index} of {len(job.images)} ({job.kind})",
        f"**Prompt:** {quoted(request.prompt, 900)}",
    ]
    if request.negative_prompt:
        lines.append(f"**Negative prompt:** {quoted(request.negative_prompt, 300)}")
    lines += [
        f"**Seed:** {image.seed}",
        f"**Model:** {job.model or request.model or 'default'}",
        f"**Size:** {image.width}×{image.height} (aspect {request.aspect[0]}:{request.aspect[1]})",
        f"**Steps:** {request.steps} · **Guidance:** {request.guidance} · **Sampler:** {request.sampler}",
        f"**Chaos:** {request.chaos} · **Tile:** {'yes' if request.tile else 'no'}",
    ]
    if request.mode or request.direction or request.strength is not None:
        extra = [part for part in (request.mode, request.direction and request.direction.value) if part]
        if request.strength is not None:
            extra.append(f"strength {request.strength}")
        lines.append(f"**Operation:** {request.operation} ({', '.join(extra)})")
    lines += [
        f"**Batch:** slot {image.batch_slot + 1} of {image.batch_size} on {job.device or 'unknown device'}",
        f"**Reproduce:** `{reproduce_command(job.public_id, image.index)}`",
    ]
    return shorten("\n".join(lines), MAX_CONTENT)


def history_content(jobs: list[JobView]) -> str:
    if not jobs:
        return "You have no jobs yet. Try `/imagine prompt: a red fox in snow`."
    lines = ["**Your recent jobs** (newest first):"]
    for job in jobs:
        where = (
            f" · https://discord.com/channels/{job.guild_id or '@me'}/{job.channel_id}/{job.message_id}"
            if job.message_id
            else ""
        )
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


def devices_line(devices: Sequence[str]) -> str:
    """This machine's devices as named (`cuda:0, cuda:1`); a Ray cluster's (`<address>/<node id>:<n>`) counted
    by machine, each machine shown by its node id: its network address is the operator's business."""
    local = [name for name in devices if "/" not in name]
    machines = Counter(name.split("/", 1)[1].rsplit(":", 1)[0] for name in devices if "/" in name)
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
    """A registered model as members see it: its name, what the operator says of it, its presets. A local
    path is never shown; a hub id is, since anyone may look it up."""
    parts = [entry.description or (entry.source if entry.from_hub else None) or "the server's model"]
    presets = [
        f"{label} {value}"
        for label, value in (("steps", entry.steps), ("guidance", entry.guidance), ("sampler", entry.sampler))
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
