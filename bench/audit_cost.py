"""What the audit trail costs per request: req/s with the trail on vs off, in one run.

Run: ``.venv/bin/python bench/audit_cost.py [--seconds 8] [--procs 2] [--conns 16] [--workers 1]``.

Starts two initialised --test-mode servers on loopback (one with the trail,
one with ``--no-audit``), puts a String parameter, and drives
``ssm:GetParameter`` (``sts:GetCallerIdentity`` when Parameter Store is
absent) with several load-generator processes, each replaying one
pre-signed raw HTTP request over keep-alive connections (asyncio streams).
Prints req/s for both, the gap, and the load generator's CPU share (it
competes with the server for the same cores).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.server import REGION, Server


def presigned(endpoint: str, creds: tuple[str, str], op: str) -> bytes:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    if op == "GetParameter":
        body = json.dumps({"Name": "/bench/param"}).encode()
        headers = {"X-Amz-Target": "AmazonSSM.GetParameter", "Content-Type": "application/x-amz-json-1.1"}
        service = "ssm"
    else:
        body = b"Action=GetCallerIdentity&Version=2011-06-15"
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        service = "sts"
    req = AWSRequest(method="POST", url=endpoint + "/", data=body, headers=headers)
    SigV4Auth(Credentials(*creds), service, REGION).add_auth(req)
    host = endpoint.split("://", 1)[1]
    lines = ["POST / HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}", "Connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in req.headers.items() if k.lower() not in ("host", "content-length")]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _conn(port: int, raw: bytes, until: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until:
            writer.write(raw)
            head = await reader.readuntil(b"\r\n\r\n")
            n = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    n = int(line[15:])
            await reader.readexactly(n)
            counts[0 if head.startswith(b"HTTP/1.1 200") else 1] += 1
    finally:
        writer.close()


def _worker(port: int, raw: bytes, conns: int, seconds: float, start_at: float, q: Any) -> None:
    while time.time() < start_at:
        time.sleep(0.001)
    counts = [0, 0]
    until = time.perf_counter() + seconds

    async def main() -> None:
        await asyncio.gather(*(_conn(port, raw, until, counts) for _ in range(conns)))

    asyncio.run(main())
    t = os.times()
    q.put((counts[0], counts[1], t.user + t.system))


def drive(port: int, raw: bytes, *, procs: int, conns: int, seconds: float) -> tuple[float, int, float]:
    """(req/s, errors, load-generator CPU seconds)."""
    q: Any = mp.Queue()
    start_at = time.time() + 0.5
    ps = [mp.Process(target=_worker, args=(port, raw, conns, seconds, start_at, q)) for _ in range(procs)]
    for p in ps:
        p.start()
    results = [q.get() for _ in ps]
    for p in ps:
        p.join()
    ok = sum(r[0] for r in results)
    return ok / seconds, sum(r[1] for r in results), sum(r[2] for r in results)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--conns", type=int, default=16)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fw-audit-bench-"))
    results = {}
    try:
        for label, extra in (("trail on", []), ("trail off (--no-audit)", ["--no-audit"])):
            srv = Server(tmp / label.split()[1], extra=[*extra, "--workers", str(args.workers)]).start()
            try:
                op = "GetParameter"
                try:
                    srv.client("ssm").put_parameter(
                        Name="/bench/param", Value="v", Type="String", Overwrite=True
                    )
                except Exception:
                    op = "GetCallerIdentity"
                raw = presigned(srv.endpoint, srv.admin, op)
                drive(srv.port, raw, procs=args.procs, conns=args.conns, seconds=1.0)  # warm-up
                rps, errors, cpu = drive(
                    srv.port, raw, procs=args.procs, conns=args.conns, seconds=args.seconds
                )
                share = cpu / (args.seconds * (os.cpu_count() or 1))
                results[label] = rps
                import urllib.request

                with urllib.request.urlopen(f"{srv.endpoint}/_fleetward/metrics", timeout=5) as m:
                    metrics = dict(
                        ln.rsplit(" ", 1) for ln in m.read().decode().splitlines() if not ln.startswith("#")
                    )
                batches = int(metrics["fleetward_audit_batches_total"])
                if batches:
                    print(
                        f"  mean group-commit batch: {int(metrics['fleetward_audit_records_written_total']) / batches:.1f} records"
                    )
                print(
                    f"{label:24s} {op}: {rps:8.0f} req/s  errors={errors}  load-generator CPU {share:.0%} of the machine"
                )
            finally:
                srv.stop()
        on, off = results["trail on"], results["trail off (--no-audit)"]
        print(
            f"audit cost: {100 * (off - on) / off:.1f}% fewer req/s with the trail on ({1e6 / on - 1e6 / off:.0f} µs/request)"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
