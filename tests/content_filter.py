"""Stand-ins for the content filter's two judges, built in the test: a safety checker that flags by a rule, and a
tiny random-weight ViT image classifier whose verdict the test forces."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

UNSAFE, SAFE = "nsfw", "normal"


class FlaggingChecker:
    """Stands in for diffusers' StableDiffusionSafetyChecker (same call, same answer): flags the images at
    `positions` of every batch and blacks them out, as the real checker does with the ones it flags."""

    def __init__(self, positions: Iterable[int]) -> None:
        self.positions = frozenset(positions)

    def __call__(self, images, clip_input):
        flags = [position in self.positions for position in range(len(images))]
        for position, flagged in enumerate(flags):
            if flagged:
                images[position] = images[position] * 0
        return images, flags


def install_checker(pipe, positions: Iterable[int] = (1,)) -> None:
    """Give an SD pipeline a safety checker (and the small CLIP image processor its input goes through)."""
    from transformers import CLIPImageProcessor

    pipe.feature_extractor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    pipe.safety_checker = FlaggingChecker(positions)


def remove_checker(pipe) -> None:
    pipe.safety_checker = None
    pipe.feature_extractor = None


def save_tiny_classifier(folder: Path, *, says: str, multi_label: bool = False) -> Path:
    """A ViT image classifier with random weights (1 layer, 32² input) saved as an operator would point
    CONTENT_CLASSIFIER at it. Its head's weights are zero and its bias favours the label `says`, so it gives that
    label whatever the image (p ≈ 0.98), and the test cannot pass by chance."""
    import torch
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(0)
    labels = [SAFE, UNSAFE]
    config = ViTConfig(
        image_size=32,
        patch_size=16,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=2,
        id2label=dict(enumerate(labels)),
        label2id={label: index for index, label in enumerate(labels)},
        problem_type="multi_label_classification" if multi_label else "single_label_classification",
    )
    model = ViTForImageClassification(config).eval()
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor([4.0 if label == says else -4.0 for label in labels]))
    model.save_pretrained(folder)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder
