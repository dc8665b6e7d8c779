"""Settings: precedence of file, environment and flags; unsafe combinations refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fleetward.server.settings import Settings, load_settings


def test_precedence_file_env_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "fw.toml"
    cfg.write_text('[server]\nport = 9000\nregion = "eu-west-1"\ndurability = "full"\n')
    monkeypatch.setenv("FLEETWARD_REGION", "eu-central-1")
    s = load_settings(str(cfg), durability=None, port=9100)
    assert s.port == 9100  # flag beats file
    assert s.region == "eu-central-1"  # environment beats file
    assert s.durability == "full"  # file beats default


def test_unknown_setting_in_file_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "fw.toml"
    cfg.write_text("bogus = 1\n")
    with pytest.raises(ValueError, match="unknown setting"):
        load_settings(str(cfg))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"host": "0.0.0.0"}, "without TLS"),
        ({"durability": "sometimes"}, "durability"),
        ({"dev": True, "host": "10.0.0.1", "tls_cert": "c", "tls_key": "k"}, "loopback only"),
        ({"audit": False}, "audit trail"),
    ],
)
def test_unsafe_settings_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings(**kwargs).check()  # type: ignore[arg-type]


def test_off_loopback_without_tls_exits_with_a_clear_message(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "fleetward.cli.main",
            "server",
            "--host",
            "0.0.0.0",
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "refusing to listen on 0.0.0.0 without TLS" in out.stderr


def test_server_help_documents_every_option() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "fleetward.cli.main", "server", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    for flag in (
        "--data-dir",
        "--host",
        "--port",
        "--database-url",
        "--durability",
        "--tls-cert",
        "--tls-key",
        "--workers",
        "--dev",
        "--test-mode",
        "--region",
        "--config",
    ):
        assert flag in out.stdout
