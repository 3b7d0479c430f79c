"""A small T5 tokenizer built locally (the hub is out of reach): FLUX.1 and SD3 read prompts with T5 as well as
CLIP. Which ids a prompt becomes does not change the work done on them, so a few dozen words suffice."""

from __future__ import annotations

import string

from transformers import T5Tokenizer

# Words the small T5 vocabulary spells whole; anything else falls back to single letters.
T5_WORDS = [
    "a",
    "an",
    "the",
    "of",
    "in",
    "on",
    "at",
    "with",
    "and",
    "red",
    "green",
    "blue",
    "yellow",
    "white",
    "black",
    "fox",
    "cat",
    "dog",
    "snow",
    "forest",
    "city",
    "night",
    "day",
    "sky",
    "sea",
    "mountain",
    "portrait",
    "photo",
    "painting",
    "lighthouse",
    "dusk",
    "astronaut",
    "riding",
    "horse",
]


def t5_tokenizer() -> T5Tokenizer:
    """A small T5 Unigram tokenizer: whole words for T5_WORDS, single characters for everything else."""
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    pieces += [(character, -10.0) for character in "▁" + string.ascii_letters + string.digits + string.punctuation]
    pieces += [("▁" + word, -2.0) for word in T5_WORDS]
    return T5Tokenizer(vocab=pieces, extra_ids=0)
