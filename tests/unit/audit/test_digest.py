import asyncio
from pathlib import Path

import pytest

from fleetward.audit.digest import close_period, due_end, prune
from fleetward.audit.validate import validate_trail
from fleetward.audit.writer import AuditUnavailable, AuditWriter
from fleetward.auth.principal import Principal, PrincipalType
from tests.unit.audit.helpers import ACCT, KEYRING, record, trail_db

T0 = 1_700_000_000.0


async def _filled(tmp: Path, n: int = 6):  # type: ignore[no-untyped-def]
    db = await trail_db(tmp)
    w = AuditWriter(db)
    for i in range(n):
        await w.submit(record(T0 + i))
    return db, w


async def test_clean_trail_validates(tmp_path: Path) -> None:
    db, w = await _filled(tmp_path)
    d = await close_period(db, KEYRING, end=T0 + 100, now=T0 + 100)
    assert d is not None and d.record_count == 6
    await w.submit(record(T0 + 200))
    d2 = await close_period(db, KEYRING, end=T0 + 300, now=T0 + 300)
    assert d2 is not None and d2.id == 2 and d2.record_count == 1
    await w.submit(record(T0 + 400))  # the open tail
    rep = await validate_trail(db, now=T0 + 500)
    assert rep.ok, rep.findings
    assert (rep.digests, rep.records_verified, rep.tail) == (2, 7, 1)
    assert await close_period(db, KEYRING, end=T0 + 300, now=T0 + 600) is None  # already closed
    await db.close()


async def test_edit_delete_insert_are_named(tmp_path: Path) -> None:
    db, w = await _filled(tmp_path)
    await close_period(db, KEYRING, end=T0 + 100, now=T0 + 100)
    rows = await db.fetchall("SELECT seq, event_id FROM audit_events ORDER BY seq")
    async with db.write() as c:
        await c.execute(
            "UPDATE audit_events SET record = replace(record, '127.0.0.1', '10.0.0.9') WHERE seq = ?",
            rows[1][0],
        )
        await c.execute("DELETE FROM audit_events WHERE seq = ?", rows[3][0])
        await c.execute("UPDATE audit_events SET username = 'mallory' WHERE seq = ?", rows[4][0])
    await w.submit(record(T0 + 5.5))  # back-dated into the digested period
    inserted = await db.fetchone("SELECT seq, event_id FROM audit_events ORDER BY seq DESC LIMIT 1")
    async with db.write() as c:
        await c.execute("UPDATE audit_events SET digest_id = 1 WHERE seq = ?", inserted[0])
    rep = await validate_trail(db, now=T0 + 200)
    kinds = {(f.kind, f.seq) for f in rep.findings}
    assert ("record-changed", rows[1][0]) in kinds
    assert ("record-removed", rows[3][0]) in kinds
    assert ("record-changed", rows[4][0]) in kinds  # the username column LookupEvents searches
    assert ("record-inserted", inserted[0]) in kinds
    assert any(f.event_id == rows[3][1] for f in rep.findings)
    assert not rep.ok
    await db.close()


async def test_event_name_column_edit_is_found(tmp_path: Path) -> None:
    db, _ = await _filled(tmp_path, 2)
    await close_period(db, KEYRING, end=T0 + 100, now=T0 + 100)
    async with db.write() as c:
        await c.execute("UPDATE audit_events SET event_name = 'GetParameter' WHERE seq = 1")
    rep = await validate_trail(db, now=T0 + 200)
    assert [f.kind for f in rep.findings] == ["record-changed"]
    await db.close()


@pytest.mark.parametrize(
    ("sql", "what"),
    [
        ("UPDATE audit_events SET username = 'bob' WHERE seq = 2", "column username"),
        ("UPDATE audit_events SET region = 'eu-west-1' WHERE seq = 2", "column region"),
        (
            "UPDATE audit_resources SET resource_name = 'arn:aws:ssm:us-east-1:111122223333:parameter/y'"
            " WHERE event_id = (SELECT event_id FROM audit_events WHERE seq = 2)",
            "resource rows",
        ),
        (
            "DELETE FROM audit_resources WHERE event_id = (SELECT event_id FROM audit_events WHERE seq = 2)",
            "resource rows",
        ),
        (
            "INSERT INTO audit_resources (event_id, resource_type, resource_name)"
            " SELECT event_id, 'AWS::SSM::Parameter', 'arn:aws:ssm:us-east-1:111122223333:parameter/z'"
            " FROM audit_events WHERE seq = 2",
            "resource rows",
        ),
    ],
)
async def test_searchable_column_edits_are_found(tmp_path: Path, sql: str, what: str) -> None:
    """LookupEvents answers from these columns: changing them changes what it shows."""
    db, w = await _filled(tmp_path, 2)
    session = Principal(
        type=PrincipalType.ASSUMED_ROLE,
        account=ACCT,
        arn=f"arn:aws:sts::{ACCT}:assumed-role/R/carol",
        principal_id="AROAEXAMPLE:carol",
        access_key="ASIAEXAMPLE",
        name="carol",
        role_arn=f"arn:aws:iam::{ACCT}:role/R",
        role_name="R",
        session_name="carol",
    )
    root = Principal(
        type=PrincipalType.ROOT,
        account=ACCT,
        arn=f"arn:aws:iam::{ACCT}:root",
        principal_id=ACCT,
        access_key="AKIAROOT",
        name="",
    )
    await w.submit(
        record(T0 + 3, principal=session, access_key=session.access_key),
        record(T0 + 4, principal=root, access_key=root.access_key),
    )
    await close_period(db, KEYRING, end=T0 + 100, now=T0 + 100)
    assert (await validate_trail(db, now=T0 + 200)).ok  # user names of every identity type check out
    async with db.write() as c:
        await c.execute(sql)
    rep = await validate_trail(db, now=T0 + 200)
    assert [(f.kind, f.seq) for f in rep.findings] == [("record-changed", 2)]
    assert what in rep.findings[0].message
    await db.close()


async def test_digest_tamper_and_removal(tmp_path: Path) -> None:
    db, w = await _filled(tmp_path, 2)
    for k in range(1, 4):
        await w.submit(record(T0 + 100 * k + 1))
        await close_period(db, KEYRING, end=T0 + 100 * k + 50, now=T0 + 100 * k + 50)
    async with db.write() as c:
        await c.execute(
            "UPDATE audit_digests SET body = replace(body, '\"recordCount\":1', '\"recordCount\":2') WHERE id = 2"
        )
    rep = await validate_trail(db, now=T0 + 1000)
    assert any(f.kind == "digest-changed" and f.digest_id == 2 for f in rep.findings)
    async with db.write() as c:
        await c.execute("DELETE FROM audit_digests WHERE id = 2")
    rep = await validate_trail(db, now=T0 + 1000)
    assert any(f.kind == "digest-removed" and f.digest_id == 3 for f in rep.findings)
    assert any(f.kind == "digest-removed" and f.digest_id == 2 for f in rep.findings)  # its record names it
    async with db.write() as c:
        await c.execute("DELETE FROM audit_digests WHERE id = 3")  # the newest digest
    rep = await validate_trail(db, now=T0 + 1000)
    assert any(f.kind == "digest-removed" and f.digest_id == 3 for f in rep.findings)
    await db.close()


async def test_retention_keeps_chain_valid(tmp_path: Path) -> None:
    db, w = await _filled(tmp_path, 3)
    await close_period(db, KEYRING, end=T0 + 100, now=T0 + 100)
    await w.submit(record(T0 + 86400 * 91))
    now = T0 + 86400 * 91 + 10
    assert await prune(db, now - 90 * 86400) == 3
    rep = await validate_trail(db, now=now)
    assert rep.ok, rep.findings
    assert rep.records_expired == 3 and rep.tail == 1
    await db.close()


async def test_key_rotation_keeps_old_keys(tmp_path: Path) -> None:
    db, w = await _filled(tmp_path, 1)
    await close_period(db, KEYRING, end=T0 + 100, now=T0 + 100, rotation_days=1)
    await w.submit(record(T0 + 2 * 86400))
    await close_period(db, KEYRING, end=T0 + 2 * 86400 + 10, now=T0 + 2 * 86400 + 10, rotation_days=1)
    keys = await db.fetchall("SELECT fingerprint, retired FROM audit_signing_keys ORDER BY created")
    assert len(keys) == 2 and keys[0]["retired"] is not None and keys[1]["retired"] is None
    assert (await validate_trail(db, now=T0 + 3 * 86400)).ok
    await db.close()


async def test_audit_or_fail_rolls_back_the_change(tmp_path: Path) -> None:
    db, w = await _filled(tmp_path, 0)
    async with db.write() as c:
        await c.execute("CREATE TABLE things (name TEXT)")
    async with db.write() as c:
        await c.execute("DROP TABLE audit_resources")  # the trail becomes unwritable
    with pytest.raises(AuditUnavailable):
        async with db.write() as c:
            await c.execute("INSERT INTO things VALUES ('x')")
            await w.write_in(c, record(T0))
    assert (await db.fetchone("SELECT COUNT(*) FROM things"))[0] == 0
    assert (await db.fetchone("SELECT COUNT(*) FROM audit_events"))[0] == 0
    with pytest.raises(AuditUnavailable):
        await w.submit(record(T0))
    assert w.failures == 2
    await db.close()


def test_due_end_waits_for_grace() -> None:
    assert due_end(7200 + 59) == 3600
    assert due_end(7200 + 61) == 7200


async def test_validate_a_time_range(tmp_path: Path) -> None:
    """--start/--end limit the records checked; the chain is always checked whole."""
    db, _ = await _filled(tmp_path)  # records at T0 .. T0 + 5
    await close_period(db, KEYRING, end=T0 + 100, now=T0 + 100)
    async with db.write() as c:
        await c.execute("DELETE FROM audit_events WHERE event_time = ?", T0 + 1)
    inside = await validate_trail(db, now=T0 + 200, start=T0, end=T0 + 3)
    assert [(f.kind, f.seq) for f in inside.findings] == [("record-removed", 2)]
    assert inside.records_verified == 2
    outside = await validate_trail(db, now=T0 + 200, start=T0 + 2, end=T0 + 100)
    assert outside.ok and outside.records_verified == 4
    async with db.write() as c:
        await c.execute("UPDATE audit_digests SET signature = '00' WHERE id = 1")
    assert [f.kind for f in (await validate_trail(db, now=T0 + 200, start=T0 + 2)).findings] == [
        "digest-changed"
    ]
    await db.close()


async def test_validation_uses_the_retention_the_digests_sign(tmp_path: Path) -> None:
    """Records pruned under a 30-day retention are expired, not removed; under a
    365-day one a 100-day-old record that is gone was removed, whatever the CLI guesses."""
    day = 86400
    for days, deleted_kind in ((30, None), (365, "record-removed")):
        (tmp_path / str(days)).mkdir()
        db, w = await _filled(tmp_path / str(days), 3)
        d1 = await close_period(db, KEYRING, end=T0 + 100, now=T0 + 100, retention_days=days)
        assert d1 is not None
        await w.submit(record(T0 + 200))
        await close_period(db, KEYRING, end=T0 + 300, now=T0 + 300)  # None: the previous digest's
        bodies = [r[0] for r in await db.fetchall("SELECT body FROM audit_digests ORDER BY id")]
        assert all(f'"retentionDays":{days}' in b for b in bodies)
        now = T0 + 100 * day
        async with db.write() as c:  # what a 30-day retention prunes; by hand under 365 days
            await c.execute("DELETE FROM audit_events WHERE event_time < ?", T0 + 100)
        rep = await validate_trail(db, now=now)
        if deleted_kind is None:
            assert rep.ok and rep.records_expired == 3, rep.findings
        else:
            assert [f.kind for f in rep.findings] == [deleted_kind] * 3
        # an explicit --retention-days still decides
        assert (await validate_trail(db, now=now, retention_days=30)).ok
        await db.close()


async def test_a_later_shorter_retention_covers_older_digests(tmp_path: Path) -> None:
    db, w = await _filled(tmp_path, 2)
    await close_period(db, KEYRING, end=T0 + 100, now=T0 + 100, retention_days=365)
    await w.submit(record(T0 + 200))
    await close_period(db, KEYRING, end=T0 + 300, now=T0 + 300, retention_days=30)  # lowered later
    await w.submit(record(T0 + 400))
    await close_period(db, KEYRING, end=T0 + 500, now=T0 + 500, retention_days=365)  # raised again
    async with db.write() as c:
        await c.execute("DELETE FROM audit_events WHERE event_time < ?", T0 + 300)
    rep = await validate_trail(db, now=T0 + 40 * 86400)
    assert rep.ok and rep.records_expired == 3, rep.findings


async def test_pruning_waits_for_a_shorter_retention_to_be_signed(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from fleetward.clock import Clock
    from fleetward.services.cloudtrail import TrailMetrics, _retention_worker
    from fleetward.services.context import ServiceEnv

    db, _ = await _filled(tmp_path, 2)
    await close_period(db, KEYRING, end=T0 + 100, now=T0 + 100, retention_days=90)
    clock = Clock()
    clock.offset = T0 + 40 * 86400 - clock.now()
    env = ServiceEnv(
        db=db, clock=clock, settings=SimpleNamespace(audit_retention_days=30), region="us-east-1"
    )
    m = TrailMetrics()
    task = asyncio.ensure_future(_retention_worker(env, m)())
    await asyncio.sleep(0.2)
    task.cancel()
    assert m.pruned == 0  # 40 days old, but 90 days is what is signed
    assert (await validate_trail(db, now=clock.now())).ok
    await db.close()
