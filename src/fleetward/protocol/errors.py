"""AWS error classes shared by every service.

Exception tree::

    AWSError                      an error the caller sees, with AWS's code
    ├── ValidationException       input failed the model's constraints
    ├── SerializationException    the body could not be read as the protocol demands
    ├── UnknownOperationException no such X-Amz-Target / Action
    ├── InvalidAction             (Query) no such Action
    ├── AccessDeniedException     authorization refused (AccessDenied on Query services)
    ├── ...authentication errors (see fleetward.server.pipeline)
    └── InternalFailure           anything unexpected; never carries a traceback

Services define their own subclasses named exactly as AWS's codes
(``class ParameterNotFound(AWSError)``); the class name is the code unless
``code`` is set explicitly.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AWSError",
    "AccessDeniedException",
    "InternalFailure",
    "InvalidAction",
    "SerializationException",
    "ServiceUnavailable",
    "ThrottlingException",
    "UnknownOperationException",
    "ValidationException",
]


class AWSError(Exception):
    """An error returned to the caller with AWS's code, status and message.

    ``fields`` are extra members serialized beside ``message`` (JSON) when the
    error shape declares them.
    """

    code: ClassVar[str] = "AWSError"
    status: ClassVar[int] = 400
    sender_fault: ClassVar[bool] = True
    default_message: ClassVar[str] = ""
    # Query services sometimes use a different code or status for the same condition.
    query_code: ClassVar[str | None] = None
    query_status: ClassVar[int | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:
            cls.code = cls.__name__

    def __init__(self, message: str | None = None, **fields: Any) -> None:
        self.message = message if message is not None else self.default_message
        self.fields = fields
        super().__init__(self.message)

    def code_for(self, protocol: str) -> str:
        """The error code as this protocol spells it."""
        if protocol == "query" and self.query_code:
            return self.query_code
        return self.code

    def status_for(self, protocol: str) -> int:
        if protocol == "query" and self.query_status:
            return self.query_status
        return self.status


class ValidationException(AWSError):
    query_code = "ValidationError"


class SerializationException(AWSError):
    pass


class UnknownOperationException(AWSError):
    default_message = ""


class InvalidAction(AWSError):
    pass


class AccessDeniedException(AWSError):
    query_code = "AccessDenied"
    status = 400
    query_status = 403


class ThrottlingException(AWSError):
    query_code = "Throttling"


class InternalFailure(AWSError):
    status = 500
    sender_fault = False
    default_message = "An internal error occurred. Try again later."
    query_code = "InternalFailure"


class ServiceUnavailable(AWSError):
    status = 503
    sender_fault = False
    query_code = "ServiceUnavailable"


# Authentication failures (SigV4 and credentials), as AWS names them per protocol.


class MissingAuthenticationTokenException(AWSError):
    status = 403
    query_code = "MissingAuthenticationToken"
    default_message = "Missing Authentication Token"


class IncompleteSignatureException(AWSError):
    query_code = "IncompleteSignature"


class UnrecognizedClientException(AWSError):
    query_code = "InvalidClientTokenId"
    status = 400
    default_message = "The security token included in the request is invalid."


class ExpiredTokenException(AWSError):
    query_code = "ExpiredToken"
    default_message = "The security token included in the request is expired"


class InvalidSignatureException(AWSError):
    query_code = "SignatureDoesNotMatch"
    status = 403
    default_message = (
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    )


__all__ += [
    "ExpiredTokenException",
    "IncompleteSignatureException",
    "InvalidSignatureException",
    "MissingAuthenticationTokenException",
    "UnrecognizedClientException",
]
