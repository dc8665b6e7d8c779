"""KMS micro-benchmark: Encrypt and Decrypt of 4 KB, ops/s.

1. through a real ``fleetward server --dev`` on loopback: pre-signed raw
   SigV4 HTTP requests (signed once by botocore, replayed on keep-alive
   connections), one client and several concurrent clients;
2. in process: the KeyService engine on SQLite (cached backing key).

Run: .venv/bin/python bench/kms.py [seconds-per-case] [clients]
"""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

CONTEXT = {"PARAMETER_ARN": "arn:aws:ssm:us-east-1:123456789012:parameter/prod/db/password"}
CREDS = Credentials("AKIABENCHMARK0000000", "bench-secret")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _signed(port: int, target: str, body: dict[str, object]) -> tuple[bytes, dict[str, str]]:
    data = json.dumps(body).encode()
    req = AWSRequest(
        method="POST",
        url=f"http://127.0.0.1:{port}/",
        data=data,
        headers={"X-Amz-Target": f"TrentService.{target}", "Content-Type": "application/x-amz-json-1.1"},
    )
    SigV4Auth(CREDS, "kms", "us-east-1").add_auth(req)
    return data, dict(req.headers.items())


def _call(
    conn: http.client.HTTPConnection, port: int, target: str, body: dict[str, object]
) -> dict[str, object]:
    return _send(conn, target, *_signed(port, target, body))


def _send(
    conn: http.client.HTTPConnection, target: str, data: bytes, headers: dict[str, str]
) -> dict[str, object]:
    conn.request("POST", "/", body=data, headers=headers)
    resp = conn.getresponse()
    payload = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"{target}: HTTP {resp.status}: {payload[:200]!r}")
    out: dict[str, object] = json.loads(payload)
    return out


def _connect(port: int) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.connect()
    if conn.sock is not None:  # headers and body go out in two writes: no Nagle delay
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def _run_clients(
    port: int, clients: int, seconds: float, make: Callable[[], tuple[str, dict[str, object]]]
) -> float:
    """Requests are signed once and replayed (pre-signed): the figures are the server's."""
    target, body = make()
    data, headers = _signed(port, target, body)
    counts = [0] * clients
    deadline = time.perf_counter() + seconds

    def worker(i: int) -> None:
        conn = _connect(port)
        while time.perf_counter() < deadline:
            _send(conn, target, data, headers)
            counts[i] += 1
        conn.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


def bench_server(seconds: float, clients: int) -> None:
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        log = open(Path(tmp) / "server.log", "wb")
        cmd = [sys.executable, "-m", "fleetward.cli.main", "server", "--dev", "--no-audit"]
        cmd += ["--data-dir", tmp, "--port", str(port), "--log-level", "warning"]
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            conn = _connect(port)
            key = str(_call(conn, port, "CreateKey", {})["KeyMetadata"]["KeyId"])  # type: ignore[index]
            plaintext = base64.b64encode(os.urandom(4096)).decode()
            blob = _call(
                conn, port, "Encrypt", {"KeyId": key, "Plaintext": plaintext, "EncryptionContext": CONTEXT}
            )["CiphertextBlob"]
            enc = ("Encrypt", {"KeyId": key, "Plaintext": plaintext, "EncryptionContext": CONTEXT})
            dec = ("Decrypt", {"CiphertextBlob": blob, "EncryptionContext": CONTEXT})
            for name, case in (("Encrypt 4 KB", enc), ("Decrypt 4 KB", dec)):
                for n in (1, clients):
                    rate = _run_clients(port, n, seconds, lambda c=case: c)  # type: ignore[misc]
                    print(f"server  {name:<14} {n:>2} client(s) {rate:>10,.0f} ops/s")
            print(
                "        (--dev --no-audit: dev identity, no policy evaluation, no audit; pre-signed requests; client and server share 2 cores)"
            )
        finally:
            proc.terminate()
            proc.wait(10)
            log.close()


def bench_engine(seconds: float) -> None:
    from fleetward.clock import Clock
    from fleetward.crypto import seal
    from fleetward.services.context import ServiceEnv
    from fleetward.services.kms.engine import KeyService
    from fleetward.storage import migrate
    from fleetward.storage.db import open_database

    async def run(tmp: str) -> None:
        url = f"sqlite:///{tmp}/bench.db"
        migrate.upgrade(url)
        db = await open_database(url)
        env = ServiceEnv(db=db, clock=Clock(), settings=SimpleNamespace(data_dir=Path(tmp)))
        env.extras["keyring"] = seal.init_root(Path(tmp))
        svc = KeyService(env)
        async with db.write() as conn:
            key = await svc.create_key(conn, "123456789012", "us-east-1", env.clock.now())
        plaintext = os.urandom(4096)
        async with db.read() as conn:
            blob = await svc.encrypt(conn, key, plaintext, CONTEXT)

            async def enc() -> object:
                k = await svc.resolve(conn, "123456789012", "us-east-1", key.key_id)
                return await svc.encrypt(conn, k, plaintext, CONTEXT)

            async def dec() -> object:
                k = await svc.key_of_blob(conn, blob, "us-east-1")
                return await svc.decrypt(conn, k, blob, CONTEXT)

            for name, fn in (("Encrypt 4 KB", enc), ("Decrypt 4 KB", dec)):
                count, start = 0, time.perf_counter()
                while time.perf_counter() - start < seconds:
                    for _ in range(200):
                        await fn()
                    count += 200
                rate = count / (time.perf_counter() - start)
                print(
                    f"engine  {name:<14} (key lookup + AES-GCM) {rate:>10,.0f} ops/s  {1e6 / rate:7.1f} us/op"
                )
        await db.close()

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(tmp))


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    clients = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    bench_engine(seconds)
    bench_server(seconds, clients)


if __name__ == "__main__":
    main()
