"""The root of trust at start-up: a passphrase seal, `fleetward unseal` / `status`, and
`fleetward operator rotate-root` while the server keeps serving."""

from __future__ import annotations

import configparser
import json
import sqlite3
import struct
import urllib.error
import urllib.request
from pathlib import Path

import botocore.exceptions
import pytest

from tests.support.server import Server, raw_request

PASSPHRASE = "correct horse battery staple"


def _init_passphrase(srv: Server) -> None:
    srv.data_dir.mkdir(parents=True, exist_ok=True)
    srv.cli("init", "--data-dir", str(srv.data_dir), "--passphrase-stdin", input=PASSPHRASE + "\n")
    creds = configparser.ConfigParser()
    creds.read(srv.data_dir / "credentials")
    srv.admin = (creds["fleetward"]["aws_access_key_id"], creds["fleetward"]["aws_secret_access_key"])


def _status(srv: Server) -> dict[str, object]:
    with urllib.request.urlopen(f"{srv.endpoint}/_fleetward/status", timeout=5) as r:
        doc: dict[str, object] = json.loads(r.read())
        return doc


def _assert_sealed(srv: Server) -> None:
    status = _status(srv)
    assert (status["sealed"], status["seal_mode"], status["workers"]) == (True, "passphrase", 1)
    out = srv.cli("status", "--endpoint", srv.endpoint, check=False)
    assert out.returncode == 2 and "sealed (passphrase seal)" in out.stdout
    # Every protocol gets the error in its own shape (JSON 1.1, Query XML).
    for call in (srv.client("kms").list_keys, srv.client("sts").get_caller_identity):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        err = e.value.response["Error"]
        assert err["Code"] == "ServiceUnavailable"
        assert "fleetward is sealed" in err["Message"] and "fleetward unseal" in err["Message"]


def test_passphrase_server_starts_sealed_and_unseals(tmp_path: Path) -> None:
    srv = Server(tmp_path / "sealed")
    _init_passphrase(srv)
    srv.start()
    try:
        _assert_sealed(srv)
        wrong = srv.cli(
            "unseal", "--endpoint", srv.endpoint, "--passphrase-stdin", input="nope\n", check=False
        )
        assert wrong.returncode == 1 and "wrong passphrase" in wrong.stderr and "still sealed" in wrong.stderr
        _assert_sealed(srv)
        ok = srv.cli("unseal", "--endpoint", srv.endpoint, "--passphrase-stdin", input=PASSPHRASE + "\n")
        assert "unsealed" in ok.stdout
        assert srv.cli("status", "--endpoint", srv.endpoint).stdout.startswith("unsealed (passphrase seal")
        kms = srv.client("kms")
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        blob = kms.encrypt(KeyId=key, Plaintext=b"persist")["CiphertextBlob"]
    finally:
        srv.stop()
    srv.start()  # a restart comes back sealed
    try:
        _assert_sealed(srv)
        srv.cli("unseal", "--endpoint", srv.endpoint, "--passphrase-stdin", input=PASSPHRASE + "\n")
        assert srv.client("kms").decrypt(CiphertextBlob=blob)["Plaintext"] == b"persist"
    finally:
        srv.stop()


def _root_versions(db: Path) -> set[int]:
    with sqlite3.connect(db) as c:
        rows = c.execute("SELECT wrapped FROM kms_key_versions").fetchall()
    return {struct.unpack_from(">I", bytes(r[0]), 1)[0] for r in rows}


def test_rotate_root_without_downtime(tmp_path: Path) -> None:
    srv = Server(tmp_path / "rot").start()
    try:
        kms = srv.client("kms")
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        blob = kms.encrypt(KeyId=key, Plaintext=b"before", EncryptionContext={"c": "1"})["CiphertextBlob"]
        out = srv.cli("operator", "rotate-root", "--data-dir", str(srv.data_dir), "--endpoint", srv.endpoint)
        assert "root key version 2 added" in out.stdout
        assert "reloaded the keyring" in out.stdout
        assert "rewrapped 1 value(s) in kms_key_versions" in out.stdout
        assert "rewrapped 1 value(s) in iam_access_keys" in out.stdout  # the admin's secret
        assert _root_versions(srv.data_dir / "fleetward.db") == {2}
        # The running server keeps working: old ciphertexts, new keys, new ciphertexts.
        assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"c": "1"})["Plaintext"] == b"before"
        key2 = kms.create_key()["KeyMetadata"]["KeyId"]
        blob2 = kms.encrypt(KeyId=key2, Plaintext=b"after")["CiphertextBlob"]
        assert _root_versions(srv.data_dir / "fleetward.db") == {2}
        with urllib.request.urlopen(f"{srv.endpoint}/_fleetward/status", timeout=5) as r:
            assert json.loads(r.read())["root_version"] == 2
    finally:
        srv.stop()
    srv.start()
    try:
        kms = srv.client("kms")
        assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"c": "1"})["Plaintext"] == b"before"
        assert kms.decrypt(CiphertextBlob=blob2)["Plaintext"] == b"after"
    finally:
        srv.stop()


def test_unseal_endpoint_rejects_non_json(tmp_path: Path) -> None:
    srv = Server(tmp_path / "bad")
    _init_passphrase(srv)
    srv.start()
    try:
        req = urllib.request.Request(f"{srv.endpoint}/_fleetward/unseal", data=b"not json", method="POST")
        status, _, _ = raw_request(req)
        assert status == 400
        assert _status(srv)["sealed"] is True
    finally:
        srv.stop()


def test_every_worker_is_unsealed_and_reloaded(tmp_path: Path) -> None:
    """Each worker process holds its own keyring: `fleetward unseal` and `operator
    rotate-root` reach them all (a worker left sealed, or on the old root after the
    rewrap, would fail every other call)."""
    srv = Server(tmp_path / "workers", extra=["--workers", "2"])
    _init_passphrase(srv)
    srv.start()
    try:
        ok = srv.cli("unseal", "--endpoint", srv.endpoint, "--passphrase-stdin", input=PASSPHRASE + "\n")
        assert "unsealed" in ok.stdout
        answers = [_status(srv) for _ in range(30)]
        assert {a["sealed"] for a in answers} == {False}
        assert {a["workers"] for a in answers} == {2}
        kms = srv.client("kms")
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        blob = kms.encrypt(KeyId=key, Plaintext=b"w")["CiphertextBlob"]
        out = srv.cli(
            "operator",
            "rotate-root",
            "--data-dir",
            str(srv.data_dir),
            "--endpoint",
            srv.endpoint,
            "--passphrase-stdin",
            input=PASSPHRASE + "\n",
        )
        assert (
            "reloaded the keyring" in out.stdout and "rewrapped 1 value(s) in kms_key_versions" in out.stdout
        )
        assert {_status(srv)["root_version"] for _ in range(30)} == {2}
        for _ in range(10):  # a new client, a new connection: any worker
            fresh = srv.client("kms")
            assert fresh.decrypt(CiphertextBlob=blob)["Plaintext"] == b"w"
    finally:
        srv.stop()
