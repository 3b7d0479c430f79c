"""Finding the job or image a command or a button names, with a refusal that says what exists instead.

Job ids come from members (typed options) and from buttons' custom ids: anything that is not shaped like
one is refused before the database is asked, and never echoed back (it could be 6000 characters of
markdown)."""

from __future__ import annotations

import re

from bot.errors import UserFacingError
from jobs import JobService
from jobs.results import ImageRecord
from jobs.views import JobView

# The shape of every job id the bot has made (ten base32 characters today); generous, but bounded.
JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")


async def find_job(jobs: JobService, job_id: str) -> JobView:
    job_id = job_id.strip()
    if not JOB_ID.fullmatch(job_id):
        raise UserFacingError("That is not a job id: job ids look like `k3q7xw2mza`. /history lists yours.")
    job = await jobs.get_job(job_id)
    if job is None:
        raise UserFacingError(f"There is no job `{job_id}`; /history lists yours.")
    return job


def find_image(job: JobView, index: int) -> ImageRecord:
    image = next((image for image in job.images if image.index == index), None)
    if image is None:
        if not job.images:
            raise UserFacingError(f"Job `{job.public_id}` has no images yet ({job.status}).")
        raise UserFacingError(f"Job `{job.public_id}` has images 1 to {len(job.images)}; there is no image {index}.")
    return image


def check_images_kept(job: JobView) -> None:
    """Refuse what needs a job's image files once RETENTION_DAYS has removed them."""
    if job.images_pruned_at is not None:
        raise UserFacingError(
            f"The images of job `{job.public_id}` have expired and were removed from the bot's disk. "
            f"`/reproduce job:{job.public_id}` makes them again, pixel for pixel."
        )
