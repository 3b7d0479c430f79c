"""The default model's building blocks: tokenizer, procedural data, pixel judge, training loop."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from diffusers import AutoPipelineForText2Image, StableDiffusionPipeline
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import CLIPTokenizer

from engine.default_model import DEFAULT_MODEL_FOLDER
from engine.default_model.tokenizer import VOCABULARY_WORDS, build_tokenizer
from engine.training.config import CONFIG_FILENAME, TrainingConfig
from engine.training.data import (
    HELD_OUT_COLOUR_POSITION,
    HELD_OUT_SHAPE_COLOUR,
    Split,
    render,
    sample_scene,
    training_batch,
)
from engine.training.evaluate import evaluate_ground_truth
from engine.training.judge import judge_image
from engine.training.train import CHECKPOINT, MODEL_FOLDER, Trainer, main


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory) -> CLIPTokenizer:
    return build_tokenizer(tmp_path_factory.mktemp("tokenizer"))


def test_grammar_words_are_single_tokens_that_round_trip(tokenizer):
    for word in VOCABULARY_WORDS:
        ids = tokenizer(word, add_special_tokens=False).input_ids
        assert len(ids) == 1, f"{word!r} splits into {tokenizer.convert_ids_to_tokens(ids)}"
        assert tokenizer.decode(ids) == word


def test_caption_round_trips(tokenizer):
    caption = "a small green star left of a large red square on a blue background"
    ids = tokenizer(caption).input_ids
    assert len(ids) == len(caption.split()) + 2
    assert tokenizer.decode(ids, skip_special_tokens=True) == caption


def test_tokenizer_files_load_without_tokenizer_json(tmp_path):
    build_tokenizer(tmp_path)
    (tmp_path / "tokenizer.json").unlink()
    reloaded = CLIPTokenizer.from_pretrained(tmp_path)
    assert reloaded("a red circle").input_ids == build_tokenizer(tmp_path / "again")("a red circle").input_ids


def test_tokenizer_is_deterministic(tmp_path):
    build_tokenizer(tmp_path / "one")
    build_tokenizer(tmp_path / "two")
    for name in ("vocab.json", "merges.txt", "tokenizer.json"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


@settings(max_examples=60, deadline=None)
@given(text=st.text())
def test_any_text_tokenizes_within_the_context(tokenizer, text):
    ids = tokenizer(text, padding="max_length", truncation=True, max_length=tokenizer.model_max_length).input_ids
    assert len(ids) == tokenizer.model_max_length
    assert max(ids) < len(tokenizer)


def test_unknown_words_split_into_pieces_not_unknown_tokens(tokenizer):
    ids = tokenizer("xylophone 日本", add_special_tokens=False).input_ids
    assert tokenizer.unk_token_id not in ids
    assert tokenizer.decode(ids) == "xylophone 日本"


def test_data_is_deterministic_by_seed():
    first_pixels, first_captions = training_batch(seed=3, step=5, batch_size=4)
    second_pixels, second_captions = training_batch(seed=3, step=5, batch_size=4)
    other_pixels, _ = training_batch(seed=3, step=6, batch_size=4)
    assert first_captions == second_captions
    assert np.array_equal(first_pixels, second_pixels)
    assert not np.array_equal(first_pixels, other_pixels)


def test_training_split_never_shows_held_out_combinations():
    for seed in range(400):
        for obj in sample_scene(seed, Split.TRAIN).objects:
            assert (obj.shape, obj.colour) not in HELD_OUT_SHAPE_COLOUR
            assert (obj.colour, obj.position) not in HELD_OUT_COLOUR_POSITION


def test_judge_reads_the_generators_own_drawings():
    scenes = [scene for seed in range(200) if len((scene := sample_scene(seed, Split.ANY)).objects) == 1]
    for scene in scenes:
        verdict = judge_image(render(scene))
        obj = scene.objects[0]
        assert (verdict.colour, verdict.shape) == (obj.colour, obj.shape), scene.caption


def test_judge_scores_held_out_ground_truth_perfectly():
    report = evaluate_ground_truth()
    assert (report.colour_accuracy, report.shape_accuracy, report.position_accuracy) == (1.0, 1.0, 1.0)


def test_judge_finds_nothing_in_a_blank_image():
    blank = render(sample_scene(0))
    blank.paste((40, 170, 60), (0, 0, 64, 64))
    assert not judge_image(blank).found


TINY_RUN = dict(
    vae_steps=2,
    unet_steps=2,
    decoder_steps=2,
    vae_batch_size=2,
    unet_batch_size=2,
    decoder_batch_size=2,
    checkpoint_every=1,
    warmup_steps=1,
    text_learning_rate=3e-4,
)
# The previous default model's shape: three autoencoder levels, 4× downsampling, a three-level UNet.
FOUR_X_SETTINGS = dict(
    vae_channels=[16, 32, 32], vae_mid_attention=True, unet_channels=[32, 64, 64], unet_attention=[True, True, False]
)


def _weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    modules = {"unet": trainer.unet, "text": trainer.text_encoder, "vae": trainer.vae}
    return {f"{prefix}.{name}": t.clone() for prefix, m in modules.items() for name, t in m.state_dict().items()}


def test_resumed_training_matches_an_uninterrupted_run(tmp_path):
    torch.set_num_threads(1)
    straight = Trainer(TrainingConfig(**TINY_RUN), tmp_path / "straight", torch.device("cpu"))
    straight.run()

    interrupted = Trainer(TrainingConfig(**TINY_RUN | {"unet_steps": 1}), tmp_path / "resumed", torch.device("cpu"))
    interrupted.run()
    resumed = Trainer(TrainingConfig(**TINY_RUN), tmp_path / "resumed", torch.device("cpu"))
    resumed.load_state(torch.load(tmp_path / "resumed" / CHECKPOINT, weights_only=False))
    resumed.run()

    expected, actual = _weights(straight), _weights(resumed)
    assert all(torch.equal(expected[name], actual[name]) for name in expected)


def test_exported_model_loads_through_the_standard_pipeline(tmp_path):
    torch.set_num_threads(1)
    Trainer(TrainingConfig(**TINY_RUN), tmp_path, torch.device("cpu")).run()
    model = tmp_path / MODEL_FOLDER
    pipeline = AutoPipelineForText2Image.from_pretrained(model)
    assert isinstance(pipeline, StableDiffusionPipeline)
    image = pipeline("a red circle", num_inference_steps=2, generator=torch.Generator().manual_seed(0)).images[0]
    assert image.size == (64, 64)
    assert json.loads((model / CONFIG_FILENAME).read_text())["unet_steps"] == 2


def test_the_default_settings_are_those_that_made_the_committed_weights():
    assert TrainingConfig.load(DEFAULT_MODEL_FOLDER) == TrainingConfig()


def test_attention_flags_must_match_the_unet_levels():
    with pytest.raises(ValueError, match="one flag per level"):
        TrainingConfig(unet_channels=(16, 32, 64), unet_attention=(False, True, True, False))


def test_a_settings_file_trains_a_4x_autoencoder_model_that_loads(tmp_path):
    torch.set_num_threads(1)
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps(FOUR_X_SETTINGS))
    main(
        [
            "--out",
            str(tmp_path / "run"),
            "--config",
            str(settings),
            "--vae-steps",
            "1",
            "--unet-steps",
            "1",
            "--decoder-steps",
            "1",
        ]
    )
    pipeline = AutoPipelineForText2Image.from_pretrained(tmp_path / "run" / MODEL_FOLDER)
    assert pipeline.vae_scale_factor == 4 and pipeline.unet.config.sample_size == 16
    image = pipeline("a red star", num_inference_steps=1, generator=torch.Generator().manual_seed(0)).images[0]
    assert image.size == (64, 64)


def test_the_default_settings_train_a_2x_autoencoder_model(tmp_path):
    torch.set_num_threads(1)
    main(["--out", str(tmp_path), "--vae-steps", "1", "--unet-steps", "1", "--decoder-steps", "1"])
    pipeline = AutoPipelineForText2Image.from_pretrained(tmp_path / MODEL_FOLDER)
    assert pipeline.vae_scale_factor == 2 and pipeline.unet.config.sample_size == 32


def test_timesteps_move_to_the_middle_noise_levels_from_the_configured_step(tmp_path):
    config = TrainingConfig(**TINY_RUN | {"timestep_sampling": "logit_normal", "timestep_sampling_from_step": 5})
    trainer = Trainer(config, tmp_path, torch.device("cpu"))

    def middle_share() -> float:
        draws = trainer.sample_timesteps(4000, torch.Generator().manual_seed(0))
        assert int(draws.min()) >= 0 and int(draws.max()) < config.train_timesteps
        return float(((draws >= 250) & (draws < 750)).float().mean())

    assert middle_share() == pytest.approx(0.5, abs=0.03)
    trainer.unet_step = 5
    assert middle_share() > 0.7  # sigmoid(N(0, 1)) lands in [0.25, 0.75) with probability 0.73


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"timestep_sampling": "cosine"}, "'uniform' or 'logit_normal'"),
        ({"logit_std": 0}, "logit_std.*greater than 0"),
    ],
)
def test_bad_timestep_sampling_settings_are_refused_with_a_reason(tmp_path, setting, message):
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps(setting))
    with pytest.raises(SystemExit, match=f"(?s){message}"):
        main(["--out", str(tmp_path / "run"), "--config", str(settings)])


def test_resume_refuses_a_second_config(tmp_path):
    (tmp_path / CHECKPOINT).touch()
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps(FOUR_X_SETTINGS))
    with pytest.raises(SystemExit, match="leave out --config"):
        main(["--out", str(tmp_path), "--resume", "--config", str(settings)])


def test_resume_without_a_checkpoint_says_what_to_do(tmp_path):
    with pytest.raises(SystemExit, match="no checkpoint"):
        main(["--out", str(tmp_path), "--resume"])


def test_resume_keeps_the_checkpoint_seed(tmp_path):
    torch.set_num_threads(1)
    Trainer(
        TrainingConfig(**TINY_RUN | {"seed": 5, "unet_steps": 0, "decoder_steps": 0}), tmp_path, torch.device("cpu")
    ).run()
    main(["--out", str(tmp_path), "--resume", "--unet-steps", "1"])
    assert json.loads((tmp_path / MODEL_FOLDER / CONFIG_FILENAME).read_text())["seed"] == 5
