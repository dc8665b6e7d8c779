"""AWS STS: caller identity and temporary credentials."""

MODULES = ("identity", "assume", "session_token")
