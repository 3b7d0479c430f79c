"""From a job's event stream to edits of its Discord message.

Edits go through the channel endpoint with the bot token and the channel/message ids stored on
the job, never through the interaction token, which dies after 15 minutes: long queues and jobs
picked up again after a restart are delivered the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import discord

from bot import messages
from bot.layouts import grid_view, image_view
from bot.throttle import ThrottledWriter
from bot.uploads import Upload, UploadTooLarge, fit_file, fit_png
from jobs.events import (
    TERMINAL_EVENTS,
    Accepted,
    Cancelled,
    Failed,
    Finished,
    JobEvent,
    PositionChanged,
    ProgressEvent,
    Started,
)
from jobs.views import JobView

if TYPE_CHECKING:
    from bot.client import ImagineBot

log = logging.getLogger(__name__)

EDIT_ATTEMPTS = 4
RETRY_DELAY = 1.0  # doubled after each failed attempt, on top of discord.py's own retries


class MessageGone(Exception):
    """Deleted, or the bot lost access to the channel: nothing more can be shown there."""


@dataclass(frozen=True)
class GridLayout:
    job_id: str
    image_count: int

    def view(self) -> discord.ui.View:
        return grid_view(self.job_id, self.image_count)


@dataclass(frozen=True)
class ImageLayout:
    job_id: str
    index: int
    owner_id: int

    def view(self) -> discord.ui.View:
        return image_view(self.job_id, self.index, self.owner_id)


@dataclass(frozen=True)
class JobMessage:
    """Everything the message shows; equal states are not written twice."""

    content: str
    upload: Upload | None = None
    layout: GridLayout | ImageLayout | None = None
    final: bool = False


@dataclass(frozen=True)
class MessageTarget:
    channel_id: int
    message_id: int


class Delivery:
    def __init__(self, bot: ImagineBot) -> None:
        self._bot = bot
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def follow(self, job: JobView, target: MessageTarget, *, upload_limit: int | None = None) -> None:
        """Keep the job's message up to date until the job ends; one delivery per job at a time."""
        task = self._tasks.get(job.public_id)
        if task is None or task.done():
            limit = upload_limit or self._bot.settings.channel_upload_limit
            task = asyncio.create_task(self._deliver(job, target, limit), name=f"deliver-{job.public_id}")
            self._tasks[job.public_id] = task
            task.add_done_callback(partial(self._forget, job.public_id))

    def _forget(self, public_id: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(public_id) is task:
            del self._tasks[public_id]
        if not task.cancelled() and task.exception() is not None:
            log.error("Delivery of job %s stopped", public_id, exc_info=task.exception())

    async def reattach_pending(self) -> int:
        """After a restart: follow every unfinished job; post a message for any that never got one."""
        pending = await self._bot.jobs.pending_jobs()
        for job in pending:
            if job.message_id is not None and job.channel_id is not None:
                self.follow(job, MessageTarget(job.channel_id, job.message_id))
            elif job.channel_id is not None:
                await self._repost(job)
        return len(pending)

    async def post(
        self, job: JobView, channel: discord.abc.Messageable, *, upload_limit: int | None = None
    ) -> discord.Message:
        """Post the job's waiting message, store where it is on the job, and follow the job into it."""
        message = await channel.send(messages.job_content(job.request, job.user_id, messages.waiting_status(None)))
        await self._bot.jobs.attach_message(job.public_id, message.channel.id, message.id)
        self.follow(job, MessageTarget(message.channel.id, message.id), upload_limit=upload_limit)
        return message

    async def _repost(self, job: JobView) -> None:
        """The bot stopped between accepting the job and posting its message: post it now."""
        try:
            await self.post(job, self._bot.get_partial_messageable(job.channel_id))
        except discord.HTTPException as error:
            log.warning("Could not post a message for job %s in channel %s: %s", job.public_id, job.channel_id, error)

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _deliver(self, job: JobView, target: MessageTarget, upload_limit: int) -> None:
        writer: ThrottledWriter[JobMessage] = ThrottledWriter(
            partial(self._write, target), self._bot.settings.progress_edit_interval
        )
        writing = asyncio.create_task(writer.run())
        try:
            async with contextlib.aclosing(self._bot.jobs.events(job.public_id)) as events:
                async for event in events:
                    if isinstance(event, Finished):
                        job = await self._bot.jobs.get_job(job.public_id) or job  # the resolved request
                        # reading and maybe re-encoding a large grid must not stall the event loop
                        state = await asyncio.to_thread(self._render, job, event, upload_limit)
                    else:
                        state = self._render(job, event, upload_limit)
                    if state is not None:
                        writer.want(state)
                    if isinstance(event, TERMINAL_EVENTS):
                        await writing
                        return
        except MessageGone as gone:
            log.warning("Job %s goes on undelivered: %s", job.public_id, gone)
        finally:
            writing.cancel()

    def _render(self, job: JobView, event: JobEvent, upload_limit: int) -> JobMessage | None:
        request, user_id = job.request, job.user_id
        match event:
            case Accepted(position=position) | PositionChanged(position=position):
                return JobMessage(messages.job_content(request, user_id, messages.waiting_status(position)))
            case Started():
                return JobMessage(messages.job_content(request, user_id, messages.progress_status(0.0)))
            case ProgressEvent(fraction=fraction, preview_png=preview):
                upload = _preview_upload(preview, job.public_id, upload_limit)
                return JobMessage(messages.job_content(request, user_id, messages.progress_status(fraction)), upload)
            case Finished(grid_path=grid_path, image_paths=image_paths):
                return finished_message(job, grid_path, image_paths, upload_limit)
            case Failed(message=reason):
                return JobMessage(messages.job_content(request, user_id, messages.failed_status(reason)), final=True)
            case Cancelled():
                return JobMessage(messages.job_content(request, user_id, messages.CANCELLED_STATUS), final=True)
        return None

    async def _write(self, target: MessageTarget, state: JobMessage) -> None:
        message = self._bot.get_partial_messageable(target.channel_id).get_partial_message(target.message_id)
        delay = RETRY_DELAY
        for attempt in range(1, EDIT_ATTEMPTS + 1):
            try:
                await message.edit(
                    content=state.content,
                    attachments=[state.upload.to_file()] if state.upload else [],
                    view=state.layout.view() if state.layout else None,
                )
                return
            except (discord.NotFound, discord.Forbidden) as error:
                raise MessageGone(f"message {target.message_id} can no longer be edited ({error})") from error
            except discord.HTTPException as error:
                if attempt == EDIT_ATTEMPTS or (error.status < 500 and error.status != 429):
                    if state.final:
                        raise
                    log.warning("Skipped a progress edit of message %s: %s", target.message_id, error)
                    return
                await asyncio.sleep(delay)
                delay *= 2


def _preview_upload(preview: bytes | None, public_id: str, limit: int) -> Upload | None:
    if preview is None:
        return None
    try:
        return fit_png(preview, f"{public_id}-preview", limit)
    except UploadTooLarge:
        return None


def finished_message(job: JobView, grid_path: Path, image_paths: tuple[Path, ...], limit: int) -> JobMessage:
    """The grid (or the single image of an upscale) with its buttons, fitted under the upload limit."""
    single = len(image_paths) == 1
    path = image_paths[0] if single else grid_path
    layout = ImageLayout(job.public_id, 1, job.user_id) if single else GridLayout(job.public_id, len(image_paths))
    try:
        upload = fit_file(path, job.public_id, limit)
    except UploadTooLarge as error:
        content = messages.job_content(job.request, job.user_id, f"done, but {error}", notes=job.request.warnings)
        return JobMessage(content, layout=layout, final=True)
    return JobMessage(
        messages.job_content(job.request, job.user_id, notes=job.request.warnings), upload, layout, final=True
    )
