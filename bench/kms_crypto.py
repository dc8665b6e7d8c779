"""Throughput of the KMS crypto primitives on this machine.

Prints ops/s for encrypting and decrypting a 4 KB plaintext as a KMS
ciphertext blob (with a SecureString-style encryption context), and for
wrapping / unwrapping a 32-byte backing key with the root Keyring.

Run: PYTHONPATH=src .venv/bin/python bench/kms_crypto.py [seconds-per-case]
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Callable

from fleetward.crypto.keyring import Keyring
from fleetward.crypto.kms_blob import BlobHeader, backing_key_aad, decrypt_blob, encrypt_blob


def measure(name: str, fn: Callable[[], object], seconds: float) -> None:
    for _ in range(200):  # warm up
        fn()
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(500):
            fn()
        count += 500
        now = time.perf_counter()
        if now >= deadline:
            break
    elapsed = now - start
    print(f"{name:<34} {count / elapsed:>12,.0f} ops/s  {elapsed / count * 1e6:8.2f} us/op")


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    key_id = str(uuid.uuid4())
    header = BlobHeader(key_id=key_id, key_version=1)
    backing_key = os.urandom(32)
    plaintext = os.urandom(4096)
    context = {"PARAMETER_ARN": "arn:aws:ssm:us-east-1:123456789012:parameter/prod/db/password"}
    blob = encrypt_blob(header, backing_key, plaintext, context)

    keyring = Keyring({1: os.urandom(32)})
    aad = backing_key_aad(f"arn:aws:kms:us-east-1:123456789012:key/{key_id}", 1)
    wrapped = keyring.wrap(backing_key, aad)

    measure("encrypt_blob 4 KB", lambda: encrypt_blob(header, backing_key, plaintext, context), seconds)
    measure("decrypt_blob 4 KB", lambda: decrypt_blob(blob, backing_key, context), seconds)
    measure("Keyring.wrap 32 B backing key", lambda: keyring.wrap(backing_key, aad), seconds)
    measure("Keyring.unwrap 32 B backing key", lambda: keyring.unwrap(wrapped, aad), seconds)


if __name__ == "__main__":
    main()
