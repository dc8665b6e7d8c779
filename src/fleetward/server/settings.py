"""Server settings: defaults < TOML file < ``FLEETWARD_*`` environment < flags."""

from __future__ import annotations

import ipaddress
import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

__all__ = ["OPTION_HELP", "Settings", "load_settings"]

OPTION_HELP: dict[str, str] = {
    "data_dir": "data directory: SQLite database, sealed root key, credentials (default ./.fleetward)",
    "host": "address to bind (default 127.0.0.1; anything off loopback requires TLS)",
    "port": "port to bind (default 8470)",
    "database_url": "database URL: sqlite:///<path> (default: <data_dir>/fleetward.db) or postgresql://...",
    "durability": "SQLite synchronous mode: 'normal' survives a process crash, 'full' also a power loss",
    "region": "default region when a request names none (default us-east-1)",
    "tls_cert": "TLS certificate file (PEM)",
    "tls_key": "TLS private key file (PEM)",
    "workers": "worker processes (default 1)",
    "dev": "dev mode: throwaway state, any access key is the admin of 123456789012, /_fleetward/reset",
    "log_level": "log level (default info)",
    "audit": "write the audit trail (default true; false is a benchmark-only switch, refused outside --dev/--test-mode)",
    "test_mode": "test mode: enables POST /_fleetward/clock to move the server clock (loopback only)",
    "audit_retention_days": "days of audit records kept for LookupEvents (default 90)",
}


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = Path(".fleetward")
    host: str = "127.0.0.1"
    port: int = 8470
    database_url: str = ""
    durability: str = "normal"
    region: str = "us-east-1"
    tls_cert: str = ""
    tls_key: str = ""
    workers: int = 1
    dev: bool = False
    log_level: str = "info"
    audit: bool = True
    test_mode: bool = False
    audit_retention_days: int = 90

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir.resolve() / 'fleetward.db'}"

    @property
    def loopback(self) -> bool:
        """Whether ``host`` is a loopback address (a name other than localhost is not)."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def check(self) -> None:
        """Refuse unsafe combinations; raises ValueError with a clear message."""
        if self.durability not in ("normal", "full"):
            raise ValueError("durability must be 'normal' or 'full'")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("TLS needs both --tls-cert and --tls-key")
        if not self.loopback and not (self.tls_cert and self.tls_key):
            raise ValueError(
                f"refusing to listen on {self.host} without TLS: pass --tls-cert and --tls-key, or bind 127.0.0.1"
            )
        if (self.dev or self.test_mode) and not self.loopback:
            raise ValueError("--dev and --test-mode listen on loopback only")
        if not self.audit and not (self.dev or self.test_mode):
            raise ValueError("the audit trail can only be turned off in --dev or --test-mode")


def _coerce(name: str, raw: Any) -> Any:
    f = {f.name: f for f in fields(Settings)}[name]
    default = f.default
    if isinstance(default, bool):
        return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, Path):
        return Path(str(raw))
    return str(raw)


def load_settings(config_file: str | None = None, **overrides: Any) -> Settings:
    """Merge defaults, the TOML file, ``FLEETWARD_*`` variables and ``overrides``."""
    names = {f.name for f in fields(Settings)}
    values: dict[str, Any] = {}
    path = config_file or os.environ.get("FLEETWARD_CONFIG")
    if path:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        section = data.get("server", data)
        for k, v in section.items():
            key = k.replace("-", "_")
            if key not in names:
                raise ValueError(f"unknown setting in {path}: {k}")
            values[key] = _coerce(key, v)
    for name in names:
        env = os.environ.get(f"FLEETWARD_{name.upper()}")
        if env is not None:
            values[name] = _coerce(name, env)
    for k, v in overrides.items():
        if v is not None:
            values[k] = _coerce(k, v)
    return replace(Settings(), **values)
