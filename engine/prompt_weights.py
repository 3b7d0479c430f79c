"""Prompt weights: Midjourney's multi-prompts (`cat::2 dog::1`) and AUTOMATIC1111's `(word:1.2)`.

    hot:: dog                   two concepts, weighed equally ("hot" and "dog", not a hot dog)
    still life::2 fruit::-0.5   weights are relative; a negative part pushes away from it (the total must be positive)
    a (red:1.4) circle          "red" counts 1.4 times; (a (red:1.5) ball:0.8) nests, 1.5 × 0.8 = 1.2 for "red"

Pure Python: the bot refuses malformed weights when the prompt is typed, the UNet families weight the text
encoder's output through compel (`engine.families.weighting`), and the families that cannot weight read the
`plain` text and say so. A prompt with neither form parses as unweighted and keeps exactly the path it took
before weights existed. `(word)` and `[word]` without a number stay ordinary text: compel has no such form,
and prompts stored before weights existed must keep their pixels. `\\(` and `\\)` are literal brackets inside a
weighted prompt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Bounds that keep pictures recognisable (compel scales embeddings by the weight, AUTOMATIC1111 users stay near 1).
MAX_TERM_WEIGHT = 2.0
MAX_PART_WEIGHT = 10.0
_NUMBER = r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_PART_END = re.compile(r"::(" + _NUMBER + r")?")
_TERM_TOKEN = re.compile(r"\\[()]|\(|:\s*(" + _NUMBER + r")\s*\)|\)|[^\\():]+|[\\:]")


class PromptWeightError(ValueError):
    """Weights the text encoder cannot use; the message is written for the person who typed them."""


@dataclass(frozen=True)
class Term:
    text: str
    weight: float = 1.0


@dataclass(frozen=True)
class Part:
    """One `::` part: its terms and its weight against the other parts."""

    terms: tuple[Term, ...]
    weight: float = 1.0

    @property
    def text(self) -> str:
        return " ".join(term.text for term in self.terms)


@dataclass(frozen=True)
class WeightedPrompt:
    source: str
    parts: tuple[Part, ...]
    weighted: bool
    """Whether the text used either form; False: `parts` is the whole text, weight 1."""

    @property
    def plain(self) -> str:
        """What a model that cannot weight reads: the words without the syntax (unweighted text unchanged)."""
        if not self.weighted:
            return self.source
        return ", ".join(part.text for part in self.parts)


def uses_weights(text: str) -> bool:
    """Whether `text` uses either weight form; never raises, so stored requests of any age can be asked."""
    return bool(_PART_END.search(text)) or bool(_terms(text)[1])


def plain_text(text: str) -> str:
    """`text` as a model without weights reads it; unchanged when it has no weights."""
    if not uses_weights(text):
        return text
    parts = [_words(_terms(raw)[0]) for raw, _ in _raw_parts(text)]
    return ", ".join(part for part in parts if part)


def parse_weights(text: str) -> WeightedPrompt:
    """The parts and terms of `text`; PromptWeightError for weights out of range or parts without words."""
    if not uses_weights(text):
        return WeightedPrompt(text, (Part((Term(text),)),), weighted=False)
    parts = []
    for raw, weight in _raw_parts(text):
        terms, group_weights = _terms(raw)
        if not terms:
            raise PromptWeightError("each :: weight needs words before it, like: a cat::2 a dog::1")
        if abs(weight) > MAX_PART_WEIGHT:
            raise PromptWeightError(f"::{weight:g} is past the range of :: weights, ±{MAX_PART_WEIGHT:g}")
        for value in group_weights:
            if not 0 <= value <= MAX_TERM_WEIGHT:
                raise PromptWeightError(f"(…:{value:g}) is past the range of (words:weight), 0 to {MAX_TERM_WEIGHT:g}")
        parts.append(Part(tuple(terms), weight))
    total = sum(part.weight for part in parts)
    if total <= 0:
        raise PromptWeightError(
            f"the :: weights add up to {total:g}; they must add up to more than 0 (lower a negative weight)"
        )
    return WeightedPrompt(text, tuple(parts), weighted=True)


def _raw_parts(text: str) -> list[tuple[str, float]]:
    """The text before each `::` with that weight (1 without a number), and the rest with weight 1."""
    parts = []
    start = 0
    for match in _PART_END.finditer(text):
        parts.append((text[start : match.start()], 1.0 if match[1] is None else float(match[1])))
        start = match.end()
    if text[start:].strip() or not parts:
        parts.append((text[start:], 1.0))
    return parts


def _words(terms: list[Term]) -> str:
    return " ".join(term.text for term in terms)


def _terms(text: str) -> tuple[list[Term], list[float]]:
    """`text` cut into runs of equal weight, and the weight of every `(words:weight)` group found. Brackets that
    open or close nothing, and `(words)` without a number, stay text."""
    pieces: list[list] = []  # [text, weight]; weights multiply as groups close
    opened: list[int] = []
    group_weights: list[float] = []
    for match in _TERM_TOKEN.finditer(text):
        token = match[0]
        if token in ("\\(", "\\)"):
            pieces.append([token[1], 1.0])
        elif token == "(":
            opened.append(len(pieces))
            pieces.append(["(", 1.0])
        elif match[1] is not None and opened:
            start = opened.pop()
            del pieces[start]  # the "(" of this group
            group_weights.append(float(match[1]))
            for piece in pieces[start:]:
                piece[1] *= group_weights[-1]
        elif token == ")" and opened:
            opened.pop()
            pieces.append([")", 1.0])
        else:
            pieces.append([token, 1.0])
    return _merged(pieces), group_weights


def _merged(pieces: list[list]) -> list[Term]:
    terms: list[Term] = []
    for text, weight in pieces:
        if terms and terms[-1].weight == weight:
            terms[-1] = Term(terms[-1].text + text, weight)
        else:
            terms.append(Term(text, weight))
    return [Term(" ".join(term.text.split()), term.weight) for term in terms if term.text.strip()]
