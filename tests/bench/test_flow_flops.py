"""FLUX.1 and SD3.5 Large rebuilt from their published configs (on the meta device: no memory, no download):
the parameter counts match the published ones and the counted FLOPs match the textbook transformer count."""

from __future__ import annotations

import pytest

from bench.flops import PUBLISHED_PARAMETERS, transformer_estimate, transformer_flops
from bench.flow_architectures import FLUX, SD35


@pytest.mark.parametrize("arch", [FLUX, SD35], ids=lambda arch: arch.name)
def test_published_architectures_have_the_published_size_and_flops(arch):
    flops, parameters = transformer_flops(arch, 1024)
    # Measured: FLUX.1 11.90 B parameters, 74.38 TFLOP per step at 1024² (estimate 74.36);
    # SD3.5 Large 8.06 B, 31.12 TFLOP (estimate 31.14). Batch 1, no guidance doubling.
    assert parameters == pytest.approx(PUBLISHED_PARAMETERS[arch.name], rel=0.02)
    assert flops == pytest.approx(transformer_estimate(arch, 1024), rel=0.01)
