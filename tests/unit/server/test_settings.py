"""Settings: precedence of file, environment and flags; unsafe combinations refused."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from fleetward.cli.server import export_settings
from fleetward.server.settings import OPTION_HELP, Settings, load_settings


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
        ({"host": "127.example.com"}, "without TLS"),  # a name, not a loopback address
        ({"host": "::ffff:7f00:1"}, "without TLS"),
        ({"tls_cert": "c"}, "both --tls-cert and --tls-key"),
        ({"tls_key": "k"}, "both --tls-cert and --tls-key"),
    ],
)
def test_unsafe_settings_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings(**kwargs).check()  # type: ignore[arg-type]


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.53", "::1", "localhost"])
def test_loopback_hosts_need_no_tls(host: str) -> None:
    Settings(host=host).check()


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
        env={**os.environ, "COLUMNS": "1000"},  # one line per option
    )
    assert "--config" in out.stdout
    assert "FLEETWARD_<OPTION>" in out.stdout
    for f in fields(Settings):
        flag = f.name.replace("_", "-")
        flag = f"--no-{flag}" if f.default is True else f"--{flag}"
        assert flag in out.stdout, f.name
        assert OPTION_HELP[f.name] in out.stdout, f.name


def test_settings_reach_the_app_factory_whole(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``create_app`` (uvicorn's factory, in each worker) rebuilds the settings
    from FLEETWARD_* alone: a value from --config or a flag must survive."""
    for name in [f"FLEETWARD_{f.name.upper()}" for f in fields(Settings)] + ["FLEETWARD_CONFIG"]:
        # set, then remove: monkeypatch then restores the variable's absence
        # after export_settings wrote it (a leaked FLEETWARD_DEV would put
        # every server this process starts later in dev mode)
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    cfg = tmp_path / "fw.toml"
    cfg.write_text('audit_retention_days = 7\ndurability = "full"\n')
    settings = load_settings(str(cfg), data_dir=str(tmp_path), port=9001, dev=True, audit=False)
    export_settings(settings)
    assert load_settings() == settings
