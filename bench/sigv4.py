"""Per-request cost of SigV4 verification for a typical botocore-signed JSON POST.

Run: ``.venv/bin/python bench/sigv4.py [iterations]``. Prints microseconds per
request for parse_auth alone, parse_auth + verify with the signing-key cache
(the server's hot path), and without it.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth as BotocoreSigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from fleetward.auth.sigv4 import HttpRequest, SigningKeyCache, parse_auth, verify

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def signed_request(token: str | None) -> HttpRequest:
    body = json.dumps({"Name": "/app/prod/db/password", "WithDecryption": True}).encode()
    request = AWSRequest(
        method="POST",
        url="https://ssm.us-east-1.amazonaws.com/",
        data=body,
        headers={
            "X-Amz-Target": "AmazonSSM.GetParameter",
            "Content-Type": "application/x-amz-json-1.1",
            "User-Agent": "Boto3/1.43.11 md/Botocore#1.43.11 ua/2.1 os/linux",
            "Content-Length": str(len(body)),
        },
    )
    BotocoreSigV4Auth(Credentials("AKIAFLEETWARDBENCH01", SECRET, token), "ssm", "us-east-1").add_auth(
        request
    )
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    headers = [(str(k), str(v)) for k, v in prepared.headers.items()]
    headers += [("Host", parts.netloc), ("Accept-Encoding", "identity")]
    return HttpRequest("POST", parts.path or "/", parts.query, tuple(headers), body)


def per_call_us(fn: Callable[[], object], iterations: int) -> float:
    for _ in range(min(iterations, 1000)):
        fn()
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter_ns()
        for _ in range(iterations):
            fn()
        best = min(best, (time.perf_counter_ns() - start) / iterations / 1000)
    return best


def main() -> None:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    skew = timedelta(minutes=5)
    for label, token in (("no session token", None), ("session token", "FwoGZXIvYXdzE" * 20)):
        req = signed_request(token)
        now = parse_auth(req).request_time + timedelta(seconds=1)
        cache = SigningKeyCache()

        def cached(req: HttpRequest = req, now: datetime = now, cache: SigningKeyCache = cache) -> None:
            verify(req, parse_auth(req), SECRET, now=now, max_skew=skew, cache=cache)

        def uncached(req: HttpRequest = req, now: datetime = now) -> None:
            verify(req, parse_auth(req), SECRET, now=now, max_skew=skew)

        def parse_only(req: HttpRequest = req) -> None:
            parse_auth(req)

        print(f"JSON POST, {label}, {len(req.headers)} headers, best of 5 x {iterations}:")
        print(f"  parse_auth                    {per_call_us(parse_only, iterations):7.2f} us")
        print(f"  parse_auth + verify (cached)  {per_call_us(cached, iterations):7.2f} us")
        print(f"  parse_auth + verify (no cache){per_call_us(uncached, iterations):7.2f} us")


if __name__ == "__main__":
    main()
