"""Several replicas on one PostgreSQL database: how fleetward scales (DESIGN.md section 7).

Two server processes share the data directory's root of trust and one
database; whatever one replica changes, the other serves at once: parameters,
credentials and policies (a revoked grant outlives the change by at most the
caches' 5-second lifetime, as IAM's own changes take seconds to propagate), and
both write one audit trail whose chain validates.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.conftest import pg_database
from tests.support.server import Server

ALLOW = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"}],
    }
)


@pytest.fixture()
def replicas(tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    gen = pg_database()
    url = next(gen)
    a = Server(tmp_path / "data", database_url=url).start()
    b = Server(tmp_path / "data", database_url=url)
    b.log_path = tmp_path / "b.log"
    b.start()
    b.admin = a.admin
    try:
        yield a, b
    finally:
        b.stop()
        a.stop()
        gen.close()


def _denied_soon(call: object, seconds: float = 8.0) -> str:
    """The error code of ``call`` once it fails (within ``seconds``): another
    replica's cached credentials and policies live at most 5 s (DEFAULT_TTL)."""
    deadline = time.time() + seconds
    while True:
        try:
            call()  # type: ignore[operator]
        except ClientError as e:
            return str(e.response["Error"]["Code"])
        if time.time() > deadline:
            return "still allowed"
        time.sleep(0.1)


def test_changes_on_one_replica_are_served_by_the_other(replicas: tuple[Server, Server]) -> None:
    a, b = replicas
    a.client("ssm").put_parameter(Name="/shared/p", Value="one", Type="SecureString")
    assert b.client("ssm").get_parameter(Name="/shared/p", WithDecryption=True)["Parameter"]["Value"] == "one"

    iam = a.client("iam")
    iam.create_user(UserName="carol")
    iam.put_user_policy(UserName="carol", PolicyName="p", PolicyDocument=ALLOW)
    k = iam.create_access_key(UserName="carol")["AccessKey"]
    creds = (k["AccessKeyId"], k["SecretAccessKey"])
    on_a, on_b = a.client("ssm", creds=creds), b.client("ssm", creds=creds)
    on_a.get_parameter(Name="/shared/p")
    on_b.get_parameter(Name="/shared/p")

    # Revoked on B: A stops allowing it (no stale policy cache outlives its TTL).
    b.client("iam").delete_user_policy(UserName="carol", PolicyName="p")
    assert _denied_soon(lambda: on_a.get_parameter(Name="/shared/p")) == "AccessDeniedException"
    # Key deactivated on A: B refuses it.
    iam.update_access_key(UserName="carol", AccessKeyId=creds[0], Status="Inactive")
    assert _denied_soon(lambda: on_b.get_parameter(Name="/shared/p")) == "UnrecognizedClientException"


def test_both_replicas_write_one_trail(replicas: tuple[Server, Server]) -> None:
    a, b = replicas
    for i in range(10):
        (a if i % 2 else b).client("ssm").put_parameter(Name=f"/t/{i}", Value="v", Type="String")
    for srv in (a, b):
        srv.client("sts").get_caller_identity()
    assert a.sql("SELECT COUNT(*) FROM audit_events WHERE event_name = 'PutParameter'") == [(10,)]
    r = a.cli("trail", "validate", *a.db_args(), "--close-open-hour", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
