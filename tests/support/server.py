"""A real fleetward server process on 127.0.0.1 for end-to-end tests."""

from __future__ import annotations

import configparser
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

REGION = "us-east-1"
NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=60)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``fleetward server`` in a subprocess, initialised with ``fleetward init``
    unless ``dev``. ``admin`` holds the administrator's key pair."""

    def __init__(
        self,
        data_dir: Path,
        *,
        dev: bool = False,
        database_url: str | None = None,
        test_mode: bool = True,
        extra: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.dev = dev
        self.database_url = database_url
        self.test_mode = test_mode
        self.extra = extra or []
        self.env = {**os.environ, **(env or {})}
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "server.log"
        self.admin: tuple[str, str] = ("AKIADEVANYKEY0000000", "dev-secret")

    def sql(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        """Run ``query`` (``?`` placeholders) directly on this server's database,
        SQLite or PostgreSQL, as a test peeking at (or tampering with) storage."""
        if self.database_url and self.database_url.startswith("postgresql"):
            import psycopg

            with psycopg.connect(self.database_url, autocommit=True) as c:
                cur = c.execute(query.replace("?", "%s"), args)  # type: ignore[arg-type,unused-ignore]
                return [tuple(r) for r in cur.fetchall()] if cur.description else []
        import sqlite3

        with sqlite3.connect(self.data_dir / "fleetward.db") as c:
            return [tuple(r) for r in c.execute(query, args).fetchall()]

    def db_args(self) -> list[str]:
        """The CLI options naming this server's data directory and database."""
        return [
            "--data-dir",
            str(self.data_dir),
            *(["--database-url", self.database_url] if self.database_url else []),
        ]

    def database_bytes(self) -> bytes:
        """Every byte the database holds on disk (SQLite file and WAL, or a PostgreSQL dump)."""
        if self.database_url and self.database_url.startswith("postgresql"):
            out = subprocess.run(
                ["pg_dump", "--data-only", self.database_url], capture_output=True, check=True
            )
            return out.stdout
        return b"".join(p.read_bytes() for p in sorted(self.data_dir.glob("fleetward.db*")))

    def cli(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "fleetward.cli.main", *args]
        return subprocess.run(
            cmd, input=input, capture_output=True, text=True, check=check, env=self.env, timeout=120
        )

    def init(self, *args: str) -> None:
        db = ["--database-url", self.database_url] if self.database_url else []
        self.cli("init", "--data-dir", str(self.data_dir), *db, *args)
        creds = configparser.ConfigParser()
        creds.read(self.data_dir / "credentials")
        sec = creds["fleetward"]
        self.admin = (sec["aws_access_key_id"], sec["aws_secret_access_key"])

    def start(self) -> Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.dev and not (self.data_dir / "root.json").exists():
            self.init()
        cmd = [
            sys.executable,
            "-m",
            "fleetward.cli.main",
            "server",
            "--data-dir",
            str(self.data_dir),
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            *self.extra,
        ]
        if self.dev:
            cmd.append("--dev")
        elif self.test_mode:
            cmd.append("--test-mode")
        if self.database_url:
            cmd += ["--database-url", self.database_url]
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            if _healthy(self.endpoint):
                return self
            time.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self, kill: bool = False) -> None:
        if self.proc and self.proc.poll() is None:
            if kill:
                self.proc.kill()
            else:
                self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if getattr(self, "_log", None):
            self._log.close()

    def client(self, service: str, creds: tuple[str, ...] | None = None, **kw: Any) -> Any:
        key, secret, *token = creds or self.admin
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            aws_session_token=token[0] if token else None,
            config=NO_RETRY,
            **kw,
        )

    def admin_post(self, path: str, body: bytes = b"{}") -> bytes:
        req = urllib.request.Request(f"{self.endpoint}{path}", data=body, method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            return bytes(r.read())

    def aws(
        self, *args: str, creds: tuple[str, ...] | None = None, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """Run the real aws CLI against this server."""
        key, secret, *token = creds or self.admin
        env = {
            **self.env,
            "AWS_ACCESS_KEY_ID": key,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        }
        env.pop("AWS_PROFILE", None)
        if token:
            env["AWS_SESSION_TOKEN"] = token[0]
        else:
            env.pop("AWS_SESSION_TOKEN", None)
        aws = str(Path(sys.executable).parent / "aws")
        return subprocess.run(
            [aws, "--endpoint-url", self.endpoint, "--output", "json", *args],
            capture_output=True,
            text=True,
            env=env,
            check=check,
            timeout=120,
        )


def signed_request(
    endpoint: str,
    body: bytes,
    headers: dict[str, str],
    *,
    service: str,
    key: str = "AKIAEXAMPLE",
    secret: str = "secret",
    token: str | None = None,
    method: str = "POST",
    path: str = "/",
) -> Any:
    """A raw HTTP request signed by botocore's SigV4 signer; returns (status, headers, body)."""
    import urllib.error
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    req = AWSRequest(method=method, url=endpoint + path, data=body, headers=headers)
    SigV4Auth(Credentials(key, secret, token), service, REGION).add_auth(req)
    prepared = req.prepare()
    r = urllib.request.Request(
        prepared.url,
        data=body if method != "GET" else None,
        method=method,
        headers=dict(prepared.headers.items()),
    )
    return raw_request(r)


def raw_request(r: Any) -> tuple[int, Any, bytes]:
    """Send a ``urllib.request.Request``; (status, headers, body) for any status.

    Error responses are closed too: their sockets must not outlive the call
    (warnings are errors in this suite).
    """
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(r, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.headers, e.read()


def _healthy(endpoint: str) -> bool:
    """GET /healthz once; every socket is closed whatever happens (warnings are errors)."""
    import http.client

    host, port = endpoint.split("://", 1)[1].rsplit(":", 1)
    conn: http.client.HTTPConnection
    if endpoint.startswith("https"):
        conn = http.client.HTTPSConnection(host, int(port), timeout=1, context=_insecure())
    else:
        conn = http.client.HTTPConnection(host, int(port), timeout=1)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _insecure() -> Any:
    """TLS context for the tests' self-signed certificates (health checks only)."""
    import ssl

    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx
