"""The project's own CLIP tokenizer, built from code because the hub's tokenizers are unreachable.

The vocabulary is byte-level BPE in CLIP's exact format (vocab.json + merges.txt, `</w>` word ends),
so it loads with `CLIPTokenizer.from_pretrained` like any Stable Diffusion tokenizer. Its base
alphabet is all 256 bytes, so any text tokenizes; on top of that, merges spell every word of the
training captions' grammar (and a few hundred common English words) as one whole-word token, so the
text encoder sees "red" as one symbol rather than three letters. Building it twice gives identical files.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from transformers import CLIPTokenizer

BOS_TOKEN = "<|startoftext|>"
EOS_TOKEN = "<|endoftext|>"
WORD_END = "</w>"
MODEL_MAX_LENGTH = 32

SHAPE_WORDS = ("circle", "square", "triangle", "star", "ring", "circles", "squares", "triangles", "stars", "rings")
COLOUR_WORDS = (
    "red",
    "green",
    "blue",
    "yellow",
    "orange",
    "purple",
    "pink",
    "white",
    "black",
    "gray",
    "grey",
    "brown",
    "cyan",
    "magenta",
    "teal",
    "navy",
    "violet",
    "gold",
    "light",
    "dark",
    "bright",
    "pale",
)
SIZE_WORDS = ("small", "large", "medium", "big", "tiny", "huge")
POSITION_WORDS = (
    "left",
    "right",
    "top",
    "bottom",
    "centre",
    "center",
    "middle",
    "corner",
    "upper",
    "lower",
    "above",
    "below",
    "under",
    "over",
    "beside",
    "next",
    "near",
    "between",
    "side",
)
SCENE_WORDS = ("a", "an", "the", "on", "of", "with", "in", "at", "to", "and", "background", "gradient", "from")
COMMON_WORDS = (
    "is",
    "it",
    "this",
    "that",
    "for",
    "by",
    "as",
    "or",
    "be",
    "are",
    "was",
    "one",
    "two",
    "three",
    "image",
    "picture",
    "photo",
    "drawing",
    "painting",
    "art",
    "style",
    "shape",
    "shapes",
    "object",
    "simple",
    "flat",
    "plain",
    "solid",
    "empty",
    "night",
    "sky",
    "sun",
    "moon",
    "sea",
    "water",
    "tree",
    "house",
    "city",
    "mountain",
    "forest",
    "flower",
    "cat",
    "dog",
    "bird",
    "fish",
    "man",
    "woman",
    "portrait",
    "landscape",
    "cute",
    "beautiful",
    "old",
    "new",
    "happy",
    "very",
    "detailed",
    "high",
    "quality",
    "realistic",
    "cartoon",
    "abstract",
    "colorful",
    "colourful",
    "pattern",
    "minimal",
)
VOCABULARY_WORDS = tuple(
    dict.fromkeys(SHAPE_WORDS + COLOUR_WORDS + SIZE_WORDS + POSITION_WORDS + SCENE_WORDS + COMMON_WORDS)
)


@lru_cache(maxsize=1)
def _byte_alphabet() -> tuple[str, ...]:
    """CLIP/GPT-2's reversible byte → printable character table, in byte order."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    table, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(256 + extra)
            extra += 1
    return tuple(table[byte] for byte in range(256))


def _word_symbols(word: str) -> list[str]:
    alphabet = _byte_alphabet()
    symbols = [alphabet[byte] for byte in word.encode("utf-8")]
    symbols[-1] += WORD_END
    return symbols


def _apply_merges(symbols: list[str], ranks: dict[tuple[str, str], int]) -> list[str]:
    """The BPE loop: merge the lowest-ranked adjacent pair (leftmost first) until none applies."""
    while len(symbols) > 1:
        pairs = [(ranks.get(pair, len(ranks)), i) for i, pair in enumerate(zip(symbols, symbols[1:], strict=False))]
        rank, i = min(pairs)
        if rank == len(ranks):
            break
        symbols = symbols[:i] + [symbols[i] + symbols[i + 1]] + symbols[i + 2 :]
    return symbols


def vocabulary_and_merges() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Grow merges word by word; each new merge ranks after all earlier ones, so it never changes
    how an earlier word splits, and every listed word ends up as exactly one token."""
    ranks: dict[tuple[str, str], int] = {}
    for word in VOCABULARY_WORDS:
        pieces = _apply_merges(_word_symbols(word), ranks)
        while len(pieces) > 1:
            ranks[(pieces[0], pieces[1])] = len(ranks)
            pieces = [pieces[0] + pieces[1]] + pieces[2:]
    alphabet = _byte_alphabet()
    tokens = list(alphabet) + [symbol + WORD_END for symbol in alphabet]
    tokens += [left + right for left, right in ranks]
    tokens += [BOS_TOKEN, EOS_TOKEN]
    vocab = {token: index for index, token in enumerate(dict.fromkeys(tokens))}
    return vocab, list(ranks)


def project_tokenizer(model_max_length: int = MODEL_MAX_LENGTH) -> CLIPTokenizer:
    """The project's tokenizer in memory, for code (the benchmarks) that needs no files."""
    vocab, merges = vocabulary_and_merges()
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=model_max_length)


def build_tokenizer(folder: Path) -> CLIPTokenizer:
    """Write the tokenizer files into `folder` and return the tokenizer loaded back from them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab, merges = vocabulary_and_merges()
    tokenizer = project_tokenizer()
    tokenizer.save_pretrained(folder)
    # The classic file pair too, for loaders (older transformers, other runtimes) that read only these.
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    merge_lines = ["#version: 0.2"] + [f"{left} {right}" for left, right in merges]
    (folder / "merges.txt").write_text("\n".join(merge_lines) + "\n", encoding="utf-8")
    return CLIPTokenizer.from_pretrained(folder)
