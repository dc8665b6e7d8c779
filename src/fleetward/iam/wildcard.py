"""IAM wildcard matching (``*`` and ``?``), compiled once, linear time.

A pattern is a sequence of tokens: literal text, :data:`STAR` (any run of
characters, possibly empty, crossing ``:`` and ``/``) and :data:`ONE` (exactly
one character). Literal tokens never carry wildcards, so a value substituted
from a policy variable stays literal.

:func:`compile_tokens` turns a pattern into a ``Matcher`` (``str -> bool``)
with fast paths: equality, always-true, prefix, suffix, prefix+suffix. The
general case splits the pattern at each ``*`` into fixed-length chunks and
matches them greedily left to right with ``str.find`` (the leftmost match of
each middle chunk is always safe), so no pattern can cause backtracking.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Final

__all__ = [
    "ONE",
    "STAR",
    "Matcher",
    "Token",
    "compile_glob",
    "compile_tokens",
    "glob_tokens",
    "has_wildcard",
]

Matcher = Callable[[str], bool]


class _Wild:
    __slots__ = ("symbol",)

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol

    def __repr__(self) -> str:
        return f"<wildcard {self.symbol}>"


STAR: Final = _Wild("*")
ONE: Final = _Wild("?")
Token = str | _Wild


def has_wildcard(text: str) -> bool:
    """Return whether ``text`` contains ``*`` or ``?``."""
    return "*" in text or "?" in text


def glob_tokens(text: str) -> list[Token]:
    """Tokenize ``text`` where ``*`` and ``?`` are wildcards."""
    tokens: list[Token] = []
    start = 0
    for i, ch in enumerate(text):
        if ch == "*" or ch == "?":
            if i > start:
                tokens.append(text[start:i])
            tokens.append(STAR if ch == "*" else ONE)
            start = i + 1
    if start < len(text):
        tokens.append(text[start:])
    return tokens


def compile_glob(pattern: str) -> Matcher:
    """Compile a policy wildcard pattern (``*``/``?``); matching is case-sensitive."""
    return compile_tokens(tuple(glob_tokens(pattern)))


class _Chunk:
    """A fixed-length run of literal text and ``?`` between two stars."""

    __slots__ = ("length", "literal", "rx")

    def __init__(self, parts: Sequence[Token]) -> None:
        if all(isinstance(p, str) for p in parts):
            self.literal: str | None = "".join(p for p in parts if isinstance(p, str))
            self.rx: re.Pattern[str] | None = None
            self.length = len(self.literal)
        else:
            self.literal = None
            self.rx = re.compile(
                "".join(re.escape(p) if isinstance(p, str) else "." for p in parts), re.DOTALL
            )
            self.length = sum(len(p) if isinstance(p, str) else 1 for p in parts)

    def at(self, value: str, pos: int) -> bool:
        if self.literal is not None:
            return value.startswith(self.literal, pos)
        rx = self.rx
        return rx is not None and rx.match(value, pos) is not None

    def find(self, value: str, pos: int) -> int:
        if self.literal is not None:
            return value.find(self.literal, pos)
        rx = self.rx
        m = rx.search(value, pos) if rx is not None else None
        return -1 if m is None else m.start()


def _split_chunks(tokens: Sequence[Token]) -> tuple[list[list[Token]], bool]:
    """Split at stars; returns the chunks and whether any star was present."""
    chunks: list[list[Token]] = [[]]
    star = False
    for tok in tokens:
        if tok is STAR:
            star = True
            chunks.append([])
        elif isinstance(tok, str) and chunks[-1] and isinstance(chunks[-1][-1], str):
            chunks[-1][-1] += tok
        elif tok != "":
            chunks[-1].append(tok)
    return chunks, star


@lru_cache(maxsize=8192)
def compile_tokens(tokens: tuple[Token, ...]) -> Matcher:
    """Compile a token pattern to a matcher (cached: patterns built per request are reused)."""
    chunks, star = _split_chunks(tokens)
    if not star:
        only = _Chunk(chunks[0])
        if only.literal is not None:
            return only.literal.__eq__
        rx = only.rx
        return lambda v: rx is not None and rx.fullmatch(v) is not None
    head = _Chunk(chunks[0])
    tail = _Chunk(chunks[-1])
    middle = [_Chunk(c) for c in chunks[1:-1] if c]
    if not middle and head.literal is not None and tail.literal is not None:
        prefix, suffix = head.literal, tail.literal
        if not prefix and not suffix:
            return lambda v: True
        if not suffix:
            return lambda v: v.startswith(prefix)
        if not prefix:
            return lambda v: v.endswith(suffix)
        minimum = len(prefix) + len(suffix)
        return lambda v: len(v) >= minimum and v.startswith(prefix) and v.endswith(suffix)

    def match(value: str) -> bool:
        end = len(value) - tail.length
        if end < head.length or not head.at(value, 0) or not tail.at(value, end):
            return False
        pos = head.length
        for chunk in middle:
            found = chunk.find(value, pos)
            if found < 0 or found + chunk.length > end:
                return False
            pos = found + chunk.length
        return True

    return match
