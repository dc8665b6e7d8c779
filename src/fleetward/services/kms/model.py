"""KMS keys as values: the key record, its state machine and its wire metadata."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from fleetward.crypto.kms_keys import ENCRYPTION_ALGORITHMS, MAC_ALGORITHMS, SIGNING_ALGORITHMS
from fleetward.services.kms.errors import (
    DisabledException,
    InvalidKeyUsageException,
    KMSInvalidStateException,
)

__all__ = [
    "DEFAULT_ROTATION_DAYS",
    "KeyEvent",
    "KeyManager",
    "KeyRecord",
    "KeyState",
    "require_usable",
    "require_usage",
    "transition",
]

DEFAULT_ROTATION_DAYS = 365
SYMMETRIC_DEFAULT = "SYMMETRIC_DEFAULT"
ENCRYPT_DECRYPT = "ENCRYPT_DECRYPT"
SIGN_VERIFY = "SIGN_VERIFY"
GENERATE_VERIFY_MAC = "GENERATE_VERIFY_MAC"
DAY = 86400.0


class KeyState(StrEnum):
    """The states fleetward keys take (AWS's ``KeyState`` values)."""

    ENABLED = "Enabled"
    DISABLED = "Disabled"
    PENDING_DELETION = "PendingDeletion"


class KeyManager(StrEnum):
    CUSTOMER = "CUSTOMER"
    AWS = "AWS"


class KeyEvent(StrEnum):
    """What changes a key's state: the operation that does it."""

    ENABLE = "EnableKey"
    DISABLE = "DisableKey"
    SCHEDULE_DELETION = "ScheduleKeyDeletion"
    CANCEL_DELETION = "CancelKeyDeletion"


# The state each event leads to from each state it is allowed in; destruction
# (PendingDeletion -> gone) is the deletion worker's. Enabling an enabled key and
# disabling a disabled one succeed and change nothing, as in AWS; a key pending
# deletion takes nothing but CancelKeyDeletion, which leaves it Disabled.
_TRANSITIONS: dict[tuple[KeyState, KeyEvent], KeyState] = {
    (KeyState.ENABLED, KeyEvent.ENABLE): KeyState.ENABLED,
    (KeyState.DISABLED, KeyEvent.ENABLE): KeyState.ENABLED,
    (KeyState.ENABLED, KeyEvent.DISABLE): KeyState.DISABLED,
    (KeyState.DISABLED, KeyEvent.DISABLE): KeyState.DISABLED,
    (KeyState.ENABLED, KeyEvent.SCHEDULE_DELETION): KeyState.PENDING_DELETION,
    (KeyState.DISABLED, KeyEvent.SCHEDULE_DELETION): KeyState.PENDING_DELETION,
    (KeyState.PENDING_DELETION, KeyEvent.CANCEL_DELETION): KeyState.DISABLED,
}


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """One KMS key as stored (``kms_keys`` row)."""

    key_id: str
    account: str
    region: str
    arn: str
    description: str
    key_usage: str
    key_spec: str
    key_manager: KeyManager
    state: KeyState
    created: float
    deletion_date: float | None
    pending_window: int | None
    policy: str
    policy_version: int
    rotation_enabled: bool
    rotation_period: int | None
    next_rotation: float | None
    current_version: int

    @classmethod
    def from_row(cls, row: Any) -> KeyRecord:
        return cls(
            key_id=row["key_id"],
            account=row["account"],
            region=row["region"],
            arn=row["arn"],
            description=row["description"],
            key_usage=row["key_usage"],
            key_spec=row["key_spec"],
            key_manager=KeyManager(row["key_manager"]),
            state=KeyState(row["state"]),
            created=float(row["created"]),
            deletion_date=row["deletion_date"],
            pending_window=row["pending_window"],
            policy=row["policy"],
            policy_version=int(row["policy_version"]),
            rotation_enabled=bool(row["rotation_enabled"]),
            rotation_period=row["rotation_period"],
            next_rotation=row["next_rotation"],
            current_version=int(row["current_version"]),
        )

    def after(self, event: KeyEvent) -> KeyRecord:
        """This key in the state ``event`` leads to (see :func:`transition`)."""
        return replace(self, state=transition(self, event))

    @property
    def symmetric(self) -> bool:
        """A SYMMETRIC_DEFAULT key (ciphertext blobs, data keys, rotation)."""
        return self.key_spec == SYMMETRIC_DEFAULT

    def algorithms(self) -> dict[str, list[str]]:
        """``EncryptionAlgorithms`` / ``SigningAlgorithms`` / ``MacAlgorithms`` of the key, by usage."""
        if self.symmetric:
            return {"EncryptionAlgorithms": [SYMMETRIC_DEFAULT]}
        if self.key_usage == ENCRYPT_DECRYPT:
            return {"EncryptionAlgorithms": list(ENCRYPTION_ALGORITHMS[self.key_spec])}
        if self.key_usage == SIGN_VERIFY:
            return {"SigningAlgorithms": list(SIGNING_ALGORITHMS[self.key_spec])}
        return {"MacAlgorithms": [MAC_ALGORITHMS[self.key_spec]]}

    def key_material_id(self, version: int) -> str:
        """The ``KeyMaterialId`` of backing-key ``version``: 64 hex digits, stable,
        derived from the key ARN and version (never from the material itself)."""
        return hashlib.sha256(f"{self.arn}#{version}".encode()).hexdigest()

    def metadata(self) -> dict[str, Any]:
        """``KeyMetadata`` as AWS returns it."""
        meta: dict[str, Any] = {
            "AWSAccountId": self.account,
            "KeyId": self.key_id,
            "Arn": self.arn,
            "CreationDate": _dt(self.created),
            "Enabled": self.state is KeyState.ENABLED,
            "Description": self.description,
            "KeyUsage": self.key_usage,
            "KeyState": str(self.state),
            "Origin": "AWS_KMS",
            "KeyManager": str(self.key_manager),
            "CustomerMasterKeySpec": self.key_spec,
            "KeySpec": self.key_spec,
            "MultiRegion": False,
            **self.algorithms(),
        }
        if self.symmetric:
            # Only symmetric encryption keys have several (rotated) key materials.
            meta["CurrentKeyMaterialId"] = self.key_material_id(self.current_version)
        if self.state is KeyState.PENDING_DELETION and self.deletion_date is not None:
            meta["DeletionDate"] = _dt(self.deletion_date)
            if self.pending_window is not None:
                meta["PendingDeletionWindowInDays"] = self.pending_window
        return meta


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def transition(key: KeyRecord, event: KeyEvent) -> KeyState:
    """The state ``event`` moves ``key`` to.

    Raises ``KMSInvalidStateException`` with AWS's wording for an event the
    key's state does not take: "<arn> is pending deletion." for anything but
    CancelKeyDeletion on a key pending deletion, "<arn> is not pending
    deletion." for CancelKeyDeletion on any other key.
    """
    target = _TRANSITIONS.get((key.state, event))
    if target is not None:
        return target
    if key.state is KeyState.PENDING_DELETION:
        raise KMSInvalidStateException(f"{key.arn} is pending deletion.")
    raise KMSInvalidStateException(f"{key.arn} is not pending deletion.")


def require_usable(key: KeyRecord) -> None:
    """Raise unless ``key`` can be used for cryptographic operations.

    ``DisabledException`` ("<arn> is disabled.") or ``KMSInvalidStateException``
    ("<arn> is pending deletion.").
    """
    if key.state is KeyState.ENABLED:
        return
    if key.state is KeyState.DISABLED:
        raise DisabledException(f"{key.arn} is disabled.")
    raise KMSInvalidStateException(f"{key.arn} is pending deletion.")


def require_usage(key: KeyRecord, usage: str, operation: str, *, symmetric: bool | None = None) -> None:
    """Raise ``InvalidKeyUsageException`` unless ``key`` has ``usage`` (and, when given, is
    or is not a SYMMETRIC_DEFAULT key) as ``operation`` needs."""
    if key.key_usage != usage or (symmetric is not None and key.symmetric is not symmetric):
        raise InvalidKeyUsageException(
            f"{key.arn} key usage is {key.key_usage} ({key.key_spec}), which is not valid for {operation}."
        )
