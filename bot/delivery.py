"""From a job's event stream to edits of its Discord message: the outbox's sending side.

Edits go through the channel endpoint with the bot token and the channel/message ids stored on
the job, never through the interaction token, which dies after 15 minutes: long queues and jobs
picked up again after a restart are delivered the same way.

A job is finished for the bot only once its final message (grid, failure or cancellation) is on
Discord: then, and only then, the job is marked delivered. A restarted bot follows every job not
marked so — queued, running, and ended ones whose last edit never happened — and edits its
message into the final state; editing twice shows the same one message. A job whose message was
never posted is posted with the job's id as Discord's nonce, so a post whose answer was lost is
not made twice, in the channel stored on the job at submit (the member's DMs for private results).

A step of a delivery that fails for a reason other than Discord's (the database refused a read or a write)
is tried again after a growing pause, for as long as the bot runs: a database blip delays a delivery, it
does not leave the job waiting for the next start.

Flagged images are shown as the server's content policy says (`bot.content_policy`), for the place the
message is in: the job's own channel here, the channel of the interaction for /show and U1–U4. Where
they are is only looked up for jobs that have a flagged image.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Protocol, TypeVar

import aiohttp
import discord

from bot import content_policy, public_messages
from bot.constants import BotSettings
from bot.content_policy import OUTSIDE_A_SERVER, SHOW_EVERYTHING, Venue
from bot.errors import UserFacingError
from bot.job_messages import JobMessage, finished_message, progress_message
from bot.member_settings import MemberSettings
from bot.throttle import ThrottledWriter
from bot.uploads import ImageEncoder, Upload
from jobs import JobService
from jobs.events import TERMINAL_EVENTS, Finished
from jobs.results import ImageRecord
from jobs.states import ContentPolicy
from jobs.views import JobView

log = logging.getLogger(__name__)
T = TypeVar("T")

# A progress edit is skipped after this many failed tries; a final one is tried until it succeeds.
EDIT_ATTEMPTS = 4
RETRY_DELAY = 1.0  # doubled after each failed attempt, on top of discord.py's own retries
MAX_RETRY_DELAY = 60.0
# A delivery step that failed for another reason (the database) is tried again after this long, doubling up
# to MAX_RETRY_DELAY.
STEP_RETRY_DELAY = 0.5
# What a dropped connection or a timeout looks like from discord.py: worth another try.
NETWORK_ERRORS = (aiohttp.ClientError, OSError, TimeoutError)


class MessageGone(Exception):
    """Deleted, the bot lost access to the channel, or Discord refuses the message for good: nothing more
    can be shown there. The text says which, and is kept on the job."""


@dataclass(frozen=True)
class MessageTarget:
    channel_id: int
    message_id: int


class ChannelLookup(Protocol):
    """The client's `get_partial_messageable`: a channel to post in and edit, by id."""

    def __call__(self, id: int, /, *, guild_id: int | None = None) -> discord.PartialMessageable: ...


class Delivery:
    """Given the job service, a way to reach a channel by id (the client's `get_partial_messageable`), the
    bot's settings (upload limit, edit interval), the encoder that re-encodes grids off the event loop, and
    the upscale budget (an image at it shows no Upscale buttons), and members' settings (what V1–V4 under a
    member's grid do)."""

    def __init__(
        self,
        jobs: JobService,
        channel: ChannelLookup,
        settings: BotSettings,
        encoder: ImageEncoder,
        upscale_max_pixels: int,
        member_settings: MemberSettings,
    ) -> None:
        self._jobs = jobs
        self._member_settings = member_settings
        self._channel = channel
        self._settings = settings
        self._encoder = encoder
        self._upscale_max_pixels = upscale_max_pixels
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def follow(
        self, job: JobView, target: MessageTarget | None, *, upload_limit: int | None = None, recorded: bool = True
    ) -> None:
        """Bring the job's message to its final state, posting it first when `target` is None (and recording
        `target` on the job first when it is not `recorded` yet); one delivery per job at a time."""
        task = self._tasks.get(job.public_id)
        if task is None or task.done():
            limit = upload_limit or self._settings.channel_upload_limit
            delivering = self._deliver(job, target, limit, recorded=recorded)
            task = asyncio.create_task(delivering, name=f"deliver-{job.public_id}")
            self._tasks[job.public_id] = task
            task.add_done_callback(partial(self._forget, job.public_id))

    def _forget(self, public_id: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(public_id) is task:
            del self._tasks[public_id]
        if not task.cancelled() and task.exception() is not None:
            log.error("Delivery of job %s stopped; the next start tries again", public_id, exc_info=task.exception())

    async def resume_undelivered(self) -> int:
        """After a restart: finish every job whose final message is not on Discord yet."""
        undelivered = await self._jobs.undelivered_jobs()
        for job in undelivered:
            target = MessageTarget(job.channel_id, job.message_id) if job.message_id is not None else None
            self.follow(job, target)
        return len(undelivered)

    async def post(
        self, job: JobView, channel: discord.abc.Messageable, *, upload_limit: int | None = None
    ) -> discord.Message:
        """Post the job's waiting message, store where it is on the job, and follow the job into it. Discord's
        errors are the caller's; a failure to store where the message is leaves that to the delivery."""
        message = await _send_waiting(job, channel)
        target = MessageTarget(message.channel.id, message.id)
        try:
            await self._attach(job, target)
            recorded = True
        except Exception as error:
            log.warning(
                "Job %s: recording where its message is failed (%s); its delivery tries again",
                job.public_id,
                _summary(error),
                exc_info=True,
            )
            recorded = False
        self.follow(job, target, upload_limit=upload_limit, recorded=recorded)
        return message

    async def _attach(self, job: JobView, target: MessageTarget) -> None:
        await self._jobs.attach_message(job.public_id, target.channel_id, target.message_id)

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _deliver(self, job: JobView, target: MessageTarget | None, upload_limit: int, *, recorded: bool) -> None:
        step = _Steps(job.public_id)
        try:
            if target is None:
                target = await self._post_for_restart(job, step)
            elif not recorded:
                await step("recording where its message is", partial(self._attach, job, target))
            await step("following it into its message", partial(self._follow_into, job, target, upload_limit))
        except MessageGone as gone:
            log.warning("Job %s cannot be shown: %s", job.public_id, gone)
            await step("giving it up", partial(self._give_up, job, str(gone)))
            return
        await step("marking it delivered", partial(self._jobs.mark_delivered, job.public_id))

    async def _post_for_restart(self, job: JobView, step: _Steps) -> MessageTarget:
        """The bot stopped between accepting the job and posting its message: post it now, once, where the job
        was meant to go (its channel was decided at submit: the member's DMs for private results)."""
        channel = self._channel(job.channel_id)
        what = f"the message of job {job.public_id}"
        message = await step(
            "posting its message", partial(_until_sent, partial(_send_waiting, job, channel), what=what)
        )
        target = MessageTarget(message.channel.id, message.id)
        await step("recording where its message is", partial(self._attach, job, target))
        return target

    async def _follow_into(self, job: JobView, target: MessageTarget, upload_limit: int) -> None:
        writer: ThrottledWriter[JobMessage] = ThrottledWriter(
            partial(self._write, target), self._settings.progress_edit_interval
        )
        writing = asyncio.create_task(writer.run())
        try:
            async with contextlib.aclosing(self._jobs.events(job.public_id)) as events:
                async for event in events:
                    if isinstance(event, Finished):
                        state = await self.finished_message(event.job, upload_limit)
                    else:
                        state = progress_message(job, event, upload_limit)
                    if state is not None:
                        writer.want(state)
                    if isinstance(event, TERMINAL_EVENTS):
                        await writing
                        return
        finally:
            writing.cancel()

    async def finished_message(
        self, job: JobView, upload_limit: int, shown_in: discord.Interaction | None = None
    ) -> JobMessage:
        """The final message of a job that succeeded, for its own channel or for where `shown_in` (a /show) posts
        it, its flagged images shown as the server there says; reading and maybe re-encoding a large grid happens
        on the encoder's threads, never on the event loop."""
        flagged = [image.index for image in job.images if image.flagged]
        showing = SHOW_EVERYTHING
        if flagged:
            venue = await (self.venue_of(shown_in) if shown_in is not None else self._venue_of_job(job))
            showing = content_policy.decide(flagged, venue)
        limits = (self._encoder.max_pixels, self._upscale_max_pixels)
        variation_mode = (await self._member_settings.get(job.user_id)).variation_mode
        return await self._encoder.run(finished_message, job, upload_limit, *limits, showing, variation_mode)

    async def tile(self, job: JobView, image: ImageRecord, interaction: discord.Interaction) -> Upload:
        """One image of a job, to be posted where `interaction` happened (U1–U4): fitted under its upload limit,
        behind a spoiler when the server says so, refused (UserFacingError) when the server withholds it there."""
        showing = SHOW_EVERYTHING
        if image.flagged:
            venue = await self.venue_of(interaction)
            showing = content_policy.decide([image.index], venue)
            if image.index in showing.withheld:
                raise UserFacingError(content_policy.refusal(image.index, venue))
        upload = await self._encoder.fit_file(image.path, f"{job.public_id}-{image.index}", interaction.filesize_limit)
        return dataclasses.replace(upload, spoiler=showing.spoiler)

    async def venue_of(self, interaction: discord.Interaction) -> Venue:
        """Where an interaction's answer is posted: its server's policy and whether its channel is age-restricted."""
        if interaction.guild_id is None:
            return OUTSIDE_A_SERVER
        config = await self._jobs.guild_config(interaction.guild_id)
        return Venue(config.content_policy, is_age_restricted(interaction.channel, interaction.guild))

    async def _venue_of_job(self, job: JobView) -> Venue:
        """The job's own channel. Whether it is age-restricted is asked only when the server's policy depends on
        it: from discord.py's cache, else from Discord; a channel that cannot be read counts as not restricted."""
        if job.guild_id is None or job.channel_id is None:
            return OUTSIDE_A_SERVER
        config = await self._jobs.guild_config(job.guild_id)
        if config.content_policy is not ContentPolicy.AGE_RESTRICTED:
            return Venue(config.content_policy)
        guild = self._channel(job.channel_id, guild_id=job.guild_id).guild
        if guild is None:  # the bot left the server, or it is not in the cache yet
            return Venue(config.content_policy)
        channel = guild.get_channel_or_thread(job.channel_id)
        if channel is None:
            try:
                channel = await guild.fetch_channel(job.channel_id)
            except (discord.HTTPException, discord.InvalidData, *NETWORK_ERRORS) as error:  # InvalidData: the DMs
                log.warning("Could not read channel %s of job %s (%s)", job.channel_id, job.public_id, error)
        return Venue(config.content_policy, is_age_restricted(channel, guild))

    async def _give_up(self, job: JobView, reason: str) -> None:
        """Nobody can see this job's message any more: stop making it, and record why it ends undelivered."""
        await self._jobs.cancel(job.public_id, job.user_id)
        await self._jobs.mark_delivered(job.public_id, reason)

    async def _write(self, target: MessageTarget, state: JobMessage) -> None:
        """One edit. A final state is tried until it is on Discord (with growing pauses); a progress state
        is skipped after EDIT_ATTEMPTS, since a newer one follows."""
        message = self._channel(target.channel_id).get_partial_message(target.message_id)

        async def edit() -> None:
            await message.edit(
                content=state.content,
                attachments=[state.upload.to_file()] if state.upload else [],
                view=state.layout.view() if state.layout else None,
            )

        attempts = None if state.final else EDIT_ATTEMPTS
        try:
            await _until_sent(edit, what=f"an edit of message {target.message_id}", attempts=attempts)
        except _GaveUp as error:
            log.warning("Skipped a progress edit of message %s: %s", target.message_id, error.__cause__)


async def _send_waiting(job: JobView, channel: discord.abc.Messageable) -> discord.Message:
    # The nonce makes Discord answer a repeated post (the first answer was lost) with the same message.
    content = public_messages.job_content(job.request, job.user_id, public_messages.waiting_status(None))
    return await channel.send(content, nonce=job.public_id)


class _Steps:
    """The steps of one job's delivery, each run until it succeeds: one that fails for a reason other than
    Discord's (MessageGone passes through; Discord's passing errors are `_until_sent`'s) is tried again after a
    growing pause, on the event loop's timer. Each failure is logged once, with the job id; the first of a run of
    failures with its traceback."""

    def __init__(self, public_id: str) -> None:
        self._public_id = public_id
        self._failures = 0  # in a row

    async def __call__(self, what: str, run: Callable[[], Awaitable[T]]) -> T:
        while True:
            try:
                done = await run()
            except MessageGone:
                raise
            except Exception as error:
                delay = min(STEP_RETRY_DELAY * 2 ** min(self._failures, 16), MAX_RETRY_DELAY)
                log.warning(
                    "Job %s: %s failed (%s); trying again in %.1f s",
                    self._public_id,
                    what,
                    _summary(error),
                    delay,
                    exc_info=self._failures == 0,
                )
                self._failures += 1
                await asyncio.sleep(delay)
                continue
            self._failures = 0
            return done


def _summary(error: Exception) -> str:
    """The first line of an error (SQLAlchemy's go on with the statement and a link)."""
    return str(error).partition("\n")[0] or type(error).__name__


class _GaveUp(Exception):
    """A limited number of tries all failed; the cause is the last error."""


async def _until_sent(send, *, what: str, attempts: int | None = None):
    """Call `send` until Discord takes it: transient failures (5xx, 429 after discord.py's own retries, a
    dropped connection) are tried again with growing pauses; a message that is gone raises MessageGone."""
    delay, attempt = RETRY_DELAY, 0
    while True:
        attempt += 1
        try:
            return await send()
        except (discord.NotFound, discord.Forbidden) as error:
            raise MessageGone(f"{what} can no longer be made ({error.status}: {error.text or 'gone'})") from error
        except discord.HTTPException as error:
            if error.status < 500 and error.status not in (401, 429):  # a refusal no retry can change
                raise MessageGone(f"Discord refused {what} ({error.status}: {error.text})") from error
            last = error
        except NETWORK_ERRORS as error:
            last = error
        if attempts is not None and attempt >= attempts:
            raise _GaveUp(what) from last
        log.warning("%s failed (%s); trying again in %.0f s", what, last, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, MAX_RETRY_DELAY)


def is_age_restricted(channel: object, guild: discord.Guild | None) -> bool:
    """One of Discord's age-restricted channels (a thread counts as its parent does), or any channel of a server
    Discord marks age-restricted as a whole. Direct messages never are."""
    if guild is not None and guild.nsfw_level is discord.NSFWLevel.age_restricted:
        return True
    is_nsfw = getattr(channel, "is_nsfw", None)
    return bool(is_nsfw()) if callable(is_nsfw) else False
