"""Seamless tiling: circular padding on every convolution, so the image wraps at its edges.

Applied to the UNet and the VAE for one run only, then restored, because the modules are shared
by every pipeline and every later job.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def seamless(*modules: torch.nn.Module, enabled: bool = True) -> Iterator[None]:
    if not enabled:
        yield
        return
    convs = [layer for module in modules for layer in module.modules() if isinstance(layer, torch.nn.Conv2d)]
    previous = [conv.padding_mode for conv in convs]
    for conv in convs:
        conv.padding_mode = "circular"
    try:
        yield
    finally:
        for conv, mode in zip(convs, previous, strict=True):
            conv.padding_mode = mode
