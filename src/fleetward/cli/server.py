"""``fleetward server``: run the API server."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import fields
from typing import Any

from fleetward.server.logs import configure_logging, uvicorn_log_config
from fleetward.server.settings import OPTION_HELP, Settings, load_settings

__all__ = ["export_settings", "register"]


def register(sub: Any) -> None:
    p = sub.add_parser("server", help="run the API server", description="Run the fleetward API server.")
    p.add_argument("--config", help="TOML settings file (also FLEETWARD_CONFIG)")
    p.add_argument("--data-dir", help=OPTION_HELP["data_dir"])
    p.add_argument("--host", help=OPTION_HELP["host"])
    p.add_argument("--port", type=int, help=OPTION_HELP["port"])
    p.add_argument("--database-url", help=OPTION_HELP["database_url"])
    p.add_argument("--durability", choices=["normal", "full"], help=OPTION_HELP["durability"])
    p.add_argument("--region", help=OPTION_HELP["region"])
    p.add_argument("--tls-cert", help=OPTION_HELP["tls_cert"])
    p.add_argument("--tls-key", help=OPTION_HELP["tls_key"])
    p.add_argument("--workers", type=int, help=OPTION_HELP["workers"])
    p.add_argument("--audit-retention-days", type=int, help=OPTION_HELP["audit_retention_days"])
    p.add_argument("--log-level", help=OPTION_HELP["log_level"])
    p.add_argument("--dev", action="store_true", default=None, help=OPTION_HELP["dev"])
    p.add_argument("--test-mode", action="store_true", default=None, help=OPTION_HELP["test_mode"])
    p.add_argument("--no-audit", dest="audit", action="store_false", default=None, help=OPTION_HELP["audit"])
    p.set_defaults(func=_run_server)
    p.epilog = (
        "Every option can also be set as FLEETWARD_<OPTION> (e.g. FLEETWARD_PORT=8470) or in the TOML file."
    )


def _run_server(args: argparse.Namespace) -> int:
    import uvicorn

    from fleetward.server.tls import TlsSessionProtocol

    settings = load_settings(
        args.config,
        data_dir=args.data_dir,
        host=args.host,
        port=args.port,
        database_url=args.database_url,
        durability=args.durability,
        region=args.region,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        workers=args.workers,
        audit_retention_days=args.audit_retention_days,
        log_level=args.log_level,
        dev=args.dev,
        test_mode=args.test_mode,
        audit=args.audit,
    )
    try:
        settings.check()
    except ValueError as e:
        print(f"fleetward: {e}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    scheme = "https" if settings.tls_cert else "http"
    endpoint = f"{scheme}://{settings.host}:{settings.port}"
    if settings.dev:
        print(
            "!" * 72 + "\n!! DEV MODE: any access key is the administrator of 123456789012.\n"
            "!! State is throwaway; POST /_fleetward/reset wipes it. Never use in production.\n" + "!" * 72
        )
    print(f"fleetward listening on {endpoint}")
    print(f"  aws --endpoint-url {endpoint} --region {settings.region} sts get-caller-identity")
    if not settings.dev and (settings.data_dir / "credentials").is_file():
        from fleetward.cli.init import credentials_hint

        print(f"  {credentials_hint(settings.data_dir)}")
    # Before serving: to a pipe or a file (systemd, docker) stdout is block-buffered,
    # and the banner and endpoint would only show when the server exits.
    sys.stdout.flush()
    export_settings(settings)
    uvicorn.run(
        "fleetward.server.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers if settings.workers > 1 else None,
        ssl_certfile=settings.tls_cert or None,
        ssl_keyfile=settings.tls_key or None,
        http=TlsSessionProtocol if settings.tls_cert else "auto",  # the audit's tlsDetails
        access_log=False,
        log_level=settings.log_level,
        log_config=uvicorn_log_config(settings.log_level),
        timeout_graceful_shutdown=10,
    )
    return 0


def export_settings(settings: Settings) -> None:
    """Hand every setting to the app factory (``create_app``, also in worker
    processes) through ``FLEETWARD_*`` variables: it reads no flags and no
    ``--config`` file, so the merged values must travel whole."""
    for f in fields(Settings):
        os.environ[f"FLEETWARD_{f.name.upper()}"] = str(getattr(settings, f.name))
