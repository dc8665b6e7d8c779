"""AWS-managed policies (``arn:aws:iam::aws:policy/...``), built in.

Their documents are AWS's, trimmed to the services fleetward implements
(SSM, EC2 messages, SSM messages, KMS, IAM, STS, CloudTrail, CloudWatch Logs,
EventBridge, Config, tagging, Support). They are read-only: every account
sees them; they can be attached but not changed or deleted.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

__all__ = ["AWS_ACCOUNT", "MANAGED_CREATED", "ManagedPolicy", "managed_policies", "managed_policy"]

AWS_ACCOUNT = "aws"
MANAGED_CREATED = 1423526400.0  # 2015-02-06, when AWS published its first managed policies


@dataclass(frozen=True, slots=True)
class ManagedPolicy:
    name: str
    path: str
    description: str
    document: str

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::aws:policy{self.path}{self.name}"

    @property
    def policy_id(self) -> str:
        digest = hashlib.sha256(self.name.encode()).hexdigest().upper()
        return "ANPA" + "".join(c for c in digest if c.isalnum())[:17]


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=4)


_DEFINITIONS: tuple[tuple[str, str, str, str], ...] = (
    (
        "AdministratorAccess",
        "/",
        "Provides full access to AWS services and resources.",
        _doc({"Effect": "Allow", "Action": "*", "Resource": "*"}),
    ),
    (
        "ReadOnlyAccess",
        "/",
        "Provides read-only access to AWS services and resources.",
        _doc(
            {
                "Effect": "Allow",
                "Action": [
                    "cloudtrail:Describe*",
                    "cloudtrail:Get*",
                    "cloudtrail:List*",
                    "cloudtrail:LookupEvents",
                    "config:Describe*",
                    "config:Get*",
                    "config:List*",
                    "config:SelectResourceConfig",
                    "ec2messages:Get*",
                    "events:Describe*",
                    "events:List*",
                    "events:Test*",
                    "iam:Generate*",
                    "iam:Get*",
                    "iam:List*",
                    "iam:Simulate*",
                    "kms:Describe*",
                    "kms:Get*",
                    "kms:List*",
                    "logs:Describe*",
                    "logs:FilterLogEvents",
                    "logs:Get*",
                    "logs:ListTagsLogGroup",
                    "logs:StartQuery",
                    "logs:StopQuery",
                    "logs:TestMetricFilter",
                    "resource-groups:Get*",
                    "resource-groups:List*",
                    "resource-groups:Search*",
                    "ssm:Describe*",
                    "ssm:Get*",
                    "ssm:List*",
                    "sts:GetCallerIdentity",
                    "support:Describe*",
                    "tag:Get*",
                ],
                "Resource": "*",
            }
        ),
    ),
    (
        "AmazonSSMFullAccess",
        "/",
        "Provides full access to Amazon SSM.",
        _doc(
            {
                "Effect": "Allow",
                "Action": [
                    "cloudwatch:PutMetricData",
                    "ds:CreateComputer",
                    "ds:DescribeDirectories",
                    "ec2:DescribeInstanceStatus",
                    "logs:*",
                    "ssm:*",
                    "ec2messages:*",
                ],
                "Resource": "*",
            },
            {
                "Effect": "Allow",
                "Action": "iam:CreateServiceLinkedRole",
                "Resource": "arn:aws:iam::*:role/aws-service-role/ssm.amazonaws.com/AWSServiceRoleForAmazonSSM*",
                "Condition": {"StringLike": {"iam:AWSServiceName": "ssm.amazonaws.com"}},
            },
            {
                "Effect": "Allow",
                "Action": ["iam:DeleteServiceLinkedRole", "iam:GetServiceLinkedRoleDeletionStatus"],
                "Resource": "arn:aws:iam::*:role/aws-service-role/ssm.amazonaws.com/AWSServiceRoleForAmazonSSM*",
            },
            {
                "Effect": "Allow",
                "Action": [
                    "ssmmessages:CreateControlChannel",
                    "ssmmessages:CreateDataChannel",
                    "ssmmessages:OpenControlChannel",
                    "ssmmessages:OpenDataChannel",
                ],
                "Resource": "*",
            },
        ),
    ),
    (
        "AmazonSSMReadOnlyAccess",
        "/",
        "Provides read only access to Amazon SSM.",
        _doc({"Effect": "Allow", "Action": ["ssm:Describe*", "ssm:Get*", "ssm:List*"], "Resource": "*"}),
    ),
    (
        "AmazonSSMManagedInstanceCore",
        "/",
        "The policy for Amazon EC2 Role to enable AWS Systems Manager service core functionality.",
        _doc(
            {
                "Effect": "Allow",
                "Action": [
                    "ssm:DescribeAssociation",
                    "ssm:GetDeployablePatchSnapshotForInstance",
                    "ssm:GetDocument",
                    "ssm:DescribeDocument",
                    "ssm:GetManifest",
                    "ssm:GetParameter",
                    "ssm:GetParameters",
                    "ssm:ListAssociations",
                    "ssm:ListInstanceAssociations",
                    "ssm:PutInventory",
                    "ssm:PutComplianceItems",
                    "ssm:PutConfigurePackageResult",
                    "ssm:UpdateAssociationStatus",
                    "ssm:UpdateInstanceAssociationStatus",
                    "ssm:UpdateInstanceInformation",
                ],
                "Resource": "*",
            },
            {
                "Effect": "Allow",
                "Action": [
                    "ssmmessages:CreateControlChannel",
                    "ssmmessages:CreateDataChannel",
                    "ssmmessages:OpenControlChannel",
                    "ssmmessages:OpenDataChannel",
                ],
                "Resource": "*",
            },
            {
                "Effect": "Allow",
                "Action": [
                    "ec2messages:AcknowledgeMessage",
                    "ec2messages:DeleteMessage",
                    "ec2messages:FailMessage",
                    "ec2messages:GetEndpoint",
                    "ec2messages:GetMessages",
                    "ec2messages:SendReply",
                ],
                "Resource": "*",
            },
        ),
    ),
    (
        "AmazonSSMAutomationRole",
        "/service-role/",
        "Provides permissions for EC2 Automation service to execute activities defined within Automation documents",
        _doc(
            {
                "Effect": "Allow",
                "Action": ["lambda:InvokeFunction"],
                "Resource": ["arn:aws:lambda:*:*:function:Automation*"],
            },
            {
                "Effect": "Allow",
                "Action": [
                    "ec2:CreateImage",
                    "ec2:CopyImage",
                    "ec2:DeregisterImage",
                    "ec2:DescribeImages",
                    "ec2:DeleteSnapshot",
                    "ec2:StartInstances",
                    "ec2:RunInstances",
                    "ec2:StopInstances",
                    "ec2:TerminateInstances",
                    "ec2:DescribeInstanceStatus",
                    "ec2:CreateTags",
                    "ec2:DeleteTags",
                    "ec2:DescribeTags",
                    "cloudformation:CreateStack",
                    "cloudformation:DescribeStackEvents",
                    "cloudformation:DescribeStacks",
                    "cloudformation:UpdateStack",
                    "cloudformation:DeleteStack",
                ],
                "Resource": ["*"],
            },
            {"Effect": "Allow", "Action": ["ssm:*"], "Resource": ["*"]},
            {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": ["arn:aws:sns:*:*:Automation*"]},
            {
                "Effect": "Allow",
                "Action": ["iam:PassRole"],
                "Resource": "*",
                "Condition": {"StringLikeIfExists": {"iam:PassedToService": "ssm.amazonaws.com"}},
            },
        ),
    ),
)


@cache
def managed_policies() -> dict[str, ManagedPolicy]:
    """The built-in AWS-managed policies by ARN."""
    out: dict[str, ManagedPolicy] = {}
    for name, path, description, document in _DEFINITIONS:
        p = ManagedPolicy(name, path, description, document)
        out[p.arn] = p
    return out


def managed_policy(arn: str) -> ManagedPolicy | None:
    return managed_policies().get(arn)
