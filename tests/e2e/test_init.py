"""``fleetward init``: root of trust, account, administrator, credentials file."""

from __future__ import annotations

import configparser
import json
import stat
from pathlib import Path

from fleetward.crypto import seal
from tests.support.server import Server


def test_init_then_serve_with_the_profile(tmp_path: Path) -> None:
    srv = Server(tmp_path / "d")
    out = srv.cli("init", "--data-dir", str(srv.data_dir), "--account-id", "111122223333")
    creds_file = srv.data_dir / "credentials"
    assert stat.S_IMODE(creds_file.stat().st_mode) == 0o600
    text = creds_file.read_text()
    assert text.startswith("[fleetward]\naws_access_key_id = AKIA")
    assert text.endswith("region = us-east-1\n")
    hint = f"export AWS_SHARED_CREDENTIALS_FILE={creds_file.resolve()}; export AWS_PROFILE=fleetward"
    assert hint in out.stdout
    assert seal.seal_mode(srv.data_dir) is seal.SealMode.KEYFILE
    parsed = configparser.ConfigParser()
    parsed.read(creds_file)
    srv.admin = (parsed["fleetward"]["aws_access_key_id"], parsed["fleetward"]["aws_secret_access_key"])
    srv.start()
    try:
        ident = srv.client("sts").get_caller_identity()
        assert ident["Arn"] == "arn:aws:iam::111122223333:user/admin"
        attached = srv.client("iam").list_attached_user_policies(UserName="admin")["AttachedPolicies"]
        assert attached == [
            {"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}
        ]
        # The aws CLI works with nothing but the profile.
        import os
        import subprocess
        import sys

        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_SHARED_CREDENTIALS_FILE=str(creds_file), AWS_PROFILE="fleetward", AWS_CONFIG_FILE="/dev/null"
        )
        aws = str(Path(sys.executable).parent / "aws")
        done = subprocess.run(
            [aws, "--endpoint-url", srv.endpoint, "sts", "get-caller-identity"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=True,
        )
        assert json.loads(done.stdout)["Account"] == "111122223333"
    finally:
        srv.stop()
    assert hint in srv.log_path.read_text()  # `fleetward server` prints it too
    again = srv.cli("init", "--data-dir", str(srv.data_dir), check=False)
    assert again.returncode == 1 and "already initialised" in again.stderr
    assert creds_file.read_text() == text


def test_random_account_and_secret_not_in_plaintext(tmp_path: Path) -> None:
    import sqlite3

    srv = Server(tmp_path / "d")
    srv.init()
    key, secret = srv.admin
    with sqlite3.connect(srv.data_dir / "fleetward.db") as db:
        (account,) = db.execute("SELECT id FROM accounts").fetchone()
        dump = "\n".join(db.iterdump())
    assert len(account) == 12 and account.isdigit()
    assert key in dump and secret not in dump


def test_passphrase_mode_from_stdin(tmp_path: Path) -> None:
    srv = Server(tmp_path / "d")
    out = srv.cli("init", "--data-dir", str(srv.data_dir), "--passphrase-stdin", input="correct horse\n")
    assert out.returncode == 0
    assert seal.seal_mode(srv.data_dir) is seal.SealMode.PASSPHRASE
    assert not (srv.data_dir / "unseal.key").exists()
    assert seal.unseal(srv.data_dir, passphrase="correct horse").versions == (1,)
    assert "correct horse" not in out.stdout + out.stderr


def test_bad_account_id(tmp_path: Path) -> None:
    srv = Server(tmp_path / "d")
    out = srv.cli("init", "--data-dir", str(srv.data_dir), "--account-id", "12", check=False)
    assert out.returncode == 2 and not (srv.data_dir / "root.json").exists()
