"""Policy variables: ``${aws:username}``, ``${aws:PrincipalTag/team, 'none'}``, ``${*}``.

A policy string is parsed once into a :class:`Template`. Templates are only
built for documents of Version ``2012-10-17``; under ``2008-10-17`` (or no
Version) a ``${...}`` is plain text, as in AWS.

Resolution contract: a variable names a request-context key (case-insensitive);
it resolves to that key's value when the key is present and single-valued,
else to its default (``${key, 'default'}``) when one is given, else the
template is *unresolvable* and the policy value it belongs to does not match.
The escapes ``${*}``, ``${?}`` and ``${$}`` are the literal characters.
Substituted values are always literal: they never act as wildcards.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from fleetward.iam.wildcard import Matcher, Token, compile_glob, compile_tokens, glob_tokens

__all__ = [
    "ContextKeys",
    "Literal",
    "Template",
    "Variable",
    "WildcardValue",
    "parse_template",
]

ContextKeys = Mapping[str, str | Sequence[str]]

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT = re.compile(r"\s*'([^']*)'\s*")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


@dataclass(frozen=True, slots=True)
class Literal:
    """Text that is always literal (an escape such as ``${*}``)."""

    text: str


@dataclass(frozen=True, slots=True)
class Variable:
    """A reference to a context key (lowercased), with an optional default."""

    key: str
    default: str | None


_Part = str | Literal | Variable


@dataclass(frozen=True, slots=True)
class Template:
    """A policy string split into raw text, escapes and variables.

    Raw ``str`` parts keep their wildcard meaning in wildcard contexts
    (Resource, StringLike, ArnLike); :class:`Literal` and substituted values
    do not.
    """

    parts: tuple[_Part, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """Context keys this template references."""
        return tuple(p.key for p in self.parts if isinstance(p, Variable))

    def resolve(self, keys: ContextKeys) -> str | None:
        """The plain string with variables substituted, or None if unresolvable."""
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, Literal):
                out.append(part.text)
            else:
                value = _lookup(part, keys)
                if value is None:
                    return None
                out.append(value)
        return "".join(out)

    def resolve_tokens(self, keys: ContextKeys) -> tuple[Token, ...] | None:
        """Wildcard tokens with variables substituted literally, or None if unresolvable."""
        out: list[Token] = []
        for part in self.parts:
            if isinstance(part, str):
                out.extend(_tokens_of(part))
            elif isinstance(part, Literal):
                out.append(part.text)
            else:
                value = _lookup(part, keys)
                if value is None:
                    return None
                out.append(value)
        return tuple(out)


@lru_cache(maxsize=4096)
def _tokens_of(text: str) -> tuple[Token, ...]:
    return tuple(glob_tokens(text))


def _lookup(var: Variable, keys: ContextKeys) -> str | None:
    value = keys.get(var.key)
    if isinstance(value, str):
        return value
    if value is not None and len(value) == 1:
        return value[0]
    return var.default


def parse_template(text: str) -> Template | None:
    """Parse ``text``; returns None when it holds no variable or escape (a static string)."""
    if "${" not in text:
        return None
    parts: list[_Part] = []
    pos = 0
    for m in _VARIABLE.finditer(text):
        if m.start() > pos:
            parts.append(text[pos : m.start()])
        body = m.group(1)
        if body in _ESCAPES:
            parts.append(Literal(_ESCAPES[body]))
        else:
            name, sep, rest = body.partition(",")
            default: str | None = None
            if sep:
                dm = _DEFAULT.fullmatch(rest)
                if dm is None:
                    parts.append(m.group(0))
                    pos = m.end()
                    continue
                default = dm.group(1)
            parts.append(Variable(name.strip().lower(), default))
        pos = m.end()
    if pos < len(text):
        parts.append(text[pos:])
    if all(isinstance(p, str) for p in parts):
        return None
    return Template(tuple(parts))


class WildcardValue:
    """A wildcard pattern (``*``/``?``) that may contain policy variables.

    Static patterns are compiled at policy-compile time; templated ones are
    compiled per distinct substituted pattern (cached in
    :func:`~fleetward.iam.wildcard.compile_tokens`).
    """

    __slots__ = ("_static", "_template")

    def __init__(self, text: str, *, substitute: bool) -> None:
        self._template = parse_template(text) if substitute else None
        self._static = compile_glob(text) if self._template is None else None

    @property
    def keys(self) -> tuple[str, ...]:
        """Context keys referenced through variables."""
        return () if self._template is None else self._template.keys

    def matcher(self, keys: ContextKeys) -> Matcher | None:
        """The matcher for this request, or None when a variable is unresolvable."""
        if self._static is not None:
            return self._static
        if self._template is None:
            return None
        tokens = self._template.resolve_tokens(keys)
        return None if tokens is None else compile_tokens(tokens)
