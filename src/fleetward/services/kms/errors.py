"""KMS errors, named exactly as AWS's codes.

Exception tree (all :class:`~fleetward.protocol.errors.AWSError`)::

    NotFoundException                 no such key, alias or policy
    DisabledException                 the key is disabled
    KMSInvalidStateException          the key's state forbids the operation
    AlreadyExistsException            the alias exists
    InvalidAliasNameException         bad alias name
    NotAuthorizedException            the reserved alias/aws/ prefix (AWS sends no message)
    IncorrectKeyException             Decrypt KeyId does not match the ciphertext
    InvalidCiphertextException        tampered ciphertext or wrong encryption context
    MalformedPolicyDocumentException  bad key policy, or one that would lock the caller out
    UnsupportedOperationException     not possible on this key (AWS managed, key spec)
    TagException                      reserved or invalid tags
    LimitExceededException            too many tags, too many on-demand rotations
    InvalidKeyUsageException          an algorithm the key does not support
    DryRunOperationException          DryRun: the request would have succeeded
    InvalidArnException               a grant principal that names no AWS principal
    InvalidGrantTokenException        a grant token fleetward did not issue
    KMSInvalidSignatureException      Verify: the signature is not valid
    KMSInvalidMacException            VerifyMac: the MAC is not valid
    KMSInternalException              the root of trust could not open a backing key
"""

from __future__ import annotations

from fleetward.protocol.errors import AWSError

__all__ = [
    "AlreadyExistsException",
    "DisabledException",
    "DryRunOperationException",
    "IncorrectKeyException",
    "InvalidAliasNameException",
    "InvalidArnException",
    "InvalidCiphertextException",
    "InvalidGrantTokenException",
    "InvalidKeyUsageException",
    "InvalidMarkerException",
    "KMSInternalException",
    "KMSInvalidMacException",
    "KMSInvalidSignatureException",
    "KMSInvalidStateException",
    "LimitExceededException",
    "MalformedPolicyDocumentException",
    "NotAuthorizedException",
    "NotFoundException",
    "TagException",
    "UnsupportedOperationException",
]


class NotFoundException(AWSError):
    pass


class DisabledException(AWSError):
    pass


class KMSInvalidStateException(AWSError):
    pass


class AlreadyExistsException(AWSError):
    pass


class InvalidAliasNameException(AWSError):
    pass


class NotAuthorizedException(AWSError):
    default_message = ""


class IncorrectKeyException(AWSError):
    default_message = "The key ID in the request does not identify a CMK that can perform this operation."


class InvalidCiphertextException(AWSError):
    default_message = ""


class MalformedPolicyDocumentException(AWSError):
    pass


class UnsupportedOperationException(AWSError):
    pass


class TagException(AWSError):
    pass


class LimitExceededException(AWSError):
    pass


class InvalidMarkerException(AWSError):
    default_message = "Invalid marker."


class KMSInternalException(AWSError):
    status = 500
    sender_fault = False
    default_message = "An internal error occurred."


class InvalidKeyUsageException(AWSError):
    pass


class DryRunOperationException(AWSError):
    default_message = "The request would have succeeded, but the DryRun option is set."


class InvalidArnException(AWSError):
    pass


class InvalidGrantTokenException(AWSError):
    default_message = "The grant token is not valid."


class KMSInvalidSignatureException(AWSError):
    default_message = "The signature is not valid for this message, key and signing algorithm."


class KMSInvalidMacException(AWSError):
    default_message = "The MAC is not valid for this message, key and MAC algorithm."
