"""What a job's Discord message shows in each state: waiting, progress with its preview, failed,
cancelled, and finished (the grid or image with its buttons, flagged images as the server's policy says, a
/describe's suggestions). Pure functions of the job and its event; `bot.delivery` writes them."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

import discord

from bot import public_messages
from bot.content_policy import SHOW_EVERYTHING, Showing
from bot.layouts import grid_view, image_view, suggestions_view
from bot.uploads import UnreadableImage, Upload, UploadTooLarge, fit_file, fit_png, withhold
from engine.budgets import upscale_refusal
from engine.outputs import grid_cell
from engine.request import Operation
from jobs.events import Accepted, Cancelled, Failed, JobEvent, PositionChanged, ProgressEvent, Started
from jobs.views import JobView

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GridLayout:
    job_id: str
    image_count: int
    owner_id: int
    variation_mode: str = "strong"

    def view(self) -> discord.ui.View:
        return grid_view(self.job_id, self.image_count, self.owner_id, self.variation_mode)


@dataclass(frozen=True)
class ImageLayout:
    job_id: str
    index: int
    owner_id: int
    can_upscale: bool = True
    square: bool = True

    def view(self) -> discord.ui.View:
        return image_view(self.job_id, self.index, self.owner_id, can_upscale=self.can_upscale, square=self.square)


@dataclass(frozen=True)
class SuggestionsLayout:
    job_id: str
    count: int
    owner_id: int

    def view(self) -> discord.ui.View:
        return suggestions_view(self.job_id, self.count, self.owner_id)


@dataclass(frozen=True)
class JobMessage:
    """Everything the message shows; equal states are not written twice."""

    content: str
    upload: Upload | None = None
    layout: GridLayout | ImageLayout | SuggestionsLayout | None = None
    final: bool = False


def progress_message(job: JobView, event: JobEvent, upload_limit: int) -> JobMessage | None:
    """Every state but the finished grid: waiting, progress (with its preview), failed, cancelled."""
    upload, final = None, False
    match event:
        case Accepted(position=position) | PositionChanged(position=position):
            status = public_messages.waiting_status(position)
        case Started():
            status = public_messages.progress_status(0.0)
        case ProgressEvent(fraction=fraction, preview_png=preview):
            status = public_messages.progress_status(fraction)
            upload = preview_upload(preview, job.public_id, upload_limit)
        case Failed(message=reason):
            status, final = public_messages.failed_status(reason), True
        case Cancelled():
            status, final = public_messages.CANCELLED_STATUS, True
        case _:
            return None
    return JobMessage(public_messages.job_content(job.request, job.user_id, status), upload, final=final)


def preview_upload(preview: bytes | None, public_id: str, limit: int) -> Upload | None:
    """The preview as it came (the engine keeps it near one megapixel), or none when it does not fit: a
    progress preview is never re-encoded on the event loop."""
    if preview is None or len(preview) > limit:
        return None
    return Upload(f"{public_id}-preview.png", preview)


def finished_message(
    job: JobView,
    upload_limit: int,
    max_pixels: int,
    upscale_max_pixels: int,
    showing: Showing = SHOW_EVERYTHING,
    variation_mode: str = "strong",
) -> JobMessage:
    """The grid (or the single image of an upscale) with its buttons, fitted under the upload limit, shown as
    `showing` says: withheld images are grey tiles in the grid (so U1–U4 still match what is seen; a single
    image or a grid of only withheld ones is not posted at all), and the message says why. An image that
    cannot be opened (damaged, or larger than the bot makes) ends the message with that reason. A /describe shows
    its suggestions instead (`described_message`)."""
    if job.request.operation is Operation.DESCRIBE:
        return described_message(job, upload_limit, max_pixels)
    images = job.images
    single = len(images) == 1
    if single:
        can_upscale = upscale_refusal(images[0].width, images[0].height, upscale_max_pixels) is None
        square = images[0].width == images[0].height
        layout: GridLayout | ImageLayout = ImageLayout(job.public_id, 1, job.user_id, can_upscale, square)
    else:
        layout = GridLayout(job.public_id, len(images), job.user_id, variation_mode)
    path = images[0].path if single else job.grid_path
    request, user_id = job.request, job.user_id
    notes = ((showing.note,) if showing.note else ()) + tuple(job.request.warnings)
    if all(image.index in showing.withheld for image in images):
        return JobMessage(public_messages.job_content(request, user_id, notes=notes), layout=layout, final=True)
    try:
        if showing.withheld:
            upload = fit_png(_withheld_grid(job, showing, max_pixels), job.public_id, upload_limit, max_pixels)
        else:
            upload = fit_file(path, job.public_id, upload_limit, max_pixels)
    except UploadTooLarge as error:
        content = public_messages.job_content(request, user_id, f"done, but {error}", notes=notes)
        return JobMessage(content, layout=layout, final=True)
    except UnreadableImage as error:
        status = public_messages.failed_status(f"the image was made but {error}")
        return JobMessage(public_messages.job_content(request, user_id, status), final=True)
    upload = dataclasses.replace(upload, spoiler=showing.spoiler)
    return JobMessage(public_messages.job_content(request, user_id, notes=notes), upload, layout, final=True)


def described_message(job: JobView, upload_limit: int, max_pixels: int) -> JobMessage:
    """A finished /describe: its numbered suggestions with 1️⃣–4️⃣ and 🔄, under the image they describe (the stored
    copy of the member's image; left out when it no longer fits or opens, since the suggestions are the result)."""
    layout = SuggestionsLayout(job.public_id, len(job.suggestions), job.user_id)
    content = public_messages.described_content(job.user_id, job.suggestions)
    try:
        upload = fit_file(Path(job.request.source_image), job.public_id, upload_limit, max_pixels)
    except (UploadTooLarge, UnreadableImage) as error:
        log.warning("Job %s: its described image is not shown (%s)", job.public_id, error)
        upload = None
    return JobMessage(content, upload, layout, final=True)


def _withheld_grid(job: JobView, showing: Showing, max_pixels: int) -> bytes:
    try:
        png = job.grid_path.read_bytes()
    except OSError as error:
        raise UnreadableImage(f"the image file cannot be read ({error.strerror or error})") from None
    cells = []
    for position, image in enumerate(job.images):
        if image.index in showing.withheld:
            cells.append(
                (*grid_cell(position, len(job.images), (image.width, image.height)), image.width, image.height)
            )
    return withhold(png, cells, max_pixels)
