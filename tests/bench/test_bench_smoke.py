"""The benchmark harness end to end on the tiny model, and the guards its figures rely on."""

from __future__ import annotations

import json
import math

import pytest
import torch

from bench.__main__ import main, parse_args
from bench.architectures import TINY_SD
from bench.finite import NonFiniteOutput, check_finite
from bench.flops import sd15_unet_check
from bench.levers import LEVERS
from bench.models import model_folder
from bench.naive import build_pipeline
from bench.summary import headline_table

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def smoke_result(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("bench")
    out = main(
        [
            "--suite",
            "smoke",
            "--threads",
            "1",
            "--cache-dir",
            str(folder / "cache"),
            "--out",
            str(folder / "result.json"),
        ]
    )
    return json.loads(out.read_text())


def test_smoke_suite_writes_a_result_with_where_and_how_it_was_measured(smoke_result: dict) -> None:
    assert smoke_result["command"].startswith("python -m bench --suite smoke")
    assert smoke_result["machine"]["device"] == "cpu"
    assert smoke_result["versions"]["torch"] == torch.__version__
    assert smoke_result["date"] <= smoke_result["finished"]


def test_every_runner_delivers_every_job_of_the_burst(smoke_result: dict) -> None:
    runs = smoke_result["runs"]
    assert set(runs) == {"naive", "engine_direct", "engine_direct_batched", "queue", "queue_batched"}
    for name, run in runs.items():
        assert run["jobs_finished"] == run["jobs"] == 2, name
        assert run["images"] == 8, name
        latency = run["latency_to_grid_s"]
        assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"] <= run["wall_s"], name
        assert run["latency_to_first_output_s"]["p50"] <= latency["p50"], name
        assert math.isfinite(run["mfu"]) and run["mfu"] > 0, name


def test_comparisons_and_levers_are_all_computed(smoke_result: dict) -> None:
    assert all(value is not None and value > 0 for value in smoke_result["comparisons"].values())
    levers = smoke_result["levers"]
    assert set(levers) == {"baseline", "batch4"}
    assert all("error" not in lever for lever in levers.values()), levers
    assert levers["batch4"]["options"]["images_per_call"] == 4


def test_discord_acknowledgement_is_measured_for_every_user(smoke_result: dict) -> None:
    ack = smoke_result["discord_ack"]
    assert ack["measured"], ack
    assert ack["users"] == 3
    assert ack["ack_latency_s"]["p50"] <= ack["queued_reply_latency_s"]["p50"]


def test_sd15_unet_flop_count_matches_the_published_figure() -> None:
    assert sd15_unet_check()["ratio"] == pytest.approx(1.0, abs=0.005)


def test_a_non_finite_random_model_is_refused(tmp_path) -> None:
    pipe = build_pipeline(model_folder(TINY_SD.name, tmp_path), LEVERS["baseline"], torch.device("cpu"))
    resolution = TINY_SD.resolution
    check_finite(pipe, resolution)
    with torch.no_grad():
        pipe.unet.conv_out.weight.fill_(float("inf"))
    with pytest.raises(NonFiniteOutput, match="unet"):
        check_finite(pipe, resolution)


def test_an_unknown_lever_is_named_with_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--levers", "baseline,warp-drive"])
    error = capsys.readouterr().err
    assert "warp-drive" in error and "fused_qkv" in error


def test_a_run_can_be_split_into_parts(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    out = main(
        [
            "--suite",
            "smoke",
            "--threads",
            "1",
            "--parts",
            "levers",
            "--levers",
            "baseline",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--out",
            str(tmp_path / "levers.json"),
        ]
    )
    result = json.loads(out.read_text())
    assert set(result["levers"]) == {"baseline"}
    assert "runs" not in result and "discord_ack" not in result
    printed = capsys.readouterr().out
    assert "(no figures" in printed and f"wrote {out}" in printed  # the baseline alone has no ratio to show


def test_the_run_ends_with_a_table_of_its_headline_figures(smoke_result: dict) -> None:
    table = headline_table(smoke_result)
    for figure in ("vs naive, images/s", "queue + DB overhead", "/imagine acknowledgement, 3 users", "lever batch4"):
        assert figure in table
    overhead = smoke_result["comparisons"]["queue_overhead_wall"]
    assert f"{overhead:.2f}x" in table
