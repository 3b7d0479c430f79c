"""What a PNG carries when it leaves the machine: the A1111 parameters and the job id, its pixels untouched; the
stored file keeps the full record (devices, library versions, the replay slot)."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from engine.outputs import JOB_CHUNK, PARAMETERS_CHUNK, RECORD_CHUNK, public_png, read_record, save_result
from engine.request import GenerationRequest
from engine.results import GenerationResult, RunInfo, Versions


def saved_pngs(tmp_path, prompt: str = "a red circle") -> tuple[bytes, bytes]:
    """(image 1, grid) as the engine stores them."""
    request = GenerationRequest(prompt=prompt, width=32, height=32, steps=2, guidance=7.0, sampler="euler", seed=1)
    run = RunInfo("default", "EulerDiscreteScheduler", "float32", "cuda:3", Versions("9.9.9", "8.8.8", "7.7.7"), 2)
    images = [Image.new("RGB", (32, 32), colour) for colour in ("red", "blue")]
    result = GenerationResult(request, images, [1, 2], [0, 1], run, flagged=[False, True])
    saved = save_result(result, tmp_path, job_id="K3Q7XW2MZA")
    return saved.images[0].read_bytes(), saved.grid.read_bytes()


def chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    found, offset = [], 8
    while offset < len(png):
        length, kind = struct.unpack(">I4s", png[offset : offset + 8])
        found.append((kind, png[offset + 8 : offset + 8 + length]))
        offset += 12 + length
    return found


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@pytest.mark.parametrize("which", [0, 1], ids=["image", "grid"])
def test_a_public_copy_keeps_the_parameters_and_the_job_id_and_every_pixel(tmp_path, which) -> None:
    stored = saved_pngs(tmp_path)[which]
    shared = public_png(stored)
    original, copy = Image.open(io.BytesIO(stored)), Image.open(io.BytesIO(shared))
    assert set(original.text) == {PARAMETERS_CHUNK, RECORD_CHUNK} and "cuda:3" in original.text[RECORD_CHUNK]
    assert copy.text == {PARAMETERS_CHUNK: original.text[PARAMETERS_CHUNK], JOB_CHUNK: "K3Q7XW2MZA"}
    assert b"9.9.9" not in shared and b"cuda" not in shared and b"EulerDiscreteScheduler" not in shared
    idat = [data for kind, data in chunks(stored) if kind == b"IDAT"]
    assert [data for kind, data in chunks(shared) if kind == b"IDAT"] == idat  # not re-encoded
    assert copy.convert("RGB").tobytes() == original.convert("RGB").tobytes()
    assert public_png(shared) is shared  # a public copy has nothing more to lose


def test_reproducing_a_public_copy_says_where_the_record_is(tmp_path) -> None:
    path = tmp_path / "from-discord.png"
    path.write_bytes(public_png(saved_pngs(tmp_path)[0]))
    with pytest.raises(ValueError, match=r"copy shared outside the bot.*\(K3Q7XW2MZA\); reproduce it with /reproduce"):
        read_record(path)


def test_parameters_in_any_script_are_kept_and_other_metadata_is_dropped(tmp_path) -> None:
    """Pillow writes a prompt outside Latin-1 as iTXt; tIME and eXIf say when and where, gAMA how it looks."""
    buffer = io.BytesIO()
    info = PngInfo()
    info.add_text(PARAMETERS_CHUNK, "灯台 at dusk\nSteps: 2")
    info.add_text("Software", "imagine-bot on host gpu-7")
    info.add(b"gAMA", struct.pack(">I", 45455))
    info.add(b"tIME", bytes([7, 234, 1, 2, 3, 4, 5]))
    info.add(b"eXIf", b"MM\x00\x2a\x00\x00\x00\x08\x00\x00")
    Image.new("RGB", (8, 8), "green").save(buffer, format="PNG", pnginfo=info)
    shared = public_png(buffer.getvalue())
    kinds = [kind for kind, _ in chunks(shared)]
    assert b"iTXt" in kinds and b"gAMA" in kinds and not {b"tIME", b"eXIf", b"tEXt"} & set(kinds)
    assert Image.open(io.BytesIO(shared)).text == {PARAMETERS_CHUNK: "灯台 at dusk\nSteps: 2"}


def test_a_png_without_metadata_goes_out_as_it_is_and_a_damaged_one_is_refused() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="PNG")
    plain = buffer.getvalue()
    assert public_png(plain) is plain
    with pytest.raises(ValueError, match="truncated"):
        public_png(plain[:-12])
    broken = bytearray(plain)
    broken[-20] ^= 0xFF  # inside IDAT: the checksum no longer matches
    with pytest.raises(ValueError, match="checksum"):
        public_png(bytes(broken))
    with pytest.raises(ValueError, match="not a PNG"):
        public_png(b"GIF89a" + chunk(b"IEND", b""))
