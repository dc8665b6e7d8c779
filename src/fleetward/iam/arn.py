"""ARNs: parsing, caller-ARN expansion, and per-segment ARN pattern matching."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from fleetward.iam.wildcard import Matcher, Token, compile_tokens, glob_tokens

__all__ = [
    "Arn",
    "PrincipalArnType",
    "caller_arns",
    "compile_arn_pattern",
    "compile_arn_tokens",
    "principal_arn_type",
]


@dataclass(frozen=True, slots=True)
class Arn:
    """``arn:partition:service:region:account:resource``."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    @classmethod
    def parse(cls, text: str) -> Arn | None:
        """Parse an ARN; None when ``text`` does not have the six ARN components."""
        parts = text.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn":
            return None
        return cls(parts[1], parts[2], parts[3], parts[4], parts[5])

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


class PrincipalArnType(StrEnum):
    """What an ARN in a Principal element names."""

    ROOT = "root"  # arn:aws:iam::123456789012:root (the account)
    USER = "user"
    ROLE = "role"
    ASSUMED_ROLE = "assumed-role"  # a role session (sts)
    OTHER = "other"


def principal_arn_type(arn: str) -> PrincipalArnType:
    """Classify a principal ARN (IAM root/user/role or STS assumed-role session)."""
    parsed = Arn.parse(arn)
    if parsed is None:
        return PrincipalArnType.OTHER
    if parsed.service == "iam":
        if parsed.resource == "root":
            return PrincipalArnType.ROOT
        if parsed.resource.startswith("user/"):
            return PrincipalArnType.USER
        if parsed.resource.startswith("role/"):
            return PrincipalArnType.ROLE
    elif parsed.service == "sts" and parsed.resource.startswith("assumed-role/"):
        return PrincipalArnType.ASSUMED_ROLE
    return PrincipalArnType.OTHER


def caller_arns(arn: str) -> tuple[str, ...]:
    """Every ARN that names a caller, for :attr:`RequestContext.principal_arns`.

    An assumed-role session ``arn:aws:sts::123456789012:assumed-role/R/S`` is
    also named by its role ``arn:aws:iam::123456789012:role/R`` (roles with a
    path are named by the path-less ARN here, as the session ARN carries no
    path). Any other ARN names itself only.
    """
    parsed = Arn.parse(arn)
    if parsed is None or principal_arn_type(arn) is not PrincipalArnType.ASSUMED_ROLE:
        return (arn,)
    role = parsed.resource.split("/")[1]
    return (arn, f"arn:{parsed.partition}:iam::{parsed.account}:role/{role}")


def compile_arn_pattern(pattern: str) -> Matcher:
    """Compile an ArnLike/ArnEquals pattern (wildcards stay within each ARN component)."""
    return compile_arn_tokens(tuple(glob_tokens(pattern)))


@lru_cache(maxsize=4096)
def compile_arn_tokens(tokens: tuple[Token, ...]) -> Matcher:
    """Per-segment matcher: the first five components and the resource are matched apart.

    ``*`` and ``?`` never cross a ``:`` between components. A pattern with
    fewer than six components is matched against the value split into as
    many components (so ``"*"`` alone matches any value).
    """
    segments: list[list[Token]] = [[]]
    for tok in tokens:
        if isinstance(tok, str) and len(segments) < 6:
            pieces = tok.split(":", 6 - len(segments))
            segments[-1].append(pieces[0])
            for piece in pieces[1:]:
                segments.append([piece])
        else:
            segments[-1].append(tok)
    matchers = tuple(compile_tokens(tuple(seg)) for seg in segments)
    count = len(matchers)

    def match(value: str) -> bool:
        parts = value.split(":", count - 1)
        if len(parts) != count:
            return False
        for m, part in zip(matchers, parts, strict=True):
            if not m(part):
                return False
        return True

    return match
