"""Finding the job or image a command or a button names, with a refusal that says what exists instead."""

from __future__ import annotations

from bot.errors import UserFacingError
from jobs import JobService
from jobs.results import ImageRecord
from jobs.views import JobView


async def find_job(jobs: JobService, job_id: str) -> JobView:
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
