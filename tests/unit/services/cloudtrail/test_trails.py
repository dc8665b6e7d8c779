"""ListPublicKeys: the keys that signed digests in the time range; each time defaults to now."""

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from fleetward.audit.digest import current_signing_key
from fleetward.services.cloudtrail.events import InvalidTimeRangeException
from fleetward.services.cloudtrail.trails import list_public_keys
from tests.unit.audit.helpers import KEYRING, trail_db

DAY = 86400.0
T0 = 1_700_000_000.0


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


async def test_list_public_keys_time_range(tmp_path: Path) -> None:
    db = await trail_db(tmp_path)
    fingerprints = []
    for t in (T0, T0 + 31 * DAY):  # the second call rotates (30-day keys)
        async with db.write() as conn:
            fingerprints.append((await current_signing_key(conn, KEYRING, t))[0])
    assert len(set(fingerprints)) == 2

    async def keys(now: float, **req: Any) -> list[str]:
        async with db.read() as conn:
            ctx = SimpleNamespace(conn=conn, now=now, env=SimpleNamespace(settings=SimpleNamespace()))
            out = await list_public_keys(ctx, req)  # type: ignore[arg-type]
        return [k["Fingerprint"] for k in out["PublicKeyList"]]

    now = T0 + 32 * DAY
    assert await keys(now) == [fingerprints[1]]  # neither time: the key in force now
    assert await keys(now, StartTime=_dt(T0)) == fingerprints
    assert await keys(now, StartTime=_dt(T0), EndTime=_dt(T0 + DAY)) == [fingerprints[0]]
    with pytest.raises(InvalidTimeRangeException):
        await keys(now, StartTime=_dt(T0 + DAY), EndTime=_dt(T0))
    with pytest.raises(InvalidTimeRangeException):  # EndTime before the default StartTime, now
        await keys(now, EndTime=_dt(T0))
    await db.close()
