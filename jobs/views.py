"""Frozen snapshots of database rows: what the bot gets instead of ORM objects.

A view can be passed between threads and kept across awaits without touching a session. This
module imports no database code; the ORM classes build their own views (`jobs.models`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.request import GenerationRequest
from jobs.results import ImageRecord
from jobs.states import FINISHED_STATUSES, ContentPolicy, JobKind, JobStatus, VariationMode


@dataclass(frozen=True)
class JobView:
    public_id: str
    kind: JobKind
    status: JobStatus
    user_id: int
    guild_id: int | None
    channel_id: int | None
    message_id: int | None
    raw_prompt: str
    request: GenerationRequest
    """Parsed once from the stored parameters: as submitted, or resolved once the job succeeded."""
    model: str | None
    seed: int
    error: str | None
    attempts: int
    device: str | None
    parent_public_id: str | None
    parent_index: int | None
    batch_id: str | None
    batch_images: int | None
    grid_path: Path | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    delivered_at: datetime | None = None
    """When its final message (grid, failure, cancellation) reached Discord, or was found gone."""
    delivery_note: str | None = None
    """Why a final message could not be shown (deleted, channel gone), for the log and /history."""
    cost: float = 1.0
    """What it weighs against the caps: 1.0 is a standard four-image job."""
    hidden_at: datetime | None = None
    """Deleted by its owner or a server admin: it can no longer be shown, reproduced or pressed."""
    images_pruned_at: datetime | None = None
    """Its image files were removed after RETENTION_DAYS; its record still reproduces them."""
    images: tuple[ImageRecord, ...] = ()
    """Paths are absolute."""
    suggestions: tuple[str, ...] = ()
    """A finished /describe's prompt suggestions (untrusted text written by a model: escape it to show it)."""

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES


@dataclass(frozen=True)
class UserSettingsView:
    user_id: int
    defaults: dict[str, Any] = field(default_factory=dict, hash=False)
    """Flag defaults such as {"aspect": "16:9", "steps": 20}, applied by the bot's prompt parser."""
    others_may_use_buttons: bool = True
    remix: bool = False
    """Midjourney's Remix: V, 🔄, Vary, Zoom and Pan first open the prompt for editing."""
    variation_mode: VariationMode = VariationMode.STRONG
    """What V1–V4 under this member's grids do."""
    private_results: bool = False
    """This member's jobs are shown in their DMs with the bot, not in the channel."""


@dataclass(frozen=True)
class SettingsChange:
    """What /settings changes; None leaves a setting as it is."""

    defaults: dict[str, Any] | None = None
    others_may_use_buttons: bool | None = None
    remix: bool | None = None
    variation_mode: VariationMode | None = None
    private_results: bool | None = None


@dataclass(frozen=True)
class GuildConfigView:
    guild_id: int
    allowed_channel_ids: tuple[int, ...] = ()
    """Empty means every channel."""
    banned_words: tuple[str, ...] = ()
    admin_role_id: int | None = None
    content_policy: ContentPolicy = ContentPolicy.BLOCK
    """What happens to flagged images made here."""


@dataclass(frozen=True)
class QueueStats:
    queue_length: int
    running: int
    positions_by_user: dict[int, tuple[int, ...]] = field(hash=False)
    """Each user's queued jobs' 1-based places in the line."""
    devices: tuple[str, ...]
    uptime_seconds: float
