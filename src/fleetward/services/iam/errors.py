"""IAM's error codes (Query protocol), named exactly as AWS names them."""

from __future__ import annotations

from fleetward.protocol.errors import AWSError

__all__ = [
    "DeleteConflict",
    "EntityAlreadyExists",
    "InvalidInput",
    "LimitExceeded",
    "MalformedPolicyDocument",
    "NoSuchEntity",
    "PackedPolicyTooLarge",
    "PolicyEvaluation",
    "StsValidationError",
]


class NoSuchEntity(AWSError):
    status = 404


class EntityAlreadyExists(AWSError):
    status = 409


class DeleteConflict(AWSError):
    status = 409


class LimitExceeded(AWSError):
    status = 409


class MalformedPolicyDocument(AWSError):
    status = 400


class InvalidInput(AWSError):
    status = 400


class PackedPolicyTooLarge(AWSError):
    """STS: the packed session policies and tags exceed their limit."""

    status = 400


class PolicyEvaluation(AWSError):
    code = "PolicyEvaluation"
    status = 500
    sender_fault = False


class StsValidationError(AWSError):
    """STS's ``ValidationError`` (bad DurationSeconds and the like)."""

    code = "ValidationError"
    status = 400
