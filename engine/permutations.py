"""Midjourney's permutation prompts and `--repeat`: one /imagine text becomes several jobs' texts.

    a {red, blue} circle --repeat 2   ->   a red circle, a red circle, a blue circle, a blue circle

Pure Python: the bot calls `expand_prompt` before `parse_prompt`, once per /imagine, and submits one job per
text it returns. Groups expand in Midjourney's order (the first group varies slowest, options left to right, a
nested group inside its option), flags included (`--ar {1:1, 3:2}`). `\\{`, `\\}` are literal braces and `\\,` a
literal comma inside a group; a text without braces comes back unchanged. The number of jobs is counted from the
braces before anything is expanded, so `{a,b}` twenty times over is refused at once, not after 2**20 strings.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from engine.flags import FLAG_PATTERN, FlagError

# Deeper nesting than this is refused: no one writes it, and it bounds the parser's recursion.
MAX_NESTING = 8
REPEAT_FLAGS = ("repeat", "r")

Items = tuple["str | Group", ...]


@dataclass(frozen=True)
class Group:
    """`{a, b, c}`: the job texts take each option in turn."""

    options: tuple[Items, ...]


def expand_prompt(text: str, *, max_jobs: int) -> list[str]:
    """The texts of the jobs one /imagine makes from `text`: every combination of its `{}` options, each repeated
    as its `--repeat N` (or `--r N`) says, with the repeat flag removed. FlagError, naming the bound, when that is
    more than `max_jobs`, or when braces do not pair up or `--repeat` is malformed."""
    if max_jobs < 1:
        raise ValueError("max_jobs must be at least 1")
    sequence = _parse(text)
    combinations = _count(sequence)
    if combinations > max_jobs:
        raise FlagError(
            f"this prompt's {{}} options make {combinations} prompts, more than the {max_jobs} jobs one /imagine may "
            "start; use fewer options"
        )
    jobs = [job for expanded in _expand(sequence) for job in _repeated(expanded, max_jobs)]
    if len(jobs) > max_jobs:
        raise FlagError(
            f"this prompt makes {len(jobs)} jobs with --repeat, more than the {max_jobs} one /imagine may start; "
            "use a smaller --repeat or fewer {} options"
        )
    return jobs


def _parse(text: str) -> Items:
    sequence, end = _sequence(text, 0, depth=0)
    if end < len(text):  # only a `}` stops the top level early
        raise FlagError("this prompt has a } without its {; write \\} for a literal brace")
    return sequence


def _sequence(text: str, start: int, depth: int) -> tuple[Items, int]:
    """Items from `start` up to an unescaped `,` or `}` inside a group (or the end); returns them and where it
    stopped."""
    items: list[str | Group] = []
    literal: list[str] = []
    index = start
    while index < len(text):
        char = text[index]
        pair = text[index : index + 2]
        if pair in ("\\{", "\\}") or (depth and pair == "\\,"):
            literal.append(pair[1])
            index += 2
        elif char == "{":
            if depth == MAX_NESTING:
                raise FlagError(f"{{}} options nest at most {MAX_NESTING} deep")
            items.append("".join(literal))
            literal = []
            group, index = _group(text, index + 1, depth + 1)
            items.append(group)
        elif char == "}" or (depth and char == ","):
            break
        else:
            literal.append(char)
            index += 1
    items.append("".join(literal))
    return tuple(item for item in items if item != ""), index


def _group(text: str, start: int, depth: int) -> tuple[Group, int]:
    options = []
    index = start
    while True:
        option, index = _sequence(text, index, depth)
        options.append(_strip(option))
        if index == len(text):
            raise FlagError("this prompt has a { without its }; write \\{ for a literal brace")
        if text[index] == "}":
            return Group(tuple(options)), index + 1
        index += 1  # past the comma


def _strip(option: Items) -> Items:
    """An option without the spaces around it: `{red, blue}` gives "red" and "blue"."""
    items = list(option)
    if items and isinstance(items[0], str):
        items[0] = items[0].lstrip()
    if items and isinstance(items[-1], str):
        items[-1] = items[-1].rstrip()
    return tuple(item for item in items if item != "")


def _count(sequence: Items) -> int:
    return math.prod(sum(_count(option) for option in item.options) for item in sequence if isinstance(item, Group))


def _expand(sequence: Items) -> list[str]:
    choices = [[item] if isinstance(item, str) else _options(item) for item in sequence]
    return ["".join(parts) for parts in itertools.product(*choices)]


def _options(group: Group) -> list[str]:
    return [text for option in group.options for text in _expand(option)]


def _repeated(text: str, max_jobs: int) -> list[str]:
    """`text` without its --repeat flag, as many times as the flag says (once without one)."""
    matches = list(FLAG_PATTERN.finditer(text))
    found = [(i, match) for i, match in enumerate(matches) if match[1].lower() in REPEAT_FLAGS]
    if not found:
        return [text]
    if len(found) > 1:
        raise FlagError("--repeat given twice")
    position, match = found[0]
    end = matches[position + 1].start() if position + 1 < len(matches) else len(text)
    value = text[match.end() : end].strip()
    if not (value.isascii() and value.isdigit() and len(value) <= 9 and 1 <= int(value) <= max_jobs):
        shown = repr(value[:40]) if value else "nothing"
        raise FlagError(f"--{match[1]} expects a whole number from 1 to {max_jobs}, like --repeat 3 (got {shown})")
    before, after = text[: match.start()].rstrip(), text[end:].lstrip()
    return [f"{before} {after}" if after else before] * int(value)
