"""The ``fleetward-agent`` command (the node agent; more to come)."""

from __future__ import annotations

import sys
from importlib.metadata import version

__all__ = ["main"]


def main() -> int:
    print(f"fleetward-agent {version('fleetward')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
