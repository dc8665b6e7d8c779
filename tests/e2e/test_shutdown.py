"""Graceful shutdown: SIGTERM under load answers every request it has taken in."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import botocore.exceptions

from tests.support.server import Server

CLIENTS = 6


def test_sigterm_under_load_loses_no_answered_or_committed_call(tmp_path: Path) -> None:
    srv = Server(tmp_path / "data", dev=True).start()
    answered: list[tuple[str, str]] = []  # (parameter name, request id) of each 200
    lock = threading.Lock()
    stop = threading.Event()

    def client(i: int) -> None:
        ssm = srv.client("ssm")
        n = 0
        while not stop.is_set():
            name = f"/shutdown/{i}/{n}"
            n += 1
            try:
                out = ssm.put_parameter(Name=name, Value="v", Type="String")
                with lock:
                    answered.append((name, out["ResponseMetadata"]["RequestId"]))
                read = ssm.get_parameter(Name=name)
                with lock:
                    answered.append(("", read["ResponseMetadata"]["RequestId"]))
            except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError):
                return  # refused or closed once the server stopped taking requests

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    try:
        deadline = time.time() + 30
        while len(answered) < 40 and time.time() < deadline:
            time.sleep(0.05)
        assert srv.proc is not None
        srv.proc.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal once it has shut down
        assert srv.proc.wait(30) in (0, -signal.SIGTERM)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
        srv.stop()

    stored = {r[0] for r in srv.sql("SELECT name FROM ssm_parameters")}
    written = {name for name, _ in answered if name}
    # Every answered write is committed, and every committed write was answered:
    # no request is cut off between its commit and its response.
    assert written and stored == written
    recorded = {json.loads(r[0])["requestID"] for r in srv.sql("SELECT record FROM audit_events")}
    missing = {rid for _, rid in answered} - recorded
    assert not missing, f"answered calls without an audit record: {sorted(missing)[:5]}"
