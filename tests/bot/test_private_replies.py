"""What members read of a job and of the server, without Discord: ℹ️ and 📩's full record (a prompt to paste
back, LoRAs, image prompts by hash, zoom and region, the device without its machine's address) and /info's
models and devices."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

from bot.private_replies import (
    details_content,
    device_label,
    devices_line,
    history_content,
    info_content,
    model_line,
)
from engine.flags import parse_prompt
from engine.registry import ModelRegistry, RegisteredModel
from engine.request import MAX_IMAGE_PROMPTS, MAX_RUN_LORAS, REGION_CELLS, GenerationRequest, LoraChoice, Operation
from jobs import JobKind, JobStatus
from jobs.results import ImageRecord
from jobs.views import JobView, QueueStats

SOURCE = "/srv/imagine/data/sources/" + "3f9a2c1b" + "0" * 56 + ".png"
RESOLVED = {"width": 512, "height": 512, "steps": 20, "guidance": 7.0, "sampler": "euler-a", "model": "default"}


def job_of(request: GenerationRequest, device: str | None = "cuda:0", kind: JobKind = JobKind.IMAGINE) -> JobView:
    image = ImageRecord(2, request.seed + 1, Path("/srv/imagine/data/images/j/2.png"), "0" * 64, 512, 512, 4, 1)
    return JobView(
        public_id="abcdefghij", kind=kind, status=JobStatus.SUCCEEDED, user_id=1, guild_id=5, channel_id=6,
        message_id=7, raw_prompt=request.prompt, request=request, model="default", seed=request.seed, error=None,
        attempts=1, device=device, parent_public_id=None, parent_index=None, batch_id=None, batch_images=None,
        grid_path=None, created_at=datetime.now(UTC), started_at=None, finished_at=None, images=(image, image),
    )  # fmt: skip


def details(request: GenerationRequest, device: str | None = "cuda:0", kind: JobKind = JobKind.IMAGINE) -> str:
    job = job_of(request, device, kind)
    return details_content(job, job.images[0])


def line(content: str, label: str) -> str:
    [found] = [text.removeprefix(f"**{label}:** ") for text in content.splitlines() if text.startswith(f"**{label}:")]
    return found


def test_local_devices_are_listed_by_name() -> None:
    assert devices_line(["cuda:0", "cuda:1"]) == "cuda:0, cuda:1"
    assert devices_line([]) == "none"


def test_cluster_devices_are_counted_by_machine_without_their_addresses() -> None:
    names = ["10.8.0.2/3f9a2c:0", "10.8.0.2/3f9a2c:1", "10.8.0.3/7b1e0d:0"]
    line = devices_line(names)
    assert line == "3 on 2 machines (`3f9a2c`: 2, `7b1e0d`: 1)"
    assert "10.8.0" not in line
    assert devices_line(["10.8.0.2/3f9a2c:0"]) == "1 on 1 machine (`3f9a2c`: 1)"


def test_a_device_label_keeps_a_cluster_machines_address_out() -> None:
    assert device_label("10.8.0.2/3f9a2c:1") == "3f9a2c:1"
    assert device_label("cuda:0") == "cuda:0" and device_label("cpu") == "cpu"
    assert device_label("3f9a2c1b7e0d:0") == "3f9a2c1b7e0d:0"  # the cluster's name on IPv6: the node id alone


def test_details_name_a_cluster_device_by_node_id_and_index_only() -> None:
    shown = details(GenerationRequest(prompt="a fox", seed=1, **RESOLVED), device="10.8.0.2/3f9a2c:1")
    assert line(shown, "Batch") == "slot 2 of 4 on 3f9a2c:1"
    assert "10.8.0" not in shown
    assert line(details(GenerationRequest(prompt="a fox", seed=1, **RESOLVED), device=None), "Batch").endswith(
        "on unknown device"
    )


def test_the_details_prompt_is_one_to_paste_back_with_every_flag() -> None:
    text = "a fox in snow --ar 3:2 --no trees, text --chaos 20 --tile --iw 1.5 --lora ink:0.6 --lora grain --seed 7"
    asked = parse_prompt(text)
    stored = GenerationRequest.model_validate(
        {**asked.model_dump(), **RESOLVED, "loras": (LoraChoice(name="ink", weight=0.6), LoraChoice(name="grain"))}
    )
    shown = details(stored)
    again = parse_prompt(line(shown, "Prompt"))
    for field in ("prompt", "negative_prompt", "aspect", "seed", "steps", "guidance", "sampler", "chaos", "tile"):
        assert getattr(again, field) == getattr(stored, field), field
    assert (again.model, again.loras, again.image_weight) == ("default", stored.loras, 1.5)
    assert line(shown, "LoRAs") == "ink at 0.6, grain at its registered weight"


def test_image_prompts_are_shown_by_count_and_content_hash_never_by_path() -> None:
    other = "/srv/imagine/data/sources/" + "7b1e0d44" + "f" * 56 + ".png"
    stored = GenerationRequest(prompt="a fox", seed=1, image_prompts=(SOURCE, other), image_weight=1.0, **RESOLVED)
    shown = details(stored, kind=JobKind.BLEND)
    assert line(shown, "Image prompts") == "2 (`3f9a2c1b`, `7b1e0d44`) · **Image weight:** --iw 1"
    assert "/srv" not in shown and "sources" not in shown
    odd = GenerationRequest(prompt="a fox", seed=1, image_prompts=("/srv/secret/name.png",), **RESOLVED)
    assert line(details(odd), "Image prompts") == "1 (?) · **Image weight:** --iw 1"
    assert "secret" not in details(odd)


def test_zoom_pan_and_region_jobs_say_what_they_did_and_never_where_their_source_lies() -> None:
    base = {"prompt": "a lighthouse", "seed": 1, "source_image": SOURCE, "strength": 0.75, **RESOLVED}
    zoom = GenerationRequest(**base, operation=Operation.ZOOM, zoom=1.5, canvas_aspect=(1, 1))
    assert line(details(zoom, kind=JobKind.ZOOM), "Operation") == "zoom (zoom out 1.5×, canvas 1:1, strength 0.75)"
    two_x = GenerationRequest(**base, operation=Operation.ZOOM)
    assert line(details(two_x), "Operation") == "zoom (zoom out 2×, canvas as the source image, strength 0.75)"
    region = GenerationRequest(**base, operation=Operation.REGION, region=(0, 4, 8))
    assert line(details(region), "Operation") == "region (repainting top left, centre, bottom right, strength 0.75)"
    pan = GenerationRequest(**base, operation=Operation.PAN, direction="left")
    assert line(details(pan), "Operation") == "pan (left, strength 0.75)"
    for request in (zoom, two_x, region, pan):
        assert "/srv" not in details(request)
    assert "**Operation:**" not in details(GenerationRequest(prompt="a fox", seed=1, **RESOLVED))


def test_member_text_in_the_details_stays_text() -> None:
    stored = GenerationRequest(
        prompt="[win](https://x.io) <@&1> @everyone **now**", negative_prompt="`x`, <@2>", seed=1
    )
    shown = details(stored)
    assert "[win](" not in shown and "<@&1>" not in shown and "@everyone" not in shown and "**now**" not in shown
    assert "`x`" not in shown and "<@2>" not in shown and "--no \\`x\\`" in shown


def test_the_longest_details_still_end_with_the_reproduce_command() -> None:
    stored = GenerationRequest(
        prompt="word " * 300,
        negative_prompt=", ".join(["a long thing to keep out"] * 40),
        seed=4_000_000_000,
        chaos=100,
        tile=True,
        loras=tuple(LoraChoice(name=f"{index}" * 32, weight=1.25) for index in range(MAX_RUN_LORAS)),
        image_prompts=(SOURCE,) * MAX_IMAGE_PROMPTS,
        image_weight=2.75,
        **{**RESOLVED, "model": "m" * 32, "sampler": "dpmpp-2m-karras", "guidance": 12.25},
    )
    region = GenerationRequest.model_validate(
        {**stored.model_dump(), "image_prompts": (), "operation": Operation.REGION, "source_image": SOURCE}
        | {"region": tuple(range(REGION_CELLS)), "strength": 0.123456789}
    )
    for request in (stored, region):
        shown = details(request, device="fd00:aaaa:bbbb:cccc:dddd:eeee:ffff:1111/3f9a2c:15")
        assert len(shown) <= 2000 and shown.endswith("**Reproduce:** `/reproduce job:abcdefghij image:2`")
        assert "…" in line(shown, "Prompt") and line(shown, "LoRAs").count(" at 1.25") == MAX_RUN_LORAS


def test_info_lists_each_models_presets_with_its_size() -> None:
    sized = RegisteredModel(name="sdxl", source="stabilityai/sdxl", steps=30, guidance=5.0, sampler="ddim", size=1024)
    assert (
        model_line(sized)
        == "`sdxl` — stabilityai/sdxl (steps 30, guidance 5.0, sampler ddim, size 1024×1024 by default)"
    )
    assert model_line(RegisteredModel(name="mine", source="/srv/models/mine", size=768, description="house style")) == (
        "`mine` — house style (size 768×768 by default)"
    )
    assert model_line(RegisteredModel(name="bare", source="/srv/models/bare")) == "`bare` — the server's model"
    stats = QueueStats(0, 0, {}, ("cuda:0",), 1.0)
    shown = info_content(stats, 1, 5.0, ModelRegistry([RegisteredModel(name="default"), sized]))
    assert "- `sdxl` — stabilityai/sdxl (steps 30, guidance 5.0, sampler ddim, size 1024×1024 by default)" in shown


def test_history_links_a_private_result_to_the_dms_and_others_to_their_server() -> None:
    public = job_of(GenerationRequest(prompt="a fox"))
    private = dataclasses.replace(public, public_id="privatejob", channel_id=99)
    content = history_content([public, private], dm_channel_id=99)
    assert "https://discord.com/channels/5/6/7" in content and "https://discord.com/channels/@me/99/7" in content
