"""The request as the policy evaluator sees it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["RequestContext"]


@dataclass(frozen=True, slots=True)
class RequestContext:
    """One authorization question: may these principals do ``action`` on ``resource``?

    ``action`` is matched case-insensitively, ``resource`` (an ARN or ``"*"``)
    case-sensitively. ``principal_arns`` holds every ARN naming the caller
    (see :func:`fleetward.iam.arn.caller_arns`). ``keys`` maps *lowercased*
    condition-key names to the request's values: strings (``"true"``/``"false"``
    for booleans, numbers and dates as sent) or sequences for multi-valued keys.
    ``principal_service`` is set when an AWS service principal acts.
    """

    action: str
    resource: str
    principal_arns: tuple[str, ...]
    principal_account: str
    keys: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    principal_service: str | None = None
