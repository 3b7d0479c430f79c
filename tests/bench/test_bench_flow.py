"""The smoke suite on the CPU-sized FLUX.1 and SD3.5 models (`--model flux-tiny`, `sd35-tiny`): the transformer
families take every code path that `--suite gpu --model flux` / `--model sd35` take on a GPU."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from bench.__main__ import main
from bench.finite import NonFiniteOutput, check_finite
from bench.flow_architectures import TINY_FLUX, TINY_SD3
from bench.levers import LEVERS, skip_reason
from bench.models import model_folder
from bench.naive import build_pipeline
from engine.families import family_for

torch.set_num_threads(1)
RUNNERS = {"naive", "engine_direct", "engine_direct_batched", "queue", "queue_batched"}


def _smoke(folder: Path, model: str, *options: str) -> dict:
    cache, out = folder / "cache", folder / f"{model}.json"
    main(
        ["--suite", "smoke", "--model", model, "--threads", "1", "--cache-dir", str(cache), "--out", str(out), *options]
    )
    return json.loads(out.read_text())


# The Discord acknowledgement does not depend on the model (test_bench_smoke measures it): leaving it out keeps
# these two runs at about 20 s each on 2 shared cores.
@pytest.fixture(scope="module")
def flux_result(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("bench-flux")
    return _smoke(folder, TINY_FLUX.name, "--parts", "runs,levers", "--levers", "baseline,vae_tiny,preview_every_step")


@pytest.fixture(scope="module")
def sd35_result(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("bench-sd35")
    return _smoke(folder, TINY_SD3.name, "--parts", "runs,levers", "--levers", "baseline,batch4,fused_qkv")


def _check_runs(result: dict) -> None:
    runs = result["runs"]
    assert set(runs) == RUNNERS
    for name, run in runs.items():
        assert run["jobs_finished"] == run["jobs"] == 2, name
        assert run["images"] == 8, name
        assert run["latency_to_first_output_s"]["p50"] <= run["latency_to_grid_s"]["p50"] <= run["wall_s"], name
        assert math.isfinite(run["mfu"]) and run["mfu"] > 0, name


def test_flux_every_runner_delivers_every_job_without_classifier_free_guidance(flux_result: dict) -> None:
    _check_runs(flux_result)
    assert flux_result["model"] == {
        "name": "flux-tiny",
        "family": "FLUX.1",
        "resolution": 64,
        "guidance": 0.0,  # schnell-shaped: reads no guidance
        "guidance_batch": 1,
    }
    job = flux_result["flops"]["job"]
    assert job["guidance_batch"] == 1
    assert (
        job["total"]
        == 4 * 2 * job["denoiser_per_image_step"] + 4 * job["vae_decode_per_image"] + job["text_encoders_per_prompt"]
    )
    levers = flux_result["levers"]
    assert set(levers) == {"baseline", "vae_tiny", "preview_every_step"}
    assert all("error" not in lever and "skipped" not in lever for lever in levers.values()), levers


def test_sd35_every_runner_delivers_every_job_with_classifier_free_guidance(sd35_result: dict) -> None:
    _check_runs(sd35_result)
    assert sd35_result["model"]["family"] == "SD3"
    assert sd35_result["flops"]["job"]["guidance_batch"] == 2
    levers = sd35_result["levers"]
    assert levers["batch4"]["options"]["images_per_call"] == 4 and "error" not in levers["batch4"], levers
    assert "qk_norm" in levers["fused_qkv"]["skipped"]


def test_levers_that_change_nothing_on_a_transformer_family_are_skipped_on_cuda(tmp_path: Path) -> None:
    # The docs load FLUX.1 and SD3.5 in bf16, so on CUDA the bf16 levers would measure the baseline again.
    pipe = build_pipeline(model_folder(TINY_FLUX.name, tmp_path), LEVERS["baseline"], torch.device("cpu"))
    family, cuda = family_for(pipe), torch.device("cuda")
    assert "already runs FLUX.1 in bfloat16" in skip_reason(LEVERS["bf16"], family, cuda)
    assert "VAE already runs in bfloat16" in skip_reason(LEVERS["vae_bf16"], family, cuda)
    for name in ("baseline", "fused_qkv", "channels_last", "vae_tiny", "all"):
        assert skip_reason(LEVERS[name], family, cuda) is None, name
    assert skip_reason(LEVERS["bf16"], family, torch.device("cpu")) is None


def test_fused_qkv_is_skipped_on_sd35_where_it_would_change_the_images(tmp_path: Path) -> None:
    pipe = build_pipeline(model_folder(TINY_SD3.name, tmp_path), LEVERS["baseline"], torch.device("cpu"))
    family = family_for(pipe)
    for name in ("fused_qkv", "all"):
        assert "qk_norm" in skip_reason(LEVERS[name], family, torch.device("cuda")), name
    assert skip_reason(LEVERS["channels_last"], family, torch.device("cuda")) is None


def test_a_non_finite_transformer_is_refused(tmp_path: Path) -> None:
    pipe = build_pipeline(model_folder(TINY_SD3.name, tmp_path), LEVERS["baseline"], torch.device("cpu"))
    check_finite(pipe, TINY_SD3.resolution)
    with torch.no_grad():
        pipe.transformer.proj_out.weight.fill_(float("inf"))
    with pytest.raises(NonFiniteOutput, match="transformer"):
        check_finite(pipe, TINY_SD3.resolution)
