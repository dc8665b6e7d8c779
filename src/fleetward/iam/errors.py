"""Errors raised by the policy engine (translated to AWS errors by the services)."""

from __future__ import annotations

__all__ = ["MalformedPolicyError"]


class MalformedPolicyError(Exception):
    """A policy document IAM would reject (``MalformedPolicyDocument``).

    ``message`` is IAM's wording, safe to return to the caller; ``detail``
    (optional) says more precisely what was wrong, for logs and tests.
    """

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message if detail is None else f"{message} ({detail})")
        self.message = message
        self.detail = detail
