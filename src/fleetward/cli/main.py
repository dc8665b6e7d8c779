"""The ``fleetward`` command: one sub-command module each (``register(sub)``)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["COMMAND_MODULES", "main"]

# Each module defines ``register(subparsers)``, adding its parsers with
# ``set_defaults(func=handler)``; handlers return the exit status.
COMMAND_MODULES = ("server", "trail", "init", "keys")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="fleetward", description="Self-hosted AWS-compatible Systems Manager."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"fleetward.cli.{name}").register(sub)
    args = parser.parse_args(argv)
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
