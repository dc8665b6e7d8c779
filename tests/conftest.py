"""Shared fixtures: real servers on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
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


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """An initialised server with real credentials, one per test module and backend."""
    if getattr(request, "param", "sqlite") == "postgresql":
        gen = pg_database()
        srv = Server(tmp_path_factory.mktemp("srv"), database_url=next(gen)).start()
        yield srv
        srv.stop()
        gen.close()
        return
    srv = Server(tmp_path_factory.mktemp("srv")).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """An initialised server on a fresh PostgreSQL database, one per test module."""
    gen = pg_database()
    url = next(gen)
    srv = Server(tmp_path_factory.mktemp("pgsrv"), database_url=url).start()
    yield srv
    srv.stop()
    gen.close()
