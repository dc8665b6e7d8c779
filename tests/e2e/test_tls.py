"""TLS: the server serves HTTPS with the given certificate and key."""

from __future__ import annotations

import datetime
import http.client
import json
import ssl
from pathlib import Path

import urllib3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.server import Server


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def test_https_listener(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    srv = Server(tmp_path / "data", dev=True, extra=["--tls-cert", str(cert), "--tls-key", str(key)])
    srv.endpoint = srv.endpoint.replace("http://", "https://")
    srv.start()
    try:
        urllib3.disable_warnings()
        ident = srv.client("sts", verify=False).get_caller_identity()
        assert ident["Account"] == "123456789012"
        # The audit records the session each client negotiated (CloudTrail's tlsDetails).
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=ctx, timeout=10)
        conn.request(
            "POST", "/", b"{}", {"X-Amz-Target": "TrentService.ListKeys"}
        )  # unsigned: refused, recorded
        assert conn.getresponse().status in (400, 403)
        cipher12 = conn.sock.cipher()[0]  # type: ignore[union-attr]
        conn.close()
        rows = srv.sql(
            "SELECT event_name, record FROM audit_events WHERE event_name IN ('GetCallerIdentity', 'ListKeys')"
        )
        tls = {name: json.loads(rec)["tlsDetails"] for name, rec in rows}
        assert tls["GetCallerIdentity"]["tlsVersion"] == "TLSv1.3"
        assert tls["GetCallerIdentity"]["cipherSuite"].startswith("TLS_")
        assert tls["ListKeys"] == {
            "tlsVersion": "TLSv1.2",
            "cipherSuite": cipher12,
            "clientProvidedHostHeader": f"127.0.0.1:{srv.port}",
        }
    finally:
        srv.stop()
