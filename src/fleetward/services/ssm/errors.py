"""Parameter Store errors, named exactly as AWS's codes.

Exception tree (all :class:`~fleetward.protocol.errors.AWSError`)::

    ParameterNotFound                     no such parameter (or label selector)
    ParameterVersionNotFound              no such version of an existing parameter
    ParameterAlreadyExists                PutParameter without Overwrite
    ParameterLimitExceeded                too many parameters
    ParameterMaxVersionLimitExceeded      100 versions and the oldest is labelled
    ParameterPatternMismatchException     the value does not match AllowedPattern
    InvalidAllowedPatternException        AllowedPattern is not a valid RE2 pattern
    HierarchyLevelLimitExceededException  more than 15 levels
    HierarchyTypeMismatchException        Overwrite with another Type
    UnsupportedParameterType              a type the data type does not allow
    InvalidKeyId                          a KMS key that cannot be used
    ParameterVersionLabelLimitExceeded    more than 10 labels on a version
    InvalidPolicyTypeException / InvalidPolicyAttributeException /
    PoliciesLimitExceededException / IncompatiblePolicyException   parameter policies
    InvalidFilterKey / InvalidFilterOption / InvalidFilterValue / InvalidNextToken   queries
    InvalidResourceId / InvalidResourceType / TooManyTagsError                       tagging
    ServiceSettingNotFound                a setting id the service does not have
"""

from __future__ import annotations

from fleetward.protocol.errors import AWSError

__all__ = [
    "HierarchyLevelLimitExceededException",
    "HierarchyTypeMismatchException",
    "IncompatiblePolicyException",
    "InternalServerError",
    "InvalidAllowedPatternException",
    "InvalidFilterKey",
    "InvalidFilterOption",
    "InvalidFilterValue",
    "InvalidKeyId",
    "InvalidNextToken",
    "InvalidPolicyAttributeException",
    "InvalidPolicyTypeException",
    "InvalidResourceId",
    "InvalidResourceType",
    "ParameterAlreadyExists",
    "ParameterLimitExceeded",
    "ParameterMaxVersionLimitExceeded",
    "ParameterNotFound",
    "ParameterPatternMismatchException",
    "ParameterVersionLabelLimitExceeded",
    "ParameterVersionNotFound",
    "PoliciesLimitExceededException",
    "ServiceSettingNotFound",
    "TooManyTagsError",
    "UnsupportedParameterType",
]


class ParameterNotFound(AWSError):
    pass


class ParameterVersionNotFound(AWSError):
    pass


class ParameterAlreadyExists(AWSError):
    default_message = "The parameter already exists. To overwrite this value, set the overwrite option in the request to true."


class ParameterLimitExceeded(AWSError):
    default_message = "You have exceeded the number of parameters for this Amazon Web Services account. Delete one or more parameters and try again."


class ParameterMaxVersionLimitExceeded(AWSError):
    pass


class ParameterPatternMismatchException(AWSError):
    pass


class InvalidAllowedPatternException(AWSError):
    default_message = "The request doesn't meet the regular expression requirement."


class HierarchyLevelLimitExceededException(AWSError):
    default_message = (
        "A hierarchy can have a maximum of 15 levels. For more information, see Requirements and "
        "constraints for parameter names in the Amazon Web Services Systems Manager User Guide."
    )


class HierarchyTypeMismatchException(AWSError):
    default_message = (
        "Parameter Store doesn't support changing a parameter type in a hierarchy. For example, you "
        "can't change a parameter from a String type to a SecureString type. You must create a new, "
        "unique parameter."
    )


class UnsupportedParameterType(AWSError):
    default_message = "The parameter type isn't supported."


class InvalidKeyId(AWSError):
    default_message = "The query key ID isn't valid."


class ParameterVersionLabelLimitExceeded(AWSError):
    default_message = "A parameter version can have maximum 10 labels.Move one or more labels to another version and try again."


class InvalidPolicyTypeException(AWSError):
    pass


class InvalidPolicyAttributeException(AWSError):
    pass


class PoliciesLimitExceededException(AWSError):
    default_message = (
        "You specified more than the maximum number of allowed policies for the parameter. The maximum is 10."
    )


class IncompatiblePolicyException(AWSError):
    default_message = (
        "There is a conflict in the policies specified for this parameter. You can't, for example, "
        "specify two Expiration policies for a parameter. Review your policies, and try again."
    )


class InvalidFilterKey(AWSError):
    pass


class InvalidFilterOption(AWSError):
    pass


class InvalidFilterValue(AWSError):
    pass


class InvalidNextToken(AWSError):
    default_message = "The specified token isn't valid."


class InvalidResourceId(AWSError):
    default_message = "The resource ID is not valid. Verify that you entered the correct ID and try again."


class InvalidResourceType(AWSError):
    default_message = (
        "The resource type is not valid. For example, if you are attempting to tag an EC2 instance, "
        "the instance must be a registered managed node."
    )


class TooManyTagsError(AWSError):
    default_message = "The Targets parameter includes too many tags. Remove one or more tags and try again."


class ServiceSettingNotFound(AWSError):
    # The model's documentation of the error.
    default_message = (
        "The specified service setting wasn't found. Either the service name or the setting hasn't been "
        "provisioned by the Amazon Web Services service team."
    )


class InternalServerError(AWSError):
    status = 500
    sender_fault = False
    default_message = "An error occurred on the server side."
