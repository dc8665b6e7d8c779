"""cloudtrail service."""

MODULES: tuple[str, ...] = ()
