"""Tier choice: Intelligent-Tiering and the Advanced-to-Standard downgrade (AWS's documented rules)."""

from __future__ import annotations

import pytest

from fleetward.protocol.errors import ValidationException
from fleetward.services.ssm.parameters import choose_tier


@pytest.mark.parametrize(
    ("size", "policies", "existing", "standard_full", "tier"),
    [
        (10, False, None, False, "Standard"),
        (4096, False, None, False, "Standard"),
        (4097, False, None, False, "Advanced"),
        (10, True, None, False, "Advanced"),
        (10, False, "Advanced", False, "Advanced"),
        (10, False, "Standard", False, "Standard"),
        # No room for another standard parameter: a new one is Advanced ...
        (10, False, None, True, "Advanced"),
        # ... an existing standard one stays where it is.
        (10, False, "Standard", True, "Standard"),
    ],
)
def test_intelligent_tiering(
    size: int, policies: bool, existing: str | None, standard_full: bool, tier: str
) -> None:
    assert choose_tier("Intelligent-Tiering", size, policies, existing, standard_full) == tier


def test_explicit_tiers() -> None:
    assert choose_tier("Standard", 10, False, None, True) == "Standard"  # the limit check refuses it later
    assert choose_tier("Advanced", 10, False, "Standard") == "Advanced"
    with pytest.raises(ValidationException, match="can't downgrade"):
        choose_tier("Standard", 10, False, "Advanced")
