"""Identifiers: UUID-format, unique, time-ordered, cheap.

Request and event ids are made on every call. ``uuid.uuid4()`` costs a
system call for 16 random bytes each time, and its random order scatters
index inserts across the audit table's B-tree pages (one dirty page per
record per commit). These ids are UUID version 7 (RFC 9562): a 48-bit
millisecond timestamp, then a per-process random prefix and a counter, so
ids sort by time and consecutive inserts land on the same page.
"""

from __future__ import annotations

import itertools
import os
import time

__all__ = ["time_ordered_uuid"]

_node = int.from_bytes(os.urandom(4), "big")  # per process: two workers never collide
_counter = itertools.count(int.from_bytes(os.urandom(2), "big"))


def time_ordered_uuid() -> str:
    """A UUIDv7 string: unique across processes, increasing within one."""
    ms = int(time.time() * 1000) & 0xFFFF_FFFF_FFFF
    n = next(_counter)
    rand_a = (n >> 32) & 0xFFF
    low = ((n & 0xFFFF_FFFF) << 30) | (_node >> 2)  # 62 bits: counter, then node
    return (
        f"{ms >> 16:08x}-{ms & 0xFFFF:04x}-7{rand_a:03x}-"
        f"{0x8000 | ((low >> 48) & 0x3FFF):04x}-{low & 0xFFFF_FFFF_FFFF:012x}"
    )
