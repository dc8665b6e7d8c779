"""Key policies through the real policy evaluator: root delegation, direct grants, the managed key."""

from __future__ import annotations

import json

import pytest

from fleetward.iam.context import RequestContext
from fleetward.iam.evaluate import evaluate
from fleetward.iam.policy import PolicyKind, compile_policy
from fleetward.services.kms.errors import MalformedPolicyDocumentException
from fleetward.services.kms.keypolicy import (
    PolicyCache,
    compile_key_policy,
    default_policy,
    managed_ssm_policy,
    would_lock_out,
)

ACCT = "111122223333"
USER = f"arn:aws:iam::{ACCT}:user/alice"
KEY = f"arn:aws:kms:us-east-1:{ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
IAM_DECRYPT = compile_policy(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]}
)


def ctx(action: str = "kms:Decrypt", **keys: str) -> RequestContext:
    base = {"kms:calleraccount": ACCT}
    base.update({k.replace("__", ":"): v for k, v in keys.items()})
    return RequestContext(action, KEY, (USER,), ACCT, base)


def test_default_policy_delegates_to_iam() -> None:
    policy = compile_key_policy(default_policy(ACCT))
    assert json.loads(default_policy(ACCT))["Statement"][0]["Sid"] == "Enable IAM User Permissions"
    assert evaluate(ctx(), identity=[IAM_DECRYPT], resource=policy, resource_policy_required=True).allowed
    assert not evaluate(ctx(), identity=[], resource=policy, resource_policy_required=True).allowed


def test_without_root_statement_iam_allow_has_no_effect() -> None:
    other = compile_key_policy(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCT}:user/bob"},
                        "Action": "kms:*",
                        "Resource": "*",
                    }
                ],
            }
        )
    )
    assert not evaluate(ctx(), identity=[IAM_DECRYPT], resource=other, resource_policy_required=True).allowed
    named = compile_key_policy(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": USER}, "Action": "kms:Decrypt", "Resource": "*"}
                ],
            }
        )
    )
    assert evaluate(ctx(), identity=[], resource=named, resource_policy_required=True).allowed


def test_managed_ssm_policy_needs_via_service_and_account() -> None:
    policy = compile_key_policy(managed_ssm_policy(ACCT, "us-east-1"))
    direct = ctx("kms:Encrypt")
    assert not evaluate(direct, resource=policy, resource_policy_required=True).allowed
    via = ctx("kms:Encrypt", kms__viaservice="ssm.us-east-1.amazonaws.com")
    assert evaluate(via, resource=policy, resource_policy_required=True).allowed
    wrong_region = ctx("kms:Encrypt", kms__viaservice="ssm.eu-west-1.amazonaws.com")
    assert not evaluate(wrong_region, resource=policy, resource_policy_required=True).allowed
    # Users cannot manage it: only Describe/Get/List are delegated to the account.
    assert not evaluate(
        ctx("kms:EnableKeyRotation"),
        identity=[
            compile_policy(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}],
                }
            )
        ],
        resource=policy,
        resource_policy_required=True,
    ).allowed


def test_lockout_check() -> None:
    assert not would_lock_out(compile_key_policy(default_policy(ACCT)), KEY, USER, ACCT)
    only_decrypt = compile_key_policy(
        json.dumps(
            {
                "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": USER}, "Action": "kms:Decrypt", "Resource": "*"}
                ]
            }
        )
    )
    assert would_lock_out(only_decrypt, KEY, USER, ACCT)
    deny = compile_key_policy(
        json.dumps(
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
                        "Action": "kms:*",
                        "Resource": "*",
                    },
                    {
                        "Effect": "Deny",
                        "Principal": {"AWS": USER},
                        "Action": "kms:PutKeyPolicy",
                        "Resource": "*",
                    },
                ]
            }
        )
    )
    assert would_lock_out(deny, KEY, USER, ACCT)


def test_malformed_policy() -> None:
    with pytest.raises(MalformedPolicyDocumentException):
        compile_key_policy("{not json")
    with pytest.raises(MalformedPolicyDocumentException):  # resource policies need a Principal
        compile_key_policy(
            json.dumps({"Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]})
        )


def test_policy_cache_by_version() -> None:
    cache = PolicyCache(2)
    text = default_policy(ACCT)
    a = cache.get("k", 1, text)
    assert cache.get("k", 1, "ignored: cached") is a
    assert cache.get("k", 2, text) is not a
    assert compile_policy(text, kind=PolicyKind.RESOURCE).statements
