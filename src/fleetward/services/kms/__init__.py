"""kms service."""

MODULES: tuple[str, ...] = ()
