"""The `imagine` command end to end, as a user runs it (`python -m engine`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from engine.outputs import RECORD_CHUNK
from engine.request import GenerationRequest
from tests.engine.conftest import pixels

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def imagine(tmp_path):
    environment = {key: value for key, value in os.environ.items() if key not in {"MODEL_ID", "ENGINE_DTYPE"}}
    environment |= {"DEFAULT_STEPS": "2", "ENGINE_DEVICE": "cpu", "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}

    def run(*arguments: str, **extra_environment: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "engine", *arguments],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=environment | extra_environment,
            timeout=300,
        )

    return run


def test_same_prompt_twice_writes_identical_files_and_reproduce_matches(imagine, tmp_path):
    prompt = "a lighthouse at dusk --ar 3:2 --seed 7"
    first = imagine(prompt, "--out", "first")
    assert first.returncode == 0, first.stderr
    second = imagine(prompt, "--out", "second")
    assert second.returncode == 0, second.stderr
    names = ["grid.png", "1.png", "2.png", "3.png", "4.png"]
    assert sorted(path.name for path in (tmp_path / "first").iterdir()) == sorted(names)
    for name in names:
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "second" / name).read_bytes()

    again = imagine("--reproduce", "first/3.png", "--out", "again")
    assert again.returncode == 0, again.stderr
    assert np.array_equal(
        pixels(Image.open(tmp_path / "again" / "1.png")), pixels(Image.open(tmp_path / "first" / "3.png"))
    )

    panned = imagine("--op", "pan", "--direction", "right", "--image", "first/1.png", "--out", "panned")
    assert panned.returncode == 0, panned.stderr
    with Image.open(tmp_path / "first" / "1.png") as source, Image.open(tmp_path / "panned" / "1.png") as result:
        assert result.height == source.height and result.width > source.width


def test_a_bad_flag_exits_2_with_the_flag_error(imagine):
    result = imagine("a cat --ar 0:2")
    assert result.returncode == 2
    assert "imagine: error:" in result.stderr and "--ar" in result.stderr


def test_an_operation_without_an_image_exits_2(imagine):
    result = imagine("--op", "zoom")
    assert result.returncode == 2 and "--op zoom needs --image" in result.stderr


def test_a_missing_model_exits_3_with_the_explanation(imagine, tmp_path):
    result = imagine("a cat", MODEL_ID=str(tmp_path / "missing-model"))
    assert result.returncode == 3
    assert "missing-model" in result.stderr and "MODEL_ID" in result.stderr


def crafted(path: Path, record: dict, size: tuple[int, int] = (64, 64), mode: str = "RGB") -> Path:
    """A PNG carrying an `imagine` record written by someone else, as anyone can make one."""
    info = PngInfo()
    info.add_text(RECORD_CHUNK, json.dumps(record))
    Image.new(mode, size).save(path, pnginfo=info)
    return path


def record_of(request: dict, **extra) -> dict:
    return {"job_id": None, "index": 0, "seed": 1, "request": request, "batch_size": 1, "slot": 0} | extra


VARIATION_FROM_A_PATH = {"prompt": "x", "operation": "variation", "source_image": "/etc/hostname"}
OVER_BUDGET = {"prompt": "x", "width": 8192, "height": 8192, "steps": 2, "guidance": 7, "sampler": "euler"}


@pytest.mark.parametrize(
    "record, refusal",
    [
        (record_of({"prompt": "x", "model": "evil/forty-gigabytes"}), "not available on this server"),
        (record_of({"prompt": "x"}, batch_size=100_000, slot=0), "replay_batch"),
        (record_of(OVER_BUDGET), "more than this server allows"),
        (record_of(VARIATION_FROM_A_PATH), "give that image with --image"),
    ],
    ids=["unregistered model", "huge replay batch", "past the pixel budget", "source path from the record"],
)
def test_a_crafted_record_is_refused_in_one_line_with_exit_2(imagine, tmp_path, record, refusal):
    result = imagine("--reproduce", str(crafted(tmp_path / "crafted.png", record)), "--out", "out")
    assert result.returncode == 2, result.stderr
    assert refusal in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("side", [8_000, 60_000])
def test_a_decompression_bomb_or_a_damaged_file_exits_2_without_decoding_it(imagine, tmp_path, side):
    bomb = crafted(tmp_path / "bomb.png", record_of({"prompt": "x"}), size=(side, side), mode="1")
    damaged = tmp_path / "damaged.png"
    damaged.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    for path in (bomb, damaged):
        result = imagine("--reproduce", str(path), "--out", "out")
        assert result.returncode == 2 and "cannot read" in result.stderr and "Traceback" not in result.stderr


def test_the_new_operations_and_image_prompt_replays_build_their_requests(tmp_path):
    """--zoom/--canvas/--region build Custom Zoom, Make Square and Vary (Region) requests; a record made from one
    image prompt replays from the file given with --image, never from the path stored in the PNG."""
    from engine.cli import _replay, _request, build_parser

    parser = build_parser()
    square = _request(
        parser.parse_args(["x", "--op", "zoom", "--zoom", "1", "--canvas", "1:1", "--image", "a.png"]), parser
    )
    assert (square.zoom, square.canvas_aspect) == (1.0, (1, 1))
    region = _request(parser.parse_args(["x", "--op", "region", "--region", "4,0", "--image", "a.png"]), parser)
    assert (region.region, region.count) == ((0, 4), 4)
    stored = GenerationRequest(prompt="x", image_prompts=("/elsewhere/sources/a.png",))
    assert _replay(stored, tmp_path / "mine.png", parser).image_prompts == (str(tmp_path / "mine.png"),)
    with pytest.raises(SystemExit):
        _replay(stored.model_copy(update={"image_prompts": ("/a.png", "/b.png")}), tmp_path / "mine.png", parser)
