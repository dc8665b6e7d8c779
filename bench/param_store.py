"""Parameter Store benchmark: a real server, a least-privilege user, real SigV4 on every request.

Set-up: ``fleetward init`` + ``fleetward server --workers 2`` (SQLite, audit
on) on loopback; through the APIs (boto3, as the administrator): a
customer-managed KMS key, an IAM user allowed only ssm:GetParameter /
PutParameter / GetParametersByPath under /bench and kms:Encrypt / Decrypt
on that key, and 1,000 String parameters under /bench/tree plus SecureStrings.

Load generator: N processes x asyncio raw HTTP/1.1 keep-alive connections
(64 in total). Every request is signed afresh (SigV4 with the day's signing
key precomputed: one SHA-256 of the body, one of the canonical request, one
HMAC); responses are read by Content-Length. Each process reports its CPU
time, so the generator's share of the machine is printed next to each result.

Measured: GetParameter (String), GetParameter WithDecryption (SecureString on
the CMK), PutParameter Overwrite (SecureString on the CMK, one parameter per
connection) and GetParametersByPath (first page of 10 over the 1,000).

Run: .venv/bin/python bench/param_store.py [seconds-per-case] [connections] [generator-processes]
"""

from __future__ import annotations

import asyncio
import configparser
import hashlib
import hmac
import json
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

REGION = "us-east-1"
ROOT = Path(__file__).resolve().parent.parent
FLEETWARD = [sys.executable, "-m", "fleetward.cli.main"]
TARGETS = {
    "GetParameter": "AmazonSSM.GetParameter",
    "PutParameter": "AmazonSSM.PutParameter",
    "GetParametersByPath": "AmazonSSM.GetParametersByPath",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------ SigV4 signer


class Signer:
    """SigV4 for JSON 1.1 POSTs with the signing key derived once per day."""

    def __init__(self, key: str, secret: str, host: str) -> None:
        self.key, self.secret, self.host = key, secret, host
        self._day = ""
        self._skey = b""

    def _signing_key(self, day: str) -> bytes:
        if day != self._day:
            k = hmac.new(("AWS4" + self.secret).encode(), day.encode(), hashlib.sha256).digest()
            for part in (REGION, "ssm", "aws4_request"):
                k = hmac.new(k, part.encode(), hashlib.sha256).digest()
            self._day, self._skey = day, k
        return self._skey

    def request(self, target: str, body: bytes) -> bytes:
        now = time.gmtime()
        amz = time.strftime("%Y%m%dT%H%M%SZ", now)
        day = amz[:8]
        payload = hashlib.sha256(body).hexdigest()
        canonical = (
            f"POST\n/\n\ncontent-type:application/x-amz-json-1.1\nhost:{self.host}\n"
            f"x-amz-date:{amz}\nx-amz-target:{target}\n\ncontent-type;host;x-amz-date;x-amz-target\n{payload}"
        )
        scope = f"{day}/{REGION}/ssm/aws4_request"
        sts = f"AWS4-HMAC-SHA256\n{amz}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        sig = hmac.new(self._signing_key(day), sts.encode(), hashlib.sha256).hexdigest()
        head = (
            f"POST / HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/x-amz-json-1.1\r\n"
            f"X-Amz-Date: {amz}\r\nX-Amz-Target: {target}\r\nContent-Length: {len(body)}\r\n"
            f"Authorization: AWS4-HMAC-SHA256 Credential={self.key}/{scope}, "
            f"SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature={sig}\r\n\r\n"
        )
        return head.encode() + body


# ------------------------------------------------------------------ load generator


async def _connection(
    signer: Signer,
    port: int,
    target: str,
    bodies: list[bytes],
    stop_at: float,
    start_at: float,
    lat: list[float],
    errors: list[int],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = 0
    try:
        while True:
            t0 = time.perf_counter()
            if t0 >= stop_at:
                return
            writer.write(signer.request(target, bodies[i % len(bodies)]))
            i += 1
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            n = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    n = int(line[15:])
                    break
            if n:
                await reader.readexactly(n)
            t1 = time.perf_counter()
            if t0 >= start_at:
                lat.append(t1 - t0)
                if status != 200:
                    errors.append(status)
    finally:
        writer.close()


def _generator(args: tuple[Any, ...]) -> tuple[list[float], list[int], float]:
    key, secret, port, target, per_conn_bodies, seconds, warmup, t_start = args
    signer = Signer(key, secret, f"127.0.0.1:{port}")
    lat: list[float] = []
    errors: list[int] = []

    async def run() -> None:
        # All processes start at the same wall-clock instant.
        await asyncio.sleep(max(0.0, t_start - time.time()))
        base = time.perf_counter()
        start_at, stop_at = base + warmup, base + warmup + seconds
        await asyncio.gather(
            *(_connection(signer, port, target, b, stop_at, start_at, lat, errors) for b in per_conn_bodies)
        )

    c0 = time.process_time()
    asyncio.run(run())
    return lat, errors, time.process_time() - c0


def load(
    creds: tuple[str, str],
    port: int,
    target: str,
    bodies_per_conn: list[list[bytes]],
    seconds: float,
    procs: int,
) -> dict[str, Any]:
    groups = [bodies_per_conn[i::procs] for i in range(procs)]
    warmup = 1.0
    t_start = time.time() + 1.0
    server_cpu0 = _server_cpu(port)
    with mp.get_context("spawn").Pool(procs) as pool:
        results = pool.map(_generator, [(*creds, port, target, g, seconds, warmup, t_start) for g in groups])
    server_cpu = _server_cpu(port) - server_cpu0
    lat = sorted(x for r in results for x in r[0])
    errors = [x for r in results for x in r[1]]
    gen_cpu = sum(r[2] for r in results)
    wall = seconds + warmup
    return {
        "requests": len(lat),
        "rps": len(lat) / seconds,
        "p50_ms": lat[len(lat) // 2] * 1000 if lat else 0.0,
        "p99_ms": lat[int(len(lat) * 0.99)] * 1000 if lat else 0.0,
        "errors": len(errors),
        "gen_cpu_share": gen_cpu / (wall * (os.cpu_count() or 1)),
        "server_cpu_share": server_cpu / (wall * (os.cpu_count() or 1)),
    }


_SERVER_PIDS: list[int] = []


def _server_cpu(port: int) -> float:
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in _SERVER_PIDS:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError):
            pass
    return total


def _descendants(pid: int) -> list[int]:
    out = [pid]
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                ppid = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            if ppid == pid:
                out += _descendants(int(p.name))
    return out


# ------------------------------------------------------------------ set-up


def start_server(data: Path, workers: int) -> tuple[subprocess.Popen[bytes], int]:
    subprocess.run([*FLEETWARD, "init", "--data-dir", str(data)], check=True, capture_output=True)
    port = free_port()
    log = open(data / "server.log", "ab")
    proc = subprocess.Popen(
        [
            *FLEETWARD,
            "server",
            "--data-dir",
            str(data),
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                time.sleep(1.0)  # let every worker finish its start-up
                return proc, port
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


def client(service: str, port: int, creds: tuple[str, str]) -> Any:
    return boto3.client(
        service,
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name=REGION,
        aws_access_key_id=creds[0],
        aws_secret_access_key=creds[1],
        config=Config(retries={"max_attempts": 3, "mode": "standard"}),
    )


def setup(port: int, admin: tuple[str, str], conns: int) -> tuple[tuple[str, str], str]:
    iam, kms, ssm = client("iam", port, admin), client("kms", port, admin), client("ssm", port, admin)
    key_arn = kms.create_key(Description="bench CMK")["KeyMetadata"]["Arn"]
    account = key_arn.split(":")[4]
    iam.create_user(UserName="bench")
    iam.put_user_policy(
        UserName="bench",
        PolicyName="least-privilege",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["ssm:GetParameter", "ssm:PutParameter", "ssm:GetParametersByPath"],
                        "Resource": [
                            f"arn:aws:ssm:{REGION}:{account}:parameter/bench",
                            f"arn:aws:ssm:{REGION}:{account}:parameter/bench/*",
                        ],
                    },
                    {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": key_arn},
                ],
            }
        ),
    )
    ak = iam.create_access_key(UserName="bench")["AccessKey"]
    user = (ak["AccessKeyId"], ak["SecretAccessKey"])
    from concurrent.futures import ThreadPoolExecutor

    def put(i: int) -> None:
        ssm.put_parameter(Name=f"/bench/tree/p{i:04d}", Value=f"value-{i:04d}-" + "x" * 40, Type="String")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, range(1000)))
    ssm.put_parameter(Name="/bench/plain", Value="hello-world-" + "x" * 100, Type="String")
    ssm.put_parameter(Name="/bench/secret", Value="s3cr3t-" + "x" * 100, Type="SecureString", KeyId=key_arn)
    for i in range(conns):
        ssm.put_parameter(Name=f"/bench/w/{i}", Value="initial", Type="SecureString", KeyId=key_arn)
    # Warm-up and a sanity check as the user.
    u = client("ssm", port, user)
    assert u.get_parameter(Name="/bench/secret", WithDecryption=True)["Parameter"]["Value"].startswith(
        "s3cr3t-"
    )
    return user, key_arn


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    conns = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    procs = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    with tempfile.TemporaryDirectory(prefix="fw-bench-") as tmp:
        data = Path(tmp)
        proc, port = start_server(data, workers=int(os.environ.get("BENCH_WORKERS", "2")))
        try:
            _SERVER_PIDS[:] = _descendants(proc.pid)
            creds = configparser.ConfigParser()
            creds.read(data / "credentials")
            admin = (creds["fleetward"]["aws_access_key_id"], creds["fleetward"]["aws_secret_access_key"])
            t0 = time.time()
            user, key_arn = setup(port, admin, conns)
            print(f"set-up: 1,000 parameters + CMK + least-privilege user in {time.time() - t0:.1f}s")
            print(
                f"server: {os.environ.get('BENCH_WORKERS', '2')} workers, SQLite, audit on; {os.cpu_count()} cores; {conns} connections; "
                f"generator: {procs} processes x asyncio, fresh SigV4 per request; {seconds:.0f}s per case\n"
            )
            cases = [
                (
                    "GetParameter (String)",
                    "GetParameter",
                    [[json.dumps({"Name": "/bench/plain"}).encode()]] * conns,
                ),
                (
                    "GetParameter WithDecryption (SecureString, CMK)",
                    "GetParameter",
                    [[json.dumps({"Name": "/bench/secret", "WithDecryption": True}).encode()]] * conns,
                ),
                (
                    "PutParameter Overwrite (SecureString, CMK)",
                    "PutParameter",
                    [
                        [
                            json.dumps(
                                {
                                    "Name": f"/bench/w/{i}",
                                    "Value": f"rotated-{i}-" + "y" * 64,
                                    "Type": "SecureString",
                                    "KeyId": key_arn,
                                    "Overwrite": True,
                                }
                            ).encode()
                        ]
                        for i in range(conns)
                    ],
                ),
                (
                    "GetParametersByPath (page of 10 of 1,000)",
                    "GetParametersByPath",
                    [[json.dumps({"Path": "/bench/tree", "MaxResults": 10}).encode()]] * conns,
                ),
            ]
            print(
                f"{'case':50} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'gen CPU':>8} {'srv CPU':>8}"
            )
            for title, op, bodies in cases:
                r = load(user, port, TARGETS[op], bodies, seconds, procs)
                print(
                    f"{title:50} {r['rps']:8.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['errors']:7d} "
                    f"{r['gen_cpu_share']:8.0%} {r['server_cpu_share']:8.0%}",
                    flush=True,
                )
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
            errors = [ln for ln in (data / "server.log").read_text().splitlines() if '"level":"error"' in ln]
            if errors:
                print(f"\nserver logged {len(errors)} errors; first: {errors[0][:400]}")


if __name__ == "__main__":
    main()
