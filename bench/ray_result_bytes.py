"""Bytes per second of finished images through the bot, local engine process vs Ray engine actor, side by side.

`python -m bench.ray_result_bytes [--jobs N] [--count C] [--size PX]` runs N jobs of C images of PX² one after
another through a `JobService`, first with ENGINE_BACKEND=local, then with ENGINE_BACKEND=ray on a local
cluster (a head and one worker node on 127.0.0.1, dashboard off). Its engine draws random pixels instead of
diffusing (`NoiseEngine`): random pixels do not compress, so each PNG is as large as its pixels make it
(a 4-image 1024² job ships 24 MB: four 3 MB PNGs and a 12 MB grid) and the figure is about bytes, not about the model.
Both backends encode the PNGs in the engine; with Ray the actor then ships them as bytes and the bot's pump
checks each image's sha256 and writes it under DATA_DIR. Also timed alone, in this process: that check and
write (`store_result`) on results of the same size — the bot's own share of a Ray job.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from bench.ray_local import MB, bench_settings, local_cluster, run_to_end, write_report
from engine.engine import Engine
from engine.request import GenerationRequest
from engine.settings import EngineSettings
from jobs import JobService, JobSettings, JobView
from jobs.messages import JobSucceeded
from jobs.ray_backend.shipping import pack_result, store_result
from jobs.results import result_folder, saved_result


class NoiseEngine(Engine):
    """The real engine (requests, batching, safety verdicts, saving) with random pixels for diffusion."""

    def __init__(self, *, device: str, max_pixels: int) -> None:
        super().__init__(EngineSettings(_env_file=None, engine_device=device, max_pixels=max_pixels))

    def _diffuse(self, model, requests, slots, on_step_end) -> tuple[list[Image.Image], list[bool], str]:
        first = requests[0]
        size = (first.width, first.height)
        images = [Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)) for _ in slots]
        return images, [False] * len(images), "noise"


def build_noise_engine(max_pixels: int, device: str) -> Engine:
    return NoiseEngine(device=device, max_pixels=max_pixels)


def _request(number: int, count: int, size: int) -> GenerationRequest:
    return GenerationRequest(prompt=f"noise {number}", steps=1, seed=abs(number), count=count, width=size, height=size)


async def burst(settings: JobSettings, jobs: int, count: int, size: int) -> tuple[float, int, list[JobView]]:
    """Seconds for `jobs` jobs one after another (after one to warm up), the bytes of their images, the jobs."""
    service = JobService(settings, engine_factory=functools.partial(build_noise_engine, size * size))
    await service.start()
    try:
        await run_to_end(service, _request(0, count, size))  # warm: the engine is built and has run once
        start = time.perf_counter()
        done = [await run_to_end(service, _request(number, count, size)) for number in range(1, jobs + 1)]
        seconds = time.perf_counter() - start
        return seconds, sum(_job_bytes(settings.data_dir, job) for job in done), done
    finally:
        await service.stop()


def _job_bytes(data_dir: Path, job: JobView) -> int:
    return sum(path.stat().st_size for path in result_folder(data_dir, job.public_id).glob("*.png"))


def store_seconds(data_dir: Path, jobs: list[JobView]) -> float:
    """The bot's own step of a Ray job, alone: check and write each job's shipped images (read back from disk)."""
    shipped = [pack_result(job.public_id, saved_result(data_dir, job.public_id), data_dir) for job in jobs]
    target = data_dir.parent / "stored"
    start = time.perf_counter()
    outcomes = [store_result(result, target) for result in shipped]
    seconds = time.perf_counter() - start
    if not all(isinstance(outcome, JobSucceeded) for outcome in outcomes):
        raise RuntimeError(f"storing failed: {outcomes}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ray_result_bytes", description=__doc__)
    parser.add_argument("--jobs", type=int, default=6)
    parser.add_argument("--count", type=int, default=4, help="images per job")
    parser.add_argument("--size", type=int, default=1024, help="image side in pixels")
    parser.add_argument("--out", type=Path, default=Path("bench/results/ray-result-bytes.json"))
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    report: dict[str, object] = {"jobs": args.jobs, "count": args.count, "size": args.size}
    with tempfile.TemporaryDirectory(prefix="bench-bytes-") as name:
        folder = Path(name)
        seconds, size, done = asyncio.run(burst(bench_settings(folder, "local"), args.jobs, args.count, args.size))
        report["local"] = _rates(seconds, size)
        report["store_alone"] = _rates(store_seconds(folder / "local", done), size)
        with local_cluster(object_store_mb=200):
            seconds, size, _ = asyncio.run(burst(bench_settings(folder, "ray"), args.jobs, args.count, args.size))
            report["ray"] = _rates(seconds, size)
    write_report(report, args.out)
    return 0


def _rates(seconds: float, size: int) -> dict[str, float]:
    return {"seconds": round(seconds, 3), "mb": round(size / MB, 1), "mb_per_s": round(size / MB / seconds, 1)}


if __name__ == "__main__":
    sys.exit(main())
