"""ssm service."""

MODULES: tuple[str, ...] = ()
