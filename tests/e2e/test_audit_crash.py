"""kill -9 during a write load: every acknowledged write has its record; the chain validates.

Also: two worker processes share one trail (records are rows with a global
sequence; one lease-holding writer makes the digests).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from tests.conftest import pg_database
from tests.support.server import Server


def _created_user_records(data_dir: Path) -> set[str]:
    with sqlite3.connect(data_dir / "fleetward.db") as c:
        rows = c.execute(
            "SELECT record FROM audit_events WHERE event_name = 'CreateUser' AND error_code IS NULL"
        ).fetchall()
    return {json.loads(r[0])["requestParameters"]["userName"] for r in rows}


@pytest.fixture(params=["sqlite", "postgresql"])
def crash_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """A server to kill: on SQLite in its data directory, or on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield Server(tmp_path / "crash")
    else:
        yield from (Server(tmp_path / "crash", database_url=url) for url in pg_database())


def test_kill_9_during_write_load(crash_server: Server) -> None:
    srv = crash_server.start()
    acked: list[str] = []
    stop = threading.Event()

    def load() -> None:
        iam = srv.client("iam")
        for i in range(200):
            if stop.is_set():
                return
            name = f"load{i:03d}"
            try:
                iam.create_user(UserName=name)
            except (ClientError, BotoCoreError, OSError):
                return  # the server died under us: this one was not acknowledged
            acked.append(name)

    t = threading.Thread(target=load)
    t.start()
    deadline = time.time() + 60
    while len(acked) < 40 and time.time() < deadline and t.is_alive():
        time.sleep(0.01)
    srv.stop(kill=True)  # SIGKILL mid-load
    stop.set()
    t.join(30)
    assert 40 <= len(acked) < 200, len(acked)
    again = Server(srv.data_dir, database_url=srv.database_url)
    again.admin = srv.admin
    again.start()
    try:
        rows = again.sql(
            "SELECT record FROM audit_events WHERE event_name = 'CreateUser' AND error_code IS NULL"
        )
        recorded = {json.loads(r[0])["requestParameters"]["userName"] for r in rows}
        missing = set(acked) - recorded
        assert not missing, f"acknowledged writes without a record: {sorted(missing)}"
        iam = again.client("iam")
        for name in acked[-3:]:
            iam.get_user(UserName=name)
        r = again.cli("trail", "validate", *again.db_args(), "--close-open-hour", check=False)
        assert r.returncode == 0, r.stdout + r.stderr
    finally:
        again.stop()


def test_two_workers_share_one_trail(tmp_path: Path) -> None:
    srv = Server(tmp_path / "workers", extra=["--workers", "2"]).start()
    try:
        iam = srv.client("iam")
        names = [f"w{i:03d}" for i in range(30)]
        threads = [
            threading.Thread(target=lambda n=n: srv.client("iam").create_user(UserName=n)) for n in names
        ]
        for th in threads:
            th.start()
        for th in threads:
            th.join(30)
        for _ in range(20):
            srv.client("sts").get_caller_identity()
        assert set(names) <= _created_user_records(srv.data_dir)
        del iam
        r = srv.cli("trail", "validate", "--data-dir", str(srv.data_dir), "--close-open-hour", check=False)
        assert r.returncode == 0, r.stdout + r.stderr
    finally:
        srv.stop()
