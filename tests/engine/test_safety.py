"""The content filter: the model's safety checker's verdict is kept, not dropped, and the operator's image
classifier judges models without one; both reach each image of the result and its stored record."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydantic import ValidationError

from engine.outputs import RECORD_CHUNK, save_result
from engine.request import GenerationRequest
from engine.results import ContentFilterUnavailable
from engine.safety import ContentFilter, ImageClassifier
from engine.settings import EngineSettings
from tests.content_filter import SAFE, UNSAFE, install_checker, remove_checker, save_tiny_classifier


def request(count: int = 4) -> GenerationRequest:
    return GenerationRequest(prompt="a red circle", steps=2, seed=7, count=count)


@pytest.fixture(scope="module")
def classifiers(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("classifiers")
    return {
        "unsafe": save_tiny_classifier(folder / "unsafe", says=UNSAFE),
        "safe": save_tiny_classifier(folder / "safe", says=SAFE),
        "multi": save_tiny_classifier(folder / "multi", says=UNSAFE, multi_label=True),
    }


def classifier(engine, source: Path | str, labels=(UNSAFE,), threshold: float = 0.5) -> ImageClassifier:
    return ImageClassifier(str(source), labels, threshold, engine.device, engine.dtype)


def test_the_safety_checkers_verdict_reaches_each_image_and_its_record(engine, tmp_path) -> None:
    """A stand-in checker flags the second image of the batch: the result says so for that image only, the
    pipeline's own behaviour (a black tile) is kept, and the stored PNG's record carries the verdict."""
    plain = engine.run(request())
    assert plain.flagged == [False] * 4
    pipe = engine.model().text_to_image
    install_checker(pipe, positions={1})
    try:
        checked = engine.run(request())
    finally:
        remove_checker(pipe)
    assert checked.flagged == [False, True, False, False]
    assert np.asarray(checked.images[1]).max() == 0  # blacked out by the checker, as diffusers does
    assert np.array_equal(np.asarray(checked.images[0]), np.asarray(plain.images[0]))
    saved = save_result(checked, tmp_path, job_id="JOB1")
    records = [json.loads(Image.open(path).text[RECORD_CHUNK]) for path in saved.images]
    assert [record["flagged"] for record in records] == [False, True, False, False]
    assert json.loads(Image.open(saved.grid).text[RECORD_CHUNK])["flagged"] == [False, True, False, False]


def test_the_operators_classifier_flags_what_it_scores_unsafe(engine, classifiers) -> None:
    """A tiny random-weight ViT whose head says `nsfw` for any image flags all four; one that says `normal`
    flags none; the threshold and the labels decide, as configured."""
    saved_filter = engine.content_filter
    try:
        engine.content_filter = ContentFilter(classifier(engine, classifiers["unsafe"]))
        assert engine.run(request()).flagged == [True] * 4
        engine.content_filter = ContentFilter(classifier(engine, classifiers["safe"]))
        assert engine.run(request(count=2)).flagged == [False, False]
    finally:
        engine.content_filter = saved_filter


@pytest.mark.parametrize(
    "model, labels, threshold, flagged",
    [
        ("unsafe", (UNSAFE,), 0.5, True),
        ("unsafe", (UNSAFE,), 1.0, False),  # p ≈ 0.9997, just under certainty
        ("safe", (UNSAFE,), 0.5, False),
        ("safe", (UNSAFE,), 0.0, True),  # threshold 0 flags everything
        ("safe", (SAFE.upper(), UNSAFE), 0.5, True),  # labels are matched without case; their probabilities add up
        ("multi", (UNSAFE,), 0.9, True),  # multi-label: sigmoid(4) ≈ 0.982
        ("multi", (UNSAFE,), 0.99, False),
    ],
)
def test_scores_threshold_and_labels(engine, classifiers, model, labels, threshold, flagged) -> None:
    images = [Image.new("RGB", (64, 64), colour) for colour in ("red", "blue", "white")]
    judge = classifier(engine, classifiers[model], labels, threshold)
    assert judge.unsafe(images) == [flagged] * 3


def test_the_classifier_judges_only_what_the_checker_did_not_flag(engine, classifiers) -> None:
    judge = classifier(engine, classifiers["safe"], threshold=0.0)
    images = [Image.new("RGB", (64, 64)) for _ in range(3)]
    assert ContentFilter(judge).flags(images, [False, True, False]) == [True, True, True]
    assert ContentFilter().flags(images, [False, True, False]) == [False, True, False]


def test_a_label_the_classifier_lacks_is_named_with_the_ones_it_has(engine, classifiers) -> None:
    judge = classifier(engine, classifiers["unsafe"], labels=("porn",))
    with pytest.raises(ContentFilterUnavailable, match=r"CONTENT_CLASSIFIER_LABELS names 'porn'.*normal, nsfw"):
        judge.unsafe([Image.new("RGB", (8, 8))])


def test_a_hub_classifier_missing_offline_names_the_setting(engine, monkeypatch) -> None:
    """Engine processes run with the hub offline: a classifier that was not downloaded fails with what to do."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    judge = classifier(engine, "imagine-bot-tests/no-such-classifier")
    with pytest.raises(ContentFilterUnavailable, match="CONTENT_CLASSIFIER 'imagine-bot-tests/no-such-classifier'"):
        judge.unsafe([Image.new("RGB", (8, 8))])


def test_settings_refuse_a_folder_that_is_not_a_model_and_read_comma_labels(tmp_path, classifiers, monkeypatch) -> None:
    with pytest.raises(ValidationError, match="CONTENT_CLASSIFIER .* is not a transformers model folder"):
        EngineSettings(_env_file=None, content_classifier=str(tmp_path / "nothing"))
    monkeypatch.setenv("CONTENT_CLASSIFIER_LABELS", "porn, hentai ,sexy")
    settings = EngineSettings(_env_file=None, content_classifier=str(classifiers["unsafe"]))
    assert settings.content_classifier_labels == ("porn", "hentai", "sexy")
    assert settings.content_classifier_threshold == 0.5
