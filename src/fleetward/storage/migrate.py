"""Schema migrations (Alembic), run on start-up before the server serves."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config

__all__ = ["sqlalchemy_url", "upgrade"]

_HERE = Path(__file__).parent


def sqlalchemy_url(url: str) -> str:
    """The SQLAlchemy URL (sync driver) for a fleetward database URL."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


# PostgreSQL advisory lock key held while migrating ("fleetwrd" in ASCII).
_PG_LOCK = 0x666C656574777264


@contextmanager
def _exclusive(url: str) -> Iterator[None]:
    """Hold the installation-wide migration lock: worker processes and
    replicas starting at once would otherwise both create the same tables."""
    if url.startswith("sqlite:///"):
        with open(f"{url[len('sqlite:///') :]}-migrate.lock", "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            yield  # closing the file releases the lock
        return
    import psycopg

    with psycopg.connect("postgresql://" + url.split("://", 1)[1], autocommit=True) as c:
        c.execute("SELECT pg_advisory_lock(%s)", (_PG_LOCK,))
        yield  # the lock ends with the session


def upgrade(url: str) -> None:
    """Bring the database at ``url`` to the newest schema (all heads); safe to
    call from several processes at once (one migrates, the others wait)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE / "migrations"))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(url))
    cfg.attributes["configure_logger"] = False
    with _exclusive(url):
        command.upgrade(cfg, "heads")
