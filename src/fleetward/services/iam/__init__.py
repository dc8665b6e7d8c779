"""iam service."""

MODULES: tuple[str, ...] = ()
