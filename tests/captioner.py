"""A captioner built in the test: a tiny BLIP with random weights, its image processor and a word-level tokenizer,
saved as an operator would point CAPTION_MODEL at a folder. It writes random words, which is all the tests need:
four different suggestions, the same ones for the same seed."""

from __future__ import annotations

from pathlib import Path

WORDS = ("a", "the", "red", "blue", "fox", "cat", "on", "in", "of", "with", "grass", "snow", "lighthouse", "at", "dusk")
SPECIAL = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]")
PAD, SEP, DEC = 0, 3, 5


def save_tiny_captioner(folder: Path) -> Path:
    import torch
    from transformers import BertTokenizerFast, BlipConfig, BlipForConditionalGeneration
    from transformers.models.blip import BlipImageProcessorPil

    torch.manual_seed(0)
    vocab = {token: index for index, token in enumerate((*SPECIAL, *WORDS))}
    layers = {"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 1, "num_attention_heads": 2}
    config = BlipConfig(
        vision_config={**layers, "image_size": 32, "patch_size": 8},
        # BLIP starts its captions with [DEC] and ends them with [SEP], like Salesforce's.
        text_config={
            **layers,
            "vocab_size": len(vocab),
            "encoder_hidden_size": 32,
            "max_position_embeddings": 64,
            "bos_token_id": DEC,
            "pad_token_id": PAD,
            "sep_token_id": SEP,
            "eos_token_id": SEP,
        },
    )
    BlipForConditionalGeneration(config).save_pretrained(folder)
    BlipImageProcessorPil(size={"height": 32, "width": 32}).save_pretrained(folder)
    tokenizer = BertTokenizerFast(vocab=vocab)
    tokenizer.add_special_tokens({"bos_token": "[DEC]"})
    tokenizer.save_pretrained(folder)
    return folder
