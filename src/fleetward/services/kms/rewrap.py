"""Values wrapped by the root keyring, and re-wrapping them after a root rotation.

Each service package that stores root-wrapped values lists them in
``WRAPPED_COLUMNS`` (a tuple of :class:`WrappedColumn`) in its
``__init__``; ``fleetward operator rotate-root`` collects every package's
list and re-wraps each value under the newest root version.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fleetward.crypto.errors import CryptoError
from fleetward.crypto.keyring import Keyring
from fleetward.crypto.kms_blob import backing_key_aad
from fleetward.storage.db import Database

__all__ = ["KMS_WRAPPED_COLUMNS", "WrappedColumn", "rewrap_all"]


@dataclass(frozen=True, slots=True)
class WrappedColumn:
    """A column of root-wrapped blobs.

    ``key_columns`` identify a row; ``aad(*values of aad_columns)`` rebuilds
    the associated data the value was wrapped with.
    """

    table: str
    key_columns: tuple[str, ...]
    blob_column: str
    aad_columns: tuple[str, ...]
    aad: Callable[..., bytes]


def _backing_aad(key_arn: str, version: Any) -> bytes:
    return backing_key_aad(key_arn, int(version))


KMS_WRAPPED_COLUMNS = (
    WrappedColumn("kms_key_versions", ("key_id", "version"), "wrapped", ("key_arn", "version"), _backing_aad),
)


async def rewrap_all(
    db: Database, keyring: Keyring, columns: Sequence[WrappedColumn], *, batch: int = 200
) -> dict[str, int]:
    """Re-wrap every value under an older root version; returns rows rewritten per table.

    Each batch is one short write transaction, and a row is only replaced if
    it still holds the value read (a concurrent change wins). Raises
    ``CryptoError`` for a value the keyring cannot open.
    """
    done: dict[str, int] = {}
    for col in columns:
        keys = ", ".join(col.key_columns)
        select = (
            f"SELECT {keys}, {col.blob_column} AS blob, "
            + ", ".join(f"{c} AS aad_{i}" for i, c in enumerate(col.aad_columns))
            + f" FROM {col.table} ORDER BY {keys}"
        )
        where = " AND ".join(f"{k} = ?" for k in col.key_columns)
        update = f"UPDATE {col.table} SET {col.blob_column} = ? WHERE {where} AND {col.blob_column} = ?"
        rows = await db.fetchall(select)
        todo: list[tuple[Any, ...]] = []
        for row in rows:
            blob = bytes(row["blob"])
            if not keyring.needs_rewrap(blob):
                continue
            aad = col.aad(*(row[f"aad_{i}"] for i in range(len(col.aad_columns))))
            try:
                new = keyring.rewrap(blob, aad)
            except CryptoError as e:
                ident = tuple(row[k] for k in col.key_columns)
                raise CryptoError(f"{col.table} {ident}: cannot unwrap: {e}") from e
            todo.append((new, *(row[k] for k in col.key_columns), blob))
        count = 0
        for start in range(0, len(todo), batch):
            async with db.write() as conn:
                for args in todo[start : start + batch]:
                    count += await conn.execute(update, *args)
        done[col.table] = count
    return done
