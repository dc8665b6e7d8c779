"""IAM through the real server: the acceptance flow with the aws CLI, CRUD and IAM's errors."""

from __future__ import annotations

import json
import uuid
from typing import Any

import botocore.exceptions
import pytest

from tests.support.server import Server

# Every test here runs against SQLite and PostgreSQL (tests/conftest.py).
BACKENDS = ("sqlite", "postgresql")


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _err(exc: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> tuple[str, str]:
    e = exc.value.response["Error"]
    return e["Code"], e["Message"]


def _new_user(server: Server, *policies: str) -> tuple[str, tuple[str, str]]:
    iam = server.client("iam")
    name = _name("u")
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    for i, doc in enumerate(policies):
        iam.put_user_policy(UserName=name, PolicyName=f"p{i}", PolicyDocument=doc)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, (key["AccessKeyId"], key["SecretAccessKey"])


def test_acceptance_with_the_aws_cli(server: Server) -> None:
    name = _name("cli")
    out = server.aws("iam", "create-user", "--user-name", name, check=True)
    arn = json.loads(out.stdout)["User"]["Arn"]
    key = json.loads(server.aws("iam", "create-access-key", "--user-name", name, check=True).stdout)[
        "AccessKey"
    ]
    creds = (key["AccessKeyId"], key["SecretAccessKey"])
    allow = _doc({"Effect": "Allow", "Action": ["ssm:DescribeParameters", "iam:GetUser"], "Resource": "*"})
    server.aws(
        "iam",
        "put-user-policy",
        "--user-name",
        name,
        "--policy-name",
        "only-ssm",
        "--policy-document",
        allow,
        check=True,
    )
    # Allowed: the caller itself, and (not AccessDenied) the ssm call.
    assert json.loads(server.aws("iam", "get-user", creds=creds, check=True).stdout)["User"]["Arn"] == arn
    ssm = server.aws("ssm", "describe-parameters", creds=creds)
    assert "AccessDenied" not in ssm.stderr
    denied = server.aws("iam", "list-users", creds=creds)
    assert denied.returncode != 0
    account = arn.split(":")[4]
    assert (
        f"An error occurred (AccessDenied) when calling the ListUsers operation: User: {arn} is not authorized "
        f"to perform: iam:ListUsers on resource: arn:aws:iam::{account}:user/ because no identity-based policy "
        "allows the iam:ListUsers action"
    ) in denied.stderr
    # A second policy with an explicit Deny wins.
    deny = _doc({"Effect": "Deny", "Action": "iam:GetUser", "Resource": "*"})
    server.aws(
        "iam",
        "put-user-policy",
        "--user-name",
        name,
        "--policy-name",
        "deny",
        "--policy-document",
        deny,
        check=True,
    )
    out = server.aws("iam", "get-user", creds=creds)
    assert out.returncode != 0
    assert "with an explicit deny in an identity-based policy" in out.stderr
    assert (
        "deny" not in out.stderr.split("identity-based policy", 1)[1]
    )  # the deciding statement is not revealed


def test_source_ip_condition_excluding_loopback_denies(server: Server) -> None:
    _, creds = _new_user(
        server,
        _doc(
            {
                "Effect": "Allow",
                "Action": "iam:GetUser",
                "Resource": "*",
                "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
            }
        ),
    )
    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.client("iam", creds=creds).get_user()
    code, msg = _err(e)
    assert code == "AccessDenied"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "because no identity-based policy allows the iam:GetUser action" in msg
    _, creds2 = _new_user(
        server,
        _doc(
            {
                "Effect": "Allow",
                "Action": "iam:GetUser",
                "Resource": "*",
                "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}},
            }
        ),
    )
    server.client("iam", creds=creds2).get_user()


def test_policy_variables_and_resource_scoping(server: Server) -> None:
    doc = _doc(
        {
            "Effect": "Allow",
            "Action": ["iam:GetUser", "iam:ListAccessKeys"],
            "Resource": "arn:aws:iam::*:user/${aws:username}",
        }
    )
    arn, creds = _new_user(server, doc)
    other, _ = _new_user(server)
    iam = server.client("iam", creds=creds)
    assert iam.get_user()["User"]["Arn"] == arn
    assert len(iam.list_access_keys()["AccessKeyMetadata"]) == 1
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.get_user(UserName=other.rsplit("/", 1)[1])
    assert _err(e)[0] == "AccessDenied"


def test_groups_and_managed_policies_grant(server: Server) -> None:
    admin = server.client("iam")
    arn, creds = _new_user(server)
    user = arn.rsplit("/", 1)[1]
    group = _name("g")
    admin.create_group(GroupName=group)
    admin.add_user_to_group(GroupName=group, UserName=user)
    pol = admin.create_policy(
        PolicyName=_name("pol"),
        PolicyDocument=_doc({"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}),
    )["Policy"]
    iam = server.client("iam", creds=creds)
    with pytest.raises(botocore.exceptions.ClientError):
        iam.list_roles()
    admin.attach_group_policy(GroupName=group, PolicyArn=pol["Arn"])
    iam.list_roles()
    assert [
        p["PolicyArn"] for p in admin.list_attached_group_policies(GroupName=group)["AttachedPolicies"]
    ] == [pol["Arn"]]
    assert admin.get_policy(PolicyArn=pol["Arn"])["Policy"]["AttachmentCount"] == 1
    # New default version narrows the grant.
    admin.create_policy_version(
        PolicyArn=pol["Arn"],
        SetAsDefault=True,
        PolicyDocument=_doc({"Effect": "Allow", "Action": "iam:ListGroups", "Resource": "*"}),
    )
    v2 = admin.get_policy_version(PolicyArn=pol["Arn"], VersionId="v2")["PolicyVersion"]
    assert v2["IsDefaultVersion"] and v2["Document"]["Statement"][0]["Action"] == "iam:ListGroups"
    with pytest.raises(botocore.exceptions.ClientError):
        iam.list_roles()
    iam.list_groups()
    admin.remove_user_from_group(GroupName=group, UserName=user)
    with pytest.raises(botocore.exceptions.ClientError):
        iam.list_groups()
    with pytest.raises(botocore.exceptions.ClientError) as e:
        admin.delete_policy(PolicyArn=pol["Arn"])
    assert _err(e)[0] == "DeleteConflict"
    admin.detach_group_policy(GroupName=group, PolicyArn=pol["Arn"])
    admin.delete_policy_version(PolicyArn=pol["Arn"], VersionId="v1")
    admin.delete_policy(PolicyArn=pol["Arn"])
    admin.delete_group(GroupName=group)


def test_aws_managed_policies_exist(server: Server) -> None:
    iam = server.client("iam")
    arns = {p["Arn"] for p in iam.list_policies(Scope="AWS")["Policies"]}
    for name in (
        "AdministratorAccess",
        "ReadOnlyAccess",
        "AmazonSSMFullAccess",
        "AmazonSSMReadOnlyAccess",
        "AmazonSSMManagedInstanceCore",
    ):
        assert f"arn:aws:iam::aws:policy/{name}" in arns
    assert "arn:aws:iam::aws:policy/service-role/AmazonSSMAutomationRole" in arns
    core = iam.get_policy_version(
        PolicyArn="arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore", VersionId="v1"
    )
    actions = {a for s in core["PolicyVersion"]["Document"]["Statement"] for a in s["Action"]}
    assert {
        "ssm:UpdateInstanceInformation",
        "ec2messages:GetMessages",
        "ssmmessages:OpenDataChannel",
    } <= actions
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.delete_policy(PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    assert _err(e)[0] == "NoSuchEntity"


def test_readonly_managed_policy_and_boundary(server: Server) -> None:
    admin = server.client("iam")
    arn, creds = _new_user(server)
    user = arn.rsplit("/", 1)[1]
    admin.attach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    iam = server.client("iam", creds=creds)
    iam.list_roles()
    boundary = admin.create_policy(
        PolicyName=_name("b"), PolicyDocument=_doc({"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"})
    )["Policy"]["Arn"]
    admin.put_user_permissions_boundary(UserName=user, PermissionsBoundary=boundary)
    assert admin.get_user(UserName=user)["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    iam.get_user()
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.list_roles()
    assert "because no permissions boundary allows the iam:ListRoles action" in _err(e)[1]
    admin.delete_user_permissions_boundary(UserName=user)
    iam.list_roles()


def test_user_lifecycle_and_errors(server: Server) -> None:
    iam = server.client("iam")
    name = _name("life")
    user = iam.create_user(UserName=name, Path="/team/", Tags=[{"Key": "k", "Value": "v"}])["User"]
    assert user["Arn"].endswith(f":user/team/{name}") and user["UserId"].startswith("AIDA")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_user(UserName=name)
    assert _err(e) == ("EntityAlreadyExists", f"User with name {name} already exists.")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.get_user(UserName=name + "x")
    assert _err(e) == ("NoSuchEntity", f"The user with name {name}x cannot be found.")
    assert name in [u["UserName"] for u in iam.list_users(PathPrefix="/team/")["Users"]]
    iam.tag_user(UserName=name, Tags=[{"Key": "k2", "Value": "v2"}])
    assert {t["Key"] for t in iam.list_user_tags(UserName=name)["Tags"]} == {"k", "k2"}
    k1 = iam.create_access_key(UserName=name)["AccessKey"]
    assert k1["AccessKeyId"].startswith("AKIA") and len(k1["SecretAccessKey"]) == 40
    iam.create_access_key(UserName=name)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_access_key(UserName=name)
    assert _err(e) == ("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.put_user_policy(UserName=name, PolicyName="bad", PolicyDocument='{"Statement": []}')
    assert _err(e)[0] == "MalformedPolicyDocument"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.put_user_policy(
            UserName=name,
            PolicyName="bad",
            PolicyDocument=_doc(
                {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*", "Principal": "*"}
            ),
        )
    assert _err(e)[0] == "MalformedPolicyDocument"
    iam.put_user_policy(
        UserName=name,
        PolicyName="ok",
        PolicyDocument=_doc({"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}),
    )
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == ["ok"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.delete_user(UserName=name)
    assert _err(e) == ("DeleteConflict", "Cannot delete entity, must delete access keys first.")
    for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=name, AccessKeyId=k["AccessKeyId"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.delete_user(UserName=name)
    assert _err(e) == ("DeleteConflict", "Cannot delete entity, must delete policies first.")
    iam.delete_user_policy(UserName=name, PolicyName="ok")
    iam.delete_user(UserName=name)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.get_user(UserName=name)
    assert _err(e)[0] == "NoSuchEntity"


def test_secrets_are_not_stored_in_plaintext(server: Server) -> None:
    _, (key, secret) = _new_user(server)
    [(blob,)] = server.sql("SELECT secret FROM iam_access_keys WHERE access_key_id = ?", key)
    assert secret.encode() not in bytes(blob)
    assert secret.encode() not in server.database_bytes()
    assert secret not in (server.data_dir / "server.log").read_text()


def test_simulate_principal_and_custom_policy(server: Server) -> None:
    iam = server.client("iam")
    arn, _ = _new_user(
        server,
        _doc(
            {
                "Sid": "Read",
                "Effect": "Allow",
                "Action": "ssm:GetParameter",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}},
            }
        ),
    )
    res = iam.simulate_principal_policy(
        PolicySourceArn=arn,
        ActionNames=["ssm:GetParameter", "ssm:PutParameter"],
        ContextEntries=[
            {
                "ContextKeyName": "aws:RequestedRegion",
                "ContextKeyValues": ["us-east-1"],
                "ContextKeyType": "string",
            }
        ],
    )
    by = {r["EvalActionName"]: r for r in res["EvaluationResults"]}
    assert by["ssm:GetParameter"]["EvalDecision"] == "allowed"
    assert by["ssm:GetParameter"]["MatchedStatements"][0]["SourcePolicyId"] == "p0"
    assert by["ssm:PutParameter"]["EvalDecision"] == "implicitDeny"
    res = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["ssm:GetParameter"])
    assert res["EvaluationResults"][0]["MissingContextValues"] == ["aws:RequestedRegion"]
    custom = iam.simulate_custom_policy(
        PolicyInputList=[
            _doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}),
            _doc({"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}),
        ],
        ActionNames=["s3:GetObject", "s3:DeleteBucket"],
    )
    decisions = {r["EvalActionName"]: r["EvalDecision"] for r in custom["EvaluationResults"]}
    assert decisions == {"s3:GetObject": "allowed", "s3:DeleteBucket": "explicitDeny"}


def test_roles_crud(server: Server) -> None:
    iam = server.client("iam")
    name = _name("role")
    trust = _doc(
        {"Effect": "Allow", "Principal": {"Service": "ssm.amazonaws.com"}, "Action": "sts:AssumeRole"}
    )
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust, Description="d")["Role"]
    assert role["RoleId"].startswith("AROA") and role["MaxSessionDuration"] == 3600
    got = iam.get_role(RoleName=name)["Role"]
    assert got["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "ssm.amazonaws.com"}
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.update_assume_role_policy(
            RoleName=name, PolicyDocument=_doc({"Effect": "Allow", "Action": "sts:AssumeRole"})
        )  # a trust policy needs a Principal
    assert _err(e)[0] == "MalformedPolicyDocument"
    iam.put_role_policy(
        RoleName=name,
        PolicyName="inline",
        PolicyDocument=_doc({"Effect": "Allow", "Action": "ssm:*", "Resource": "*"}),
    )
    iam.attach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")
    iam.tag_role(RoleName=name, Tags=[{"Key": "team", "Value": "blue"}])
    assert iam.list_role_tags(RoleName=name)["Tags"] == [{"Key": "team", "Value": "blue"}]
    assert name in [r["RoleName"] for r in iam.list_roles()["Roles"]]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.delete_role(RoleName=name)
    assert _err(e)[0] == "DeleteConflict"
    iam.delete_role_policy(RoleName=name, PolicyName="inline")
    iam.detach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")
    iam.delete_role(RoleName=name)


def test_get_caller_identity_is_never_denied(server: Server) -> None:
    arn, creds = _new_user(server, _doc({"Effect": "Deny", "Action": "*", "Resource": "*"}))
    assert server.client("sts", creds=creds).get_caller_identity()["Arn"] == arn
    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.client("iam", creds=creds).get_user()
    assert _err(e)[1].endswith("with an explicit deny in an identity-based policy")


def test_via_aws_service_tells_direct_calls_from_calls_made_on_the_callers_behalf(server: Server) -> None:
    name = f"/{_name('via')}/secret"
    key = server.client("kms").create_key()["KeyMetadata"]["KeyId"]  # its policy defers to IAM
    server.client("ssm").put_parameter(Name=name, Value="s3cret", Type="SecureString", KeyId=key)
    allow = {"Effect": "Allow", "Action": ["ssm:GetParameter", "kms:Decrypt"], "Resource": "*"}
    # kms:Decrypt only through a service (Parameter Store), never directly.
    _, creds = _new_user(
        server,
        _doc(
            allow,
            {
                "Effect": "Deny",
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {"Bool": {"aws:ViaAWSService": "false"}},
            },
        ),
    )
    ssm = server.client("ssm", creds=creds)
    assert ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"] == "s3cret"
    blob = server.client("kms").encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.client("kms", creds=creds).decrypt(CiphertextBlob=blob)
    assert _err(e)[0] == "AccessDeniedException"
    # The usual network guardrail: nothing from outside 10/8 unless a service calls on one's behalf.
    _, creds = _new_user(
        server,
        _doc(
            allow,
            {
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {
                    "NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"},
                    "Bool": {"aws:ViaAWSService": "false"},
                },
            },
        ),
    )
    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.client("ssm", creds=creds).get_parameter(Name=name)
    assert _err(e)[1].endswith("with an explicit deny in an identity-based policy")


def test_called_via_names_the_service_calling_on_the_callers_behalf(server: Server) -> None:
    name = f"/{_name('via')}/secret"
    key = server.client("kms").create_key()["KeyMetadata"]["KeyId"]
    server.client("ssm").put_parameter(Name=name, Value="s3cret", Type="SecureString", KeyId=key)
    _, creds = _new_user(
        server,
        _doc(
            {"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {
                    "ForAnyValue:StringEquals": {"aws:CalledVia": "ssm.amazonaws.com"},
                    "StringEquals": {"aws:CalledViaFirst": "ssm.amazonaws.com"},
                },
            },
        ),
    )
    assert server.client("ssm", creds=creds).get_parameter(Name=name, WithDecryption=True)["Parameter"][
        "Value"
    ]
    blob = server.client("kms").encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.client("kms", creds=creds).decrypt(CiphertextBlob=blob)
    assert _err(e)[0] == "AccessDeniedException"
