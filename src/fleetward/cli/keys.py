"""``fleetward unseal``, ``fleetward status``, ``fleetward operator rotate-root``.

- ``unseal`` posts the passphrase (read without echo, or one line of stdin
  with ``--passphrase-stdin``) to the server's loopback admin endpoint, to
  every worker process of the server (see :func:`_on_every_worker`).
- ``status`` prints whether the server is sealed; exit status 0 unsealed,
  2 sealed, 1 unreachable.
- ``operator rotate-root`` adds a root key version to ``root.json``, tells a
  running server to reload it (``POST /_fleetward/reload-keyring``, on
  every worker; a key-file server also reloads by itself), then re-wraps every wrapped
  value in the database under the new root. Old root versions stay in
  ``root.json``, so the server never stops decrypting: no downtime.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import importlib
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

__all__ = ["register"]

DEFAULT_ENDPOINT = "http://127.0.0.1:8470"
_TRIES_PER_WORKER = 40


def register(sub: Any) -> None:
    p = sub.add_parser("unseal", help="unseal a passphrase-sealed server")
    p.add_argument("--endpoint", default=DEFAULT_ENDPOINT, help=f"server URL (default {DEFAULT_ENDPOINT})")
    p.add_argument(
        "--passphrase-stdin", action="store_true", help="read the passphrase from stdin (one line)"
    )
    p.set_defaults(func=_unseal)

    p = sub.add_parser("status", help="is the server sealed?")
    p.add_argument("--endpoint", default=DEFAULT_ENDPOINT, help=f"server URL (default {DEFAULT_ENDPOINT})")
    p.set_defaults(func=_status)

    op = sub.add_parser("operator", help="operator tasks on the root of trust")
    op_sub = op.add_subparsers(dest="operator_command", required=True)
    p = op_sub.add_parser(
        "rotate-root",
        help="add a new root key version and rewrap every wrapped key",
        description="Add a new root key version, have a running server reload it, and rewrap "
        "every root-wrapped value in the database under it. Runs while the server serves.",
    )
    p.add_argument("--data-dir", required=True, help="the data directory holding root.json")
    p.add_argument("--database-url", help="database URL (default: sqlite:///<data-dir>/fleetward.db)")
    p.add_argument(
        "--endpoint",
        default=DEFAULT_ENDPOINT,
        help=f"running server to reload (default {DEFAULT_ENDPOINT}; skipped if unreachable)",
    )
    p.add_argument(
        "--passphrase-stdin", action="store_true", help="read the passphrase from stdin (one line)"
    )
    p.set_defaults(func=_rotate_root)


def _read_passphrase(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return getpass.getpass("fleetward passphrase: ")


def _request(url: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    if not url.startswith(("http://", "https://")):
        raise OSError(f"not an http(s) URL: {url}")
    data = json.dumps(body).encode() if body is not None else None
    method = "POST" if body is not None else "GET"
    req = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (http(s) only)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:  # noqa: S310
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        try:
            return e.code, json.loads(e.read() or b"{}")
        except ValueError:
            return e.code, {"message": str(e)}


def _on_every_worker(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """POST ``body`` to ``url`` until every worker process of the server has said 200.

    Each worker keeps its own keyring, and each request is a new connection
    that the kernel hands to whichever worker accepts it, so the request is
    repeated until as many distinct workers (``"worker"``, a pid) have
    answered as the server has (``"workers"``). Returns the first answer
    that is not 200 (e.g. a wrong passphrase), else the last one; 503 if
    some worker was never reached.
    """
    seen: set[int] = set()
    tries = 0
    while True:
        status, doc = _request(url, body)
        tries += 1
        worker, workers = doc.get("worker"), doc.get("workers")
        if status != 200 or not isinstance(worker, int) or not isinstance(workers, int):
            return status, doc
        seen.add(worker)
        if len(seen) >= workers:
            return status, doc
        if tries >= _TRIES_PER_WORKER * workers:
            return 503, {
                "message": f"only {len(seen)} of the server's {workers} worker processes answered;"
                " run the command again"
            }


def _unseal(args: argparse.Namespace) -> int:
    passphrase = _read_passphrase(args.passphrase_stdin)
    try:
        status, doc = _on_every_worker(
            f"{args.endpoint.rstrip('/')}/_fleetward/unseal", {"passphrase": passphrase}
        )
    except OSError as e:
        print(f"fleetward: cannot reach {args.endpoint}: {e}", file=sys.stderr)
        return 1
    if status == 200:
        print(doc.get("message", "fleetward is unsealed"))
        return 0
    print(f"fleetward: {doc.get('message', f'unseal failed (HTTP {status})')}", file=sys.stderr)
    return 1


def _status(args: argparse.Namespace) -> int:
    try:
        _code, doc = _request(f"{args.endpoint.rstrip('/')}/_fleetward/status")
    except OSError as e:
        print(f"fleetward: cannot reach {args.endpoint}: {e}", file=sys.stderr)
        return 1
    mode = doc.get("seal_mode") or "unknown"
    if doc.get("sealed"):
        print(f"sealed ({mode} seal): run `fleetward unseal`")
        return 2
    print(f"unsealed ({mode} seal, root version {doc.get('root_version', '?')})")
    return 0


def _wrapped_columns() -> list[Any]:
    from fleetward.server.app import SERVICE_PACKAGES

    columns: list[Any] = []
    for pkg in SERVICE_PACKAGES:
        mod = importlib.import_module(f"fleetward.services.{pkg}")
        columns.extend(getattr(mod, "WRAPPED_COLUMNS", ()))
    return columns


def _rotate_root(args: argparse.Namespace) -> int:
    from fleetward.crypto import seal
    from fleetward.crypto.errors import CryptoError
    from fleetward.server.settings import load_settings
    from fleetward.services.kms.rewrap import rewrap_all
    from fleetward.storage import migrate
    from fleetward.storage.db import open_database

    data_dir = Path(args.data_dir)
    try:
        mode = seal.seal_mode(data_dir)
        passphrase = _read_passphrase(args.passphrase_stdin) if mode is seal.SealMode.PASSPHRASE else None
        keyring = seal.unseal(data_dir, passphrase=passphrase).with_new_root()
        seal.store_keyring(data_dir, keyring, passphrase=passphrase)
    except CryptoError as e:
        print(f"fleetward: {e}", file=sys.stderr)
        return 1
    print(f"root key version {keyring.current_version} added to {data_dir / seal.ROOT_FILE}")
    body: dict[str, Any] = {"root_version": keyring.current_version}
    if passphrase:
        body["passphrase"] = passphrase
    try:
        status, doc = _on_every_worker(f"{args.endpoint.rstrip('/')}/_fleetward/reload-keyring", body)
        if status == 200:
            print(f"server at {args.endpoint} reloaded the keyring")
        else:
            print(f"warning: server at {args.endpoint}: {doc.get('message')}", file=sys.stderr)
    except OSError:
        print(f"no server answering at {args.endpoint}; it will load the new root on start-up")

    url = load_settings(data_dir=str(data_dir), database_url=args.database_url).db_url
    migrate.upgrade(url)

    async def run() -> dict[str, int]:
        db = await open_database(url)
        try:
            return await rewrap_all(db, keyring, _wrapped_columns())
        finally:
            await db.close()

    try:
        counts = asyncio.run(run())
    except CryptoError as e:
        print(f"fleetward: rewrap failed: {e}", file=sys.stderr)
        return 1
    for table, n in counts.items():
        print(f"rewrapped {n} value(s) in {table}")
    return 0
