"""/describe in the engine: the operator's captioner writes four different suggestions for an image, the same ones
for the same seed, each ending with the image's --ar, without loading any diffusion model; without a captioner the
request is refused with the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from pydantic import ValidationError

from engine.flags import parse_prompt
from engine.prefetch import hub_captioner
from engine.request import DESCRIBE_SUGGESTIONS, GenerationRequest, Operation
from engine.results import CaptionerUnavailable, RequestError
from engine.settings import EngineSettings
from tests.captioner import save_tiny_captioner


@pytest.fixture(scope="module")
def captioner_folder(tmp_path_factory) -> Path:
    return save_tiny_captioner(tmp_path_factory.mktemp("captioner"))


@pytest.fixture(scope="module")
def describing_engine(captioner_folder: Path):
    import torch

    from engine.engine import Engine

    torch.set_num_threads(1)
    return Engine(EngineSettings(_env_file=None, caption_model=str(captioner_folder), engine_device="cpu"))


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("sources") / "fox.png"
    Image.new("RGB", (48, 32), (200, 60, 20)).save(path)
    return str(path)


def describe(source: str, seed: int) -> GenerationRequest:
    return GenerationRequest(
        operation=Operation.DESCRIBE, prompt="", source_image=source, seed=seed, count=DESCRIBE_SUGGESTIONS
    )


def test_four_different_suggestions_the_same_for_the_same_seed(describing_engine, source: str) -> None:
    first = describing_engine.describe(describe(source, 1))
    assert len(first.suggestions) == 4 and len({text.casefold() for text in first.suggestions}) == 4
    assert all(text and text == " ".join(text.split()) for text in first.suggestions)
    assert describing_engine.describe(describe(source, 1)).suggestions == first.suggestions
    assert describing_engine.describe(describe(source, 2)).suggestions != first.suggestions
    assert first.model == describing_engine.settings.caption_model
    assert describing_engine.models.names == ()  # no diffusion model was loaded for it


def test_each_suggestion_ends_with_the_images_shape(describing_engine, source: str, tmp_path: Path) -> None:
    """48×32 is 3:2; a square image says 1:1, so a member's default aspect does not reshape it."""
    wide = describing_engine.describe(describe(source, 1)).suggestions
    assert all(text.endswith(" --ar 3:2") for text in wide)
    assert {parse_prompt(text).aspect for text in wide} == {(3, 2)}
    assert all("--" not in parse_prompt(text).prompt for text in wide)
    square = tmp_path / "square.png"
    Image.new("RGB", (40, 40), (20, 60, 200)).save(square)
    assert all(text.endswith(" --ar 1:1") for text in describing_engine.describe(describe(str(square), 1)).suggestions)


def test_without_a_captioner_describe_says_how_to_turn_it_on(source: str) -> None:
    from engine.engine import Engine

    plain = Engine(EngineSettings(_env_file=None, engine_device="cpu"))
    with pytest.raises(RequestError, match="CAPTION_MODEL"):
        plain.describe(describe(source, 1))
    with pytest.raises(ValueError, match="Engine.describe"):
        plain.run(describe(source, 1))


def test_a_folder_that_is_not_a_captioner_names_the_setting(tmp_path: Path, source: str) -> None:
    from engine.engine import Engine

    (tmp_path / "config.json").write_text('{"model_type": "vit"}')
    engine = Engine(EngineSettings(_env_file=None, caption_model=str(tmp_path), engine_device="cpu"))
    with pytest.raises(CaptionerUnavailable, match="CAPTION_MODEL .* could not be loaded as a transformers image-to"):
        engine.describe(describe(source, 1))
    with pytest.raises(ValidationError, match="CAPTION_MODEL .* is not a transformers model folder"):
        EngineSettings(_env_file=None, caption_model=str(tmp_path / "missing"))


def test_hub_captioners_are_prefetched_and_folders_are_not(captioner_folder: Path) -> None:
    hub = EngineSettings(_env_file=None, caption_model="Salesforce/blip-image-captioning-base")
    assert hub_captioner(hub) == "Salesforce/blip-image-captioning-base"
    assert hub_captioner(EngineSettings(_env_file=None, caption_model=str(captioner_folder))) is None
    assert hub_captioner(EngineSettings(_env_file=None)) is None


def test_a_describe_request_needs_an_image_and_runs_alone(source: str) -> None:
    with pytest.raises(ValidationError, match="needs a source image"):
        GenerationRequest(operation=Operation.DESCRIBE, prompt="")
    request = describe(source, 1)
    assert request.batch_key() is None
