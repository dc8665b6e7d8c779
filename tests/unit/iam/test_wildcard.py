import re

from hypothesis import given
from hypothesis import strategies as st

from fleetward.iam.wildcard import STAR, compile_glob, compile_tokens


def reference(pattern: str, value: str) -> bool:
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, value, re.DOTALL) is not None


ALPHABET = "ab:/*?"


@given(st.text(alphabet=ALPHABET, max_size=10), st.text(alphabet="ab:/*?x", max_size=14))
def test_matches_reference(pattern: str, value: str) -> None:
    assert compile_glob(pattern)(value) == reference(pattern, value)


def test_edge_cases() -> None:
    assert compile_glob("*")("")
    assert compile_glob("*")("arn:aws:ssm:us-east-1:1:parameter/a/b")
    assert compile_glob("")("")
    assert not compile_glob("")("a")
    assert compile_glob("a*")("a")
    assert not compile_glob("a*b")("ab"[:1])
    assert compile_glob("ab*ba")("aba") is False
    assert compile_glob("ab*ba")("abba")
    assert compile_glob("arn:aws:ssm:*:parameter/x")("arn:aws:ssm:r:1:parameter/x")
    assert compile_glob("a?c")("abc")
    assert not compile_glob("a?c")("ac")
    assert compile_glob("*?")("x")
    assert not compile_glob("*?")("")
    assert compile_glob("a*b*c")("aXbYbZc")
    assert not compile_glob("a*b*c")("aXcYb")
    assert not compile_glob("Abc")("abc")  # case-sensitive


def test_literal_tokens_never_wildcards() -> None:
    m = compile_tokens(("prefix/", "*", STAR))
    assert m("prefix/*anything")
    assert not m("prefix/anything")


def test_pathological_pattern_is_fast() -> None:
    m = compile_glob("a*" * 30 + "b")
    assert not m("a" * 5000)
