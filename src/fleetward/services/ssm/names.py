"""Parameter names, hierarchies, ARNs and ``name:version`` / ``name:label`` selectors.

Pure functions; the AWS rules and messages live here:

- allowed characters ``a-zA-Z0-9_.-/``; a name with a ``/`` is a path and
  must begin with ``/`` (fully qualified), with no empty sub-path;
- at most 15 levels (``HierarchyLevelLimitExceededException``);
- reserved prefixes ``aws`` and ``ssm`` (case-insensitive, with or without
  the leading slash): ``ValidationException``;
- at most 1011 characters including the ARN before the name;
- a top-level name may be spelt with or without its leading slash: ``/a``
  and ``a`` name one parameter (ARN ``parameter/a``), shown as created;
- spaces at the beginning or end of a name are removed (AWS documents this
  for every operation that reads a parameter by name or path); a space
  inside a name is a ValidationException.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fleetward.protocol.errors import AccessDeniedException, ValidationException
from fleetward.services.ssm.errors import HierarchyLevelLimitExceededException

__all__ = [
    "MAX_LEVELS",
    "Selector",
    "check_label",
    "check_name",
    "check_path",
    "name_from_arn",
    "other_spelling",
    "param_arn",
    "parent_of",
    "parse_selector",
    "path_arn",
    "request_name",
    "trim",
]

MAX_LEVELS = 15
MAX_ARN_LENGTH = 1011
_NAME_CHARS = re.compile(r"[a-zA-Z0-9_.\-/]+")
_LABEL_CHARS = re.compile(r"[a-zA-Z0-9_.\-]+")

PREFIX_MESSAGE = 'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive).'
PATH_MESSAGE = (
    'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive). If formed as a path, '
    "it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, "
    "numbers and the following 3 symbols .-_"
)
SSM_PATH_MESSAGE = (
    'Parameter name: can\'t be prefixed with "ssm" (case-insensitive). If formed as a path, it can consist '
    "of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the "
    "following 3 symbols .-_"
)
COMMON_FILTER_MESSAGE = (
    'Filters for common parameters can\'t be prefixed with "aws" or "ssm" (case-insensitive). When using '
    "global parameters, please specify within a global namespace."
)
FULLY_QUALIFIED_MESSAGE = "Parameter name must be a fully qualified name."
PATH_FILTER_MESSAGE = (
    "The parameter doesn't meet the parameter name requirements. The parameter name must begin with a "
    'forward slash "/". It can\'t be prefixed with "aws" or "ssm" (case-insensitive). It must use only '
    "letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). Special "
    'characters are not allowed. All sub-paths, if specified, must use the forward slash symbol "/". '
    "Valid example: /get/parameters2-/by1./path0_."
)


def arn_prefix(region: str, account: str) -> str:
    return f"arn:aws:ssm:{region}:{account}:parameter/"


def other_spelling(name: str) -> str | None:
    """The other spelling of a top-level name (``a`` for ``/a``, ``/a`` for ``a``);
    None for a hierarchical name, which has one spelling."""
    bare = name[1:] if name.startswith("/") else name
    if not bare or "/" in bare:
        return None
    return bare if name.startswith("/") else "/" + bare


def trim(name: str) -> str:
    """A name or path as the service reads it: spaces at either end removed."""
    return name.strip(" ")


def param_arn(region: str, account: str, name: str) -> str:
    """The parameter's ARN: ``/a/b`` and ``a/b``-style names both read ``parameter/a/b``."""
    return arn_prefix(region, account) + (name[1:] if name.startswith("/") else name)


def path_arn(region: str, account: str, path: str) -> str:
    """The ARN GetParametersByPath is authorized against (the requested path)."""
    return param_arn(region, account, path.rstrip("/") or "/")


def parent_of(name: str) -> str:
    """The path holding ``name``: ``/a/b`` for ``/a/b/c``, ``""`` at the root (``/x``, ``x``)."""
    i = name.rfind("/")
    return name[:i] if i > 0 else ""


def _reserved(name: str) -> bool:
    return name.lstrip("/").lower().startswith(("aws", "ssm"))


def check_name(name: str, region: str, account: str) -> None:
    """Validate a name for creation; raises ValidationException,
    HierarchyLevelLimitExceededException or AccessDeniedException (``/aws...`` paths).

    Reserved prefixes, as AWS reports them: a top-level ``aws...``/``ssm...``
    name (with or without its slash) gets :data:`PREFIX_MESSAGE`; a path
    under ``/aws...`` is AWS's own namespace (AccessDeniedException); a path
    under ``/ssm...`` gets :data:`SSM_PATH_MESSAGE`.
    """
    is_path = "/" in name
    hierarchical = is_path and other_spelling(name) is None
    lowered = name.lower()
    if hierarchical and lowered.startswith("/aws"):
        raise AccessDeniedException(f"No access to reserved parameter name: {name}.")
    if _reserved(name):
        if not hierarchical:
            raise ValidationException(PREFIX_MESSAGE)
        raise ValidationException(SSM_PATH_MESSAGE if lowered.startswith("/ssm") else PATH_MESSAGE)
    if not _NAME_CHARS.fullmatch(name) or "//" in name or name.endswith("/"):
        raise ValidationException(PATH_MESSAGE)
    if is_path and not name.startswith("/"):
        raise ValidationException(FULLY_QUALIFIED_MESSAGE)
    if name.count("/") > MAX_LEVELS:
        raise HierarchyLevelLimitExceededException()
    if len(param_arn(region, account, name)) > MAX_ARN_LENGTH:
        raise ValidationException(
            "Parameter name: The maximum length of a parameter name, including the full length of the "
            f"parameter ARN, is {MAX_ARN_LENGTH} characters."
        )


def check_path(path: str) -> None:
    """Validate a GetParametersByPath path or a Path filter value (ValidationException)."""
    if (
        not path.startswith("/")
        or "//" in path
        or not _NAME_CHARS.fullmatch(path)
        or path.lower().startswith(("/aws/", "/ssm/"))
        or (path != "/" and _reserved(path) and path.count("/") > 1)
    ):
        raise ValidationException(PATH_FILTER_MESSAGE)


def check_label(label: str) -> bool:
    """AWS's label rules: letters, digits, ``._-``; not starting with a digit or ``aws``/``ssm``."""
    return bool(
        _LABEL_CHARS.fullmatch(label)
        and len(label) <= 100
        and not label[0].isdigit()
        and not label.lower().startswith(("aws", "ssm"))
    )


@dataclass(frozen=True, slots=True)
class Selector:
    """A Get* name: the parameter's name and an optional ``:version`` or ``:label``."""

    name: str
    version: int | None = None
    label: str | None = None

    @property
    def text(self) -> str | None:
        """The ``Selector`` member of the reply (``:3``, ``:prod``)."""
        if self.version is not None:
            return f":{self.version}"
        if self.label is not None:
            return f":{self.label}"
        return None


def name_from_arn(value: str, region: str, account: str) -> str | None:
    """The name in a parameter ARN of this account and region (None if it is not one).

    ``parameter/a/b`` is ``/a/b``; ``parameter/a`` is returned as ``a`` (the
    caller tries ``/a`` too).
    """
    prefix = arn_prefix(region, account)
    if not value.startswith(prefix):
        return None
    rest = value[len(prefix) :]
    return "/" + rest if "/" in rest else rest


def request_name(value: str, region: str, account: str) -> str:
    """The parameter named by a ``Name`` that may be a name or an ARN, trimmed;
    an ARN of this account and region reads as its name (``a`` for
    ``parameter/a``: lookups find ``/a`` too), any other value as given."""
    value = trim(value)
    if value.startswith("arn:"):
        return name_from_arn(value, region, account) or value
    return value


def parse_selector(value: str, region: str, account: str) -> Selector | None:
    """Split ``name[:version|:label]`` (``value`` may be an ARN; it is trimmed); None if malformed."""
    value = trim(value)
    if value.startswith("arn:"):
        head, sep, tail = value.partition(":parameter/")
        if not sep:
            return None
        name_part, _, sel = tail.partition(":")
        name = name_from_arn(f"{head}:parameter/{name_part}", region, account)
        if name is None:
            return None
    else:
        name, _, sel = value.partition(":")
        if ":" in sel:
            return None
    if not name:
        return None
    if not sel:
        return Selector(name) if not value.endswith(":") else None
    if sel.isdigit():
        return Selector(name, version=int(sel))
    return Selector(name, label=sel)
