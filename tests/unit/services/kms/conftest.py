"""A KMS service environment on a real SQLite file: keyring, KeyService, audit writer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from fleetward.audit.writer import AuditWriter
from fleetward.clock import Clock
from fleetward.crypto import seal
from fleetward.services.context import ServiceEnv
from fleetward.services.kms.engine import KeyService
from fleetward.storage import migrate
from fleetward.storage.db import open_database

ACCOUNT = "111122223333"
REGION = "us-east-1"


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[ServiceEnv]:
    url = f"sqlite:///{tmp_path / 'fw.db'}"
    migrate.upgrade(url)
    db = await open_database(url)
    settings = SimpleNamespace(data_dir=tmp_path, test_mode=True, dev=False, tls_cert="")
    e = ServiceEnv(db=db, clock=Clock(), settings=settings, region=REGION)
    e.extras["keyring"] = seal.init_root(tmp_path)
    e.extras["kms"] = KeyService(e)
    e.extras["audit"] = AuditWriter(db)
    yield e
    await db.close()
