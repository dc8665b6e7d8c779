"""Schema migrations (Alembic), run on start-up before the server serves."""

from __future__ import annotations

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


def upgrade(url: str) -> None:
    """Bring the database at ``url`` to the newest schema (all heads)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE / "migrations"))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(url))
    cfg.attributes["configure_logger"] = False
    command.upgrade(cfg, "heads")
