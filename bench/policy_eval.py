"""Microseconds per evaluate() of one request against 10 realistic policies.

Run: .venv/bin/python bench/policy_eval.py   (target: well under 50 us)
"""

from __future__ import annotations

import timeit
from typing import Any

from fleetward.iam.context import RequestContext
from fleetward.iam.evaluate import evaluate
from fleetward.iam.policy import CompiledPolicy, PolicyKind, compile_policy

ACCOUNT = "123456789012"
P = f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter"


def _policies() -> list[CompiledPolicy]:
    docs: list[dict[str, Any]] = [
        {  # read own team's parameters
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "TeamRead",
                    "Effect": "Allow",
                    "Action": ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"],
                    "Resource": f"{P}/${{aws:PrincipalTag/team}}/*",
                },
                {
                    "Sid": "Describe",
                    "Effect": "Allow",
                    "Action": "ssm:Describe*",
                    "Resource": "*",
                },
            ],
        },
        {  # deny outside the corporate network
            "Version": "2012-10-17",
            "Statement": {
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {
                    "NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]},
                    "Bool": {"aws:ViaAWSService": "false"},
                },
            },
        },
        {  # KMS via SSM
            "Version": "2012-10-17",
            "Statement": {
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"],
                "Resource": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/*",
                "Condition": {"StringEquals": {"kms:ViaService": "ssm.us-east-1.amazonaws.com"}},
            },
        },
        {  # write with overwrite protection
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "ssm:PutParameter",
                    "Resource": f"{P}/app/*",
                },
                {
                    "Effect": "Deny",
                    "Action": "ssm:PutParameter",
                    "Resource": f"{P}/app/prod/*",
                    "Condition": {"StringEquals": {"ssm:Overwrite": "true"}},
                },
            ],
        },
        {  # run commands on tagged instances
            "Version": "2012-10-17",
            "Statement": {
                "Effect": "Allow",
                "Action": ["ssm:SendCommand", "ssm:StartSession"],
                "Resource": f"arn:aws:ec2:*:{ACCOUNT}:instance/*",
                "Condition": {"StringLike": {"ssm:resourceTag/env": ["dev*", "staging"]}},
            },
        },
        {  # MFA for deletes
            "Version": "2012-10-17",
            "Statement": {
                "Effect": "Deny",
                "Action": ["ssm:Delete*", "kms:ScheduleKeyDeletion"],
                "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
            },
        },
        {  # logs
            "Version": "2012-10-17",
            "Statement": {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:Get*"],
                "Resource": f"arn:aws:logs:*:{ACCOUNT}:log-group:/aws/ssm/*",
            },
        },
        {  # time-boxed access
            "Version": "2012-10-17",
            "Statement": {
                "Effect": "Allow",
                "Action": "ssm:GetParameter*",
                "Resource": f"{P}/shared/*",
                "Condition": {
                    "DateLessThan": {"aws:CurrentTime": "2099-01-01T00:00:00Z"},
                    "ForAllValues:StringEquals": {"aws:TagKeys": ["team", "env"]},
                },
            },
        },
        {  # no public sharing
            "Version": "2012-10-17",
            "Statement": {
                "Effect": "Deny",
                "Action": "ssm:ModifyDocumentPermission",
                "NotResource": f"arn:aws:ssm:*:{ACCOUNT}:document/internal-*",
            },
        },
        {  # iam self-service
            "Version": "2012-10-17",
            "Statement": {
                "Effect": "Allow",
                "Action": ["iam:*AccessKey*", "iam:GetUser", "iam:ChangePassword"],
                "Resource": f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}",
            },
        },
    ]
    return [compile_policy(d, kind=PolicyKind.IDENTITY, name=f"policy{i}") for i, d in enumerate(docs)]


def main() -> None:
    policies = _policies()
    ctx = RequestContext(
        action="ssm:GetParameter",
        resource=f"{P}/payments/db/password",
        principal_arns=(f"arn:aws:iam::{ACCOUNT}:user/alice",),
        principal_account=ACCOUNT,
        keys={
            "aws:username": "alice",
            "aws:userid": "AIDAEXAMPLE",
            "aws:principaltag/team": "payments",
            "aws:sourceip": "10.1.2.3",
            "aws:viaawsservice": "false",
            "aws:securetransport": "true",
            "aws:multifactorauthpresent": "true",
            "aws:currenttime": "2026-05-09T07:35:25Z",
        },
    )
    decision = evaluate(ctx, identity=policies)
    if not decision.allowed:
        raise SystemExit(f"unexpected decision: {decision}")
    n = 20_000
    best = min(timeit.repeat(lambda: evaluate(ctx, identity=policies), number=n, repeat=5))
    print(f"evaluate(): {best / n * 1e6:.2f} us per request against {len(policies)} policies")
    print(f"decision: {decision.kind} by {decision.statement}")


if __name__ == "__main__":
    main()
