"""In-memory credential cache for the authentication hot path (pure, no I/O).

Every request looks up its access key; a hit costs one dict lookup and no
database round trip. Entries are:

- bounded (least recently used evicted first),
- invalidated *in-process* at once when an IAM write changes an identity
  (:meth:`CredentialCache.clear`),
- and expire after a short TTL (default 5 s, monotonic time) so that other
  worker processes, which cannot see this process's invalidation, pick up a
  deactivated or deleted key within that bound.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from fleetward.auth.principal import Principal

__all__ = ["DEFAULT_TTL", "Credential", "CredentialCache", "TtlCache"]

DEFAULT_TTL = 5.0

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Credential:
    """A decrypted access key and the principal it authenticates.

    ``token_hash`` (hex SHA-256 of the session token) and ``expires`` (epoch
    seconds, server clock) are set for temporary ``ASIA...`` credentials.
    ``active`` is False for an inactive IAM key. ``extra`` carries what the
    authorizer needs about a session (its compiled session policies).
    """

    access_key: str
    secret: str = field(repr=False)
    principal: Principal
    active: bool = True
    token_hash: str | None = field(default=None, repr=False)
    expires: float | None = None
    extra: Any = None


class TtlCache(Generic[V]):
    """A bounded LRU mapping whose entries live at most ``ttl`` seconds."""

    def __init__(
        self,
        max_entries: int = 10_000,
        ttl: float = DEFAULT_TTL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.ttl = ttl
        self._monotonic = monotonic
        self._items: OrderedDict[str, tuple[float, V]] = OrderedDict()
        self.generation = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: str) -> V | None:
        item = self._items.get(key)
        if item is None:
            return None
        if self._monotonic() - item[0] > self.ttl:
            self._items.pop(key, None)
            return None
        self._items.move_to_end(key)
        return item[1]

    def put(self, key: str, value: V, generation: int | None = None) -> None:
        """Store ``value``; skipped when ``generation`` (read before loading it)
        is older than the latest :meth:`clear`, so a load racing an
        invalidation never re-caches stale data."""
        if generation is not None and generation != self.generation:
            return
        self._items[key] = (self._monotonic(), value)
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)

    def pop(self, key: str) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()
        self.generation += 1


class CredentialCache(TtlCache[Credential]):
    """Credentials by access key id (see the module docstring)."""
