"""Big-model memory settings: off by default, and a quantization whose package is missing stops the start with
the package to install (nothing here has a GPU, so offload and quantized runs are not exercised)."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from engine.memory import MemorySaving
from engine.settings import EngineSettings


def test_memory_settings_are_off_by_default():
    assert MemorySaving.from_settings(EngineSettings(_env_file=None)) == MemorySaving()
    assert MemorySaving().quantization_config(torch.bfloat16) is None


@pytest.mark.skipif(importlib.util.find_spec("bitsandbytes") is not None, reason="bitsandbytes is installed")
def test_quantization_without_its_package_names_the_package():
    with pytest.raises(ValueError, match="needs the bitsandbytes package: pip install bitsandbytes"):
        MemorySaving(quantization="bnb-nf4").quantization_config(torch.bfloat16)


def test_a_quantization_config_covers_the_transformer_only(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object())
    config = MemorySaving(quantization="bnb-nf4").quantization_config(torch.bfloat16)
    assert config.components_to_quantize == ["transformer"]
    assert config.quant_backend == "bitsandbytes_4bit"
