"""The device's achievable matmul rate, measured in the same run as the workload.

MFU divides by this measured figure rather than the datasheet one, so clocks, power caps and
MIG slices of the machine at hand are accounted for.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch


@dataclass(frozen=True)
class PeakMatmul:
    device: str
    dtype: str
    size: int
    repeats: int
    tflops: float

    def as_dict(self) -> dict:
        return asdict(self)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_peak(device: torch.device, *, size: int | None = None, repeats: int = 20) -> PeakMatmul:
    """Best-of-`repeats` rate of a square matmul: bf16 8192² on CUDA, fp32 1024² on the CPU."""
    on_cuda = device.type == "cuda"
    dtype = torch.bfloat16 if on_cuda else torch.float32
    size = size or (8192 if on_cuda else 1024)
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    for _ in range(3):
        torch.mm(a, b)
    synchronize(device)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return PeakMatmul(str(device), str(dtype).removeprefix("torch."), size, repeats, 2 * size**3 / best / 1e12)
