"""Shared fixtures: real servers on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from tests.support.server import Server

PG_URL = os.environ.get("FLEETWARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
    name = f"fw_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fleetward.db'}"
    else:
        yield from pg_database()


@pytest.fixture(scope="session")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A --dev server (any key is the admin of 123456789012)."""
    srv = Server(tmp_path_factory.mktemp("dev"), dev=True).start()
    yield srv
    srv.stop()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Modules that set ``BACKENDS = ("sqlite", "postgresql")`` run their
    ``server`` tests on both databases."""
    if "server" in metafunc.fixturenames:
        backends = getattr(metafunc.module, "BACKENDS", ("sqlite",))
        metafunc.parametrize("server", backends, indirect=True, scope="module")


@contextmanager
def running_server(data_dir: Path, backend: str = "sqlite") -> Iterator[Server]:
    """An initialised server on ``backend`` (a fresh PostgreSQL database, or SQLite)."""
    if backend == "postgresql":
        gen = pg_database()
        srv = Server(data_dir, database_url=next(gen)).start()
    else:
        gen, srv = None, Server(data_dir).start()
    try:
        yield srv
    finally:
        srv.stop()
        if gen is not None:
            gen.close()


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """An initialised server with real credentials, one per test module and backend."""
    with running_server(tmp_path_factory.mktemp("srv"), getattr(request, "param", "sqlite")) as srv:
        yield srv


@pytest.fixture(scope="module")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """An initialised server on a fresh PostgreSQL database, one per test module."""
    with running_server(tmp_path_factory.mktemp("pgsrv"), "postgresql") as srv:
        yield srv
