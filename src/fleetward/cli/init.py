"""``fleetward init``: create the root of trust, the first account and its administrator.

Writes ``<data-dir>/credentials`` (0600, AWS shared-credentials format,
profile ``fleetward``) with the administrator's access key, and prints the
``export`` lines that point the aws CLI at it. Refuses an initialised
directory.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import secrets
import sys
from pathlib import Path
from typing import Any

__all__ = ["CREDENTIALS_FILE", "PROFILE", "credentials_hint", "register"]

CREDENTIALS_FILE = "credentials"
PROFILE = "fleetward"
ADMIN_USER = "admin"
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"


def register(sub: Any) -> None:
    p = sub.add_parser(
        "init",
        help="initialise a data directory (root of trust, account, admin user)",
        description="Create the root of trust, the first account and its administrator IAM user.",
    )
    p.add_argument("--data-dir", default=".fleetward", help="data directory (default ./.fleetward)")
    p.add_argument("--database-url", help="database URL (default sqlite:///<data-dir>/fleetward.db)")
    p.add_argument("--account-id", help="12-digit account id (default: random)")
    p.add_argument("--region", default="us-east-1", help="region written to the credentials profile")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--passphrase",
        action="store_true",
        help="seal the root key under a passphrase (prompted, not echoed) instead of a key file",
    )
    mode.add_argument(
        "--passphrase-stdin", action="store_true", help="read the sealing passphrase from stdin"
    )
    p.set_defaults(func=_run_init)


def credentials_hint(data_dir: Path) -> str:
    path = (data_dir / CREDENTIALS_FILE).resolve()
    return f"export AWS_SHARED_CREDENTIALS_FILE={path}; export AWS_PROFILE={PROFILE}"


def _read_passphrase(args: argparse.Namespace) -> str | None:
    if args.passphrase_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        return line
    if args.passphrase:
        first = getpass.getpass("passphrase: ")
        if getpass.getpass("again: ") != first:
            raise ValueError("the passphrases differ")
        return first
    return None


async def _bootstrap(url: str, keyring: Any, account: str, now: float) -> tuple[str, str]:
    from fleetward.services.iam.users import create_access_key_row, create_user_row
    from fleetward.storage.db import open_database

    db = await open_database(url)
    try:
        async with db.write() as conn:
            if await conn.fetchone("SELECT 1 FROM accounts LIMIT 1"):
                raise ValueError("the database already holds an account; refusing to initialise it again")
            await conn.execute(
                "INSERT INTO accounts (id, name, created) VALUES (?, ?, ?)", account, "fleetward", float(now)
            )
            user = await create_user_row(conn, account, ADMIN_USER, "/", now)
            await conn.execute(
                "INSERT INTO iam_attachments (entity_type, entity_id, policy_arn) VALUES (?, ?, ?)",
                "user",
                user["id"],
                ADMIN_POLICY,
            )
            return await create_access_key_row(conn, keyring, account, user["id"], now)
    finally:
        await db.close()


def _write_credentials(path: Path, key: str, secret: str, region: str) -> None:
    text = f"[{PROFILE}]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\nregion = {region}\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def _run_init(args: argparse.Namespace) -> int:
    import time

    from fleetward.crypto import seal
    from fleetward.crypto.errors import CryptoError
    from fleetward.server.settings import Settings
    from fleetward.storage import migrate

    data_dir = Path(args.data_dir)
    if seal.is_initialized(data_dir) or (data_dir / CREDENTIALS_FILE).exists():
        print(
            f"fleetward: {data_dir} is already initialised; refusing to initialise it again", file=sys.stderr
        )
        return 1
    account = args.account_id or str(secrets.randbelow(9 * 10**11) + 10**11)
    if not (len(account) == 12 and account.isdigit()):
        print("fleetward: --account-id must be 12 digits", file=sys.stderr)
        return 2
    try:
        passphrase = _read_passphrase(args)
    except ValueError as e:
        print(f"fleetward: {e}", file=sys.stderr)
        return 2
    if passphrase is not None and not passphrase:
        print("fleetward: the passphrase must not be empty", file=sys.stderr)
        return 2
    url = Settings(data_dir=data_dir, database_url=args.database_url or "").db_url
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    migrate.upgrade(url)
    try:
        keyring = seal.init_root(data_dir, passphrase=passphrase)
    except CryptoError as e:
        print(f"fleetward: {e}", file=sys.stderr)
        return 1
    try:
        key, secret = asyncio.run(_bootstrap(url, keyring, account, time.time()))
    except ValueError as e:
        print(f"fleetward: {e}", file=sys.stderr)
        return 1
    _write_credentials(data_dir / CREDENTIALS_FILE, key, secret, args.region)
    print(f"fleetward initialised {data_dir.resolve()}")
    print(f"  account {account}, administrator IAM user '{ADMIN_USER}' (AdministratorAccess)")
    print(f"  access key {key} written to {(data_dir / CREDENTIALS_FILE).resolve()} (0600)")
    if passphrase is not None:
        print("  root key sealed under your passphrase: run `fleetward unseal` after each server start")
    print("Use it with the aws CLI:")
    print(f"  {credentials_hint(data_dir)}")
    return 0
