"""FLUX.1 and SD3.5 Large rebuilt from their published configs (on the meta device: no memory, no download):
the parameter counts match the published ones, the counted FLOPs match the textbook transformer count, and a
GPU-suite job is counted with each family's own guidance."""

from __future__ import annotations

import pytest
import torch

from bench.flops import PUBLISHED_PARAMETERS, job_flops, transformer_estimate, transformer_flops
from bench.flow_architectures import FLUX, SD35, build_pipeline
from bench.models import job_shape
from bench.suites import SUITES


@pytest.mark.parametrize("arch", [FLUX, SD35], ids=lambda arch: arch.name)
def test_published_architectures_have_the_published_size_and_flops(arch):
    flops, parameters = transformer_flops(arch, 1024)
    # Measured: FLUX.1 11.90 B parameters, 74.38 TFLOP per step at 1024² (estimate 74.36);
    # SD3.5 Large 8.06 B, 31.12 TFLOP (estimate 31.14). Batch 1, no guidance doubling.
    assert parameters == pytest.approx(PUBLISHED_PARAMETERS[arch.name], rel=0.02)
    assert flops == pytest.approx(transformer_estimate(arch, 1024), rel=0.01)


# docs/performance.md quotes these: 4 images at 1024², 25 steps; FLUX.1 without classifier-free guidance (its
# guidance is distilled), SD3.5 with it (transformer and text encoders run twice).
@pytest.mark.parametrize(
    ("arch", "guidance_batch", "total_tflop"), [(FLUX, 1, 7485.2), (SD35, 2, 6271.1)], ids=["flux", "sd35"]
)
def test_a_gpu_suite_job_is_counted_with_the_familys_guidance(arch, guidance_batch, total_tflop):
    with torch.device("meta"):
        pipe = build_pipeline(arch)
    workload = SUITES["gpu"].workload
    shape = job_shape(arch.name, pipe, workload.guidance)
    job = job_flops(
        pipe,
        shape.resolution,
        guidance_batch=shape.guidance_batch,
        images=workload.images_per_job,
        steps=workload.steps,
    )
    assert (shape.resolution, shape.guidance_batch) == (1024, guidance_batch)
    assert job.total / 1e12 == pytest.approx(total_tflop, rel=1e-4)
