"""The jobs every runner gets, and what is measured about each of them.

All jobs arrive at once (a burst from several users, interleaved like a busy channel), so a
job's latency includes the time it waits behind others; every runner sees the same burst.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.request import GenerationRequest

PROMPTS = (
    "a lighthouse on a cliff at sunset, oil painting",
    "a red fox in fresh snow, photograph",
    "an isometric city block at night, neon lights",
    "a bowl of ramen, studio lighting",
    "a watercolor map of an imaginary island",
)


@dataclass(frozen=True)
class Workload:
    users: int
    jobs_per_user: int
    images_per_job: int = 4
    steps: int = 25
    guidance: float = 7.0
    """For models with classifier-free guidance; FLUX.1 jobs take the model's own (`bench.models.job_shape`)."""
    sampler: str = "euler"

    def jobs(self, resolution: int, guidance: float, seed: int = 1000) -> list[tuple[int, GenerationRequest]]:
        """(user_id, fully resolved imagine request) in arrival order: round-robin over users."""
        jobs = []
        for _round_index in range(self.jobs_per_user):
            for user in range(self.users):
                number = len(jobs)
                request = GenerationRequest(
                    prompt=PROMPTS[number % len(PROMPTS)],
                    width=resolution,
                    height=resolution,
                    steps=self.steps,
                    guidance=guidance,
                    sampler=self.sampler,
                    count=self.images_per_job,
                    seed=seed + 100 * number,
                )
                jobs.append((1000 + user, request))
        return jobs


@dataclass
class JobTiming:
    """Seconds since the burst was submitted."""

    first_output: float | None = None
    finished: float | None = None


@dataclass
class RunMeasurement:
    """One runner over one burst: wall time and each job's timing."""

    name: str
    images: int
    wall_s: float
    timings: list[JobTiming]
    extra: dict = field(default_factory=dict)

    def summary(self) -> dict:
        finished = [t.finished for t in self.timings if t.finished is not None]
        first = [t.first_output for t in self.timings if t.first_output is not None]
        return {
            "name": self.name,
            "jobs": len(self.timings),
            "jobs_finished": len(finished),
            "images": self.images,
            "wall_s": self.wall_s,
            "images_per_s": self.images / self.wall_s,
            "jobs_per_s": len(finished) / self.wall_s,
            "latency_to_grid_s": percentiles(finished),
            "latency_to_first_output_s": percentiles(first),
            **self.extra,
        }


def percentiles(values: list[float]) -> dict | None:
    if not values:
        return None
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"p50": float(p50), "p95": float(p95), "p99": float(p99), "max": max(values)}
