"""IAM entity management through the real server: renames, group membership errors,
policy tags and usage, with IAM's error codes and messages."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import botocore.exceptions
import pytest

from tests.support.server import Server

BACKENDS = ("sqlite", "postgresql")


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ALLOW_GET = _doc({"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"})
TRUST_EC2 = _doc(
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
)


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _err(exc: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> tuple[str, str]:
    e = exc.value.response["Error"]
    return e["Code"], e["Message"]


def _user_with_key(server: Server, *policies: str) -> tuple[str, tuple[str, str]]:
    iam = server.client("iam")
    name = _name("u")
    iam.create_user(UserName=name)
    for i, doc in enumerate(policies):
        iam.put_user_policy(UserName=name, PolicyName=f"p{i}", PolicyDocument=doc)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, (key["AccessKeyId"], key["SecretAccessKey"])


def test_group_membership_errors(server: Server) -> None:
    iam = server.client("iam")
    group, user = _name("g"), _name("u")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.add_user_to_group(GroupName=group, UserName=user)
    assert _err(e) == ("NoSuchEntity", f"The user with name {user} cannot be found.")
    iam.create_user(UserName=user)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.add_user_to_group(GroupName=group, UserName=user)
    assert _err(e) == ("NoSuchEntity", f"The group with name {group} cannot be found.")
    iam.create_group(GroupName=group)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.remove_user_from_group(GroupName=group, UserName=user)
    assert _err(e) == ("NoSuchEntity", f"User {user} not in group {group}")
    iam.add_user_to_group(GroupName=group, UserName=user)
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"]] == [group]
    iam.remove_user_from_group(GroupName=group, UserName=user)
    assert iam.list_groups_for_user(UserName=user)["Groups"] == []


def test_update_user_renames_and_keeps_keys_and_policies(server: Server) -> None:
    iam = server.client("iam")
    name, creds = _user_with_key(server, ALLOW_GET)
    other = _name("taken")
    iam.create_user(UserName=other)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.update_user(UserName=name, NewUserName=other)
    assert _err(e) == ("EntityAlreadyExists", f"User with name {other} already exists.")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.update_user(UserName=name + "x", NewUserName=name + "y")
    assert _err(e) == ("NoSuchEntity", f"The user with name {name}x cannot be found.")
    new = name + "-new"
    iam.update_user(UserName=name, NewUserName=new, NewPath="/moved/")
    user = iam.get_user(UserName=new)["User"]
    assert user["Path"] == "/moved/" and user["Arn"].endswith(f":user/moved/{new}")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.get_user(UserName=name)
    assert _err(e)[0] == "NoSuchEntity"
    assert iam.list_user_policies(UserName=new)["PolicyNames"] == ["p0"]
    # The key now signs as the renamed user and keeps its permissions.
    assert server.client("iam", creds).get_user()["User"]["Arn"] == user["Arn"]


def test_update_user_needs_permission_on_the_new_name(server: Server) -> None:
    iam = server.client("iam")
    target = _name("t")
    iam.create_user(UserName=target)
    account = iam.get_user(UserName=target)["User"]["Arn"].split(":")[4]
    only_old = _doc(
        {"Effect": "Allow", "Action": "iam:UpdateUser", "Resource": f"arn:aws:iam::{account}:user/{target}"}
    )
    _, creds = _user_with_key(server, only_old)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.client("iam", creds).update_user(UserName=target, NewUserName=target + "-2")
    code, message = _err(e)
    assert code == "AccessDenied"
    assert f"iam:UpdateUser on resource: arn:aws:iam::{account}:user/{target}-2 " in message
    assert iam.get_user(UserName=target)["User"]["UserName"] == target


def test_update_group(server: Server) -> None:
    iam = server.client("iam")
    group, user = _name("g"), _name("u")
    iam.create_group(GroupName=group)
    iam.create_user(UserName=user)
    iam.add_user_to_group(GroupName=group, UserName=user)
    taken = _name("g")
    iam.create_group(GroupName=taken)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.update_group(GroupName=group, NewGroupName=taken)
    assert _err(e) == ("EntityAlreadyExists", f"Group with name {taken} already exists.")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.update_group(GroupName=group + "x", NewGroupName="y")
    assert _err(e) == ("NoSuchEntity", f"The group with name {group}x cannot be found.")
    iam.update_group(GroupName=group, NewGroupName=group + "-new", NewPath="/p/")
    got = iam.get_group(GroupName=group + "-new")
    assert got["Group"]["Path"] == "/p/" and [u["UserName"] for u in got["Users"]] == [user]


def test_policy_tags(server: Server) -> None:
    iam = server.client("iam")
    name = _name("tagged")
    created = iam.create_policy(
        PolicyName=name, PolicyDocument=ALLOW_GET, Tags=[{"Key": "team", "Value": "a"}], Description="d"
    )["Policy"]
    arn = created["Arn"]
    assert created["Tags"] == [{"Key": "team", "Value": "a"}]
    iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "env", "Value": "prod"}, {"Key": "TEAM", "Value": "b"}])
    assert iam.get_policy(PolicyArn=arn)["Policy"]["Tags"] == [
        {"Key": "TEAM", "Value": "b"},
        {"Key": "env", "Value": "prod"},
    ]
    page = iam.list_policy_tags(PolicyArn=arn, MaxItems=1)
    assert page["IsTruncated"] and len(page["Tags"]) == 1
    rest = iam.list_policy_tags(PolicyArn=arn, Marker=page["Marker"])
    assert not rest["IsTruncated"] and rest["Tags"] == [{"Key": "env", "Value": "prod"}]
    iam.untag_policy(PolicyArn=arn, TagKeys=["team"])
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == [{"Key": "env", "Value": "prod"}]
    for call in (
        lambda: iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "a", "Value": ""}, {"Key": "A", "Value": ""}]),
        lambda: iam.create_policy(
            PolicyName=_name("dup"),
            PolicyDocument=ALLOW_GET,
            Tags=[{"Key": "x", "Value": ""}, {"Key": "x", "Value": ""}],
        ),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert _err(e) == (
            "InvalidInput",
            "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
        )
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.tag_policy(PolicyArn=arn, Tags=[{"Key": f"k{i}", "Value": ""} for i in range(50)])
    assert _err(e)[0] == "LimitExceeded"
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == [{"Key": "env", "Value": "prod"}]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.list_policy_tags(PolicyArn=arn + "x")
    assert _err(e) == ("NoSuchEntity", f"Policy {arn}x does not exist or is not attachable.")


def test_list_entities_for_policy(server: Server) -> None:
    iam = server.client("iam")
    arn = iam.create_policy(PolicyName=_name("used"), PolicyDocument=ALLOW_GET)["Policy"]["Arn"]
    user, group, role, bounded = _name("u"), _name("g"), _name("r"), _name("b")
    iam.create_user(UserName=user, Path="/team/")
    iam.create_group(GroupName=group)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_EC2)
    iam.create_user(UserName=bounded, PermissionsBoundary=arn)
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    got = iam.list_entities_for_policy(PolicyArn=arn)
    assert {u["UserName"] for u in got["PolicyUsers"]} == {user, bounded}
    assert [g["GroupName"] for g in got["PolicyGroups"]] == [group]
    assert [r["RoleName"] for r in got["PolicyRoles"]] == [role]
    assert got["PolicyRoles"][0]["RoleId"].startswith("AROA")
    attached = iam.list_entities_for_policy(PolicyArn=arn, PolicyUsageFilter="PermissionsPolicy")
    assert [u["UserName"] for u in attached["PolicyUsers"]] == [user]
    boundary = iam.list_entities_for_policy(PolicyArn=arn, PolicyUsageFilter="PermissionsBoundary")
    assert [u["UserName"] for u in boundary["PolicyUsers"]] == [bounded] and boundary["PolicyRoles"] == []
    roles_only = iam.list_entities_for_policy(PolicyArn=arn, EntityFilter="Role")
    assert roles_only["PolicyUsers"] == [] and roles_only["PolicyGroups"] == []
    by_path = iam.list_entities_for_policy(PolicyArn=arn, PathPrefix="/team/")
    assert [u["UserName"] for u in by_path["PolicyUsers"]] == [user] and by_path["PolicyRoles"] == []
    first = iam.list_entities_for_policy(PolicyArn=arn, MaxItems=2)
    assert first["IsTruncated"]
    rest = iam.list_entities_for_policy(PolicyArn=arn, Marker=first["Marker"])
    total = sum(len(p[k]) for p in (first, rest) for k in ("PolicyUsers", "PolicyGroups", "PolicyRoles"))
    assert total == 4
    assert iam.get_policy(PolicyArn=arn)["Policy"]["PermissionsBoundaryUsageCount"] == 1


def test_instance_profiles(server: Server) -> None:
    iam = server.client("iam")
    name, role = _name("ip"), _name("r")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.get_instance_profile(InstanceProfileName=name)
    assert _err(e) == ("NoSuchEntity", f"Instance Profile {name} cannot be found.")
    created = iam.create_instance_profile(
        InstanceProfileName=name, Path="/nodes/", Tags=[{"Key": "k", "Value": "v"}]
    )["InstanceProfile"]
    assert created["InstanceProfileId"].startswith("AIPA") and created["Roles"] == []
    assert created["Arn"].endswith(f":instance-profile/nodes/{name}")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_instance_profile(InstanceProfileName=name)
    assert _err(e) == ("EntityAlreadyExists", f"Instance Profile {name} already exists.")
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_EC2)["Role"]["Arn"]
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role)
    got = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    assert [r["Arn"] for r in got["Roles"]] == [role_arn]
    assert got["Roles"][0]["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole"
    assert got["Tags"] == [{"Key": "k", "Value": "v"}]
    other = _name("r")
    iam.create_role(RoleName=other, AssumeRolePolicyDocument=TRUST_EC2)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=other)
    assert _err(e) == ("LimitExceeded", "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1")
    listed = iam.list_instance_profiles(PathPrefix="/nodes/")["InstanceProfiles"]
    assert [p["InstanceProfileName"] for p in listed] == [name] and "Tags" not in listed[0]
    assert [
        p["InstanceProfileName"]
        for p in iam.list_instance_profiles_for_role(RoleName=role)["InstanceProfiles"]
    ] == [name]
    assert iam.list_instance_profiles_for_role(RoleName=other)["InstanceProfiles"] == []
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.delete_instance_profile(InstanceProfileName=name)
    assert _err(e) == (
        "DeleteConflict",
        "Cannot delete entity, must remove roles from instance profile first.",
    )
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.delete_role(RoleName=role)
    assert _err(e) == (
        "DeleteConflict",
        "Cannot delete entity, must remove roles from instance profile first.",
    )
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=other)
    assert _err(e)[0] == "NoSuchEntity"
    iam.tag_instance_profile(InstanceProfileName=name, Tags=[{"Key": "k2", "Value": "v2"}])
    iam.untag_instance_profile(InstanceProfileName=name, TagKeys=["k"])
    assert iam.list_instance_profile_tags(InstanceProfileName=name)["Tags"] == [{"Key": "k2", "Value": "v2"}]
    iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=role)
    iam.delete_instance_profile(InstanceProfileName=name)
    iam.delete_role(RoleName=role)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.get_instance_profile(InstanceProfileName=name)
    assert _err(e)[0] == "NoSuchEntity"


def test_adding_a_role_to_an_instance_profile_needs_pass_role(server: Server) -> None:
    iam = server.client("iam")
    name, role = _name("ip"), _name("r")
    iam.create_instance_profile(InstanceProfileName=name)
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_EC2)["Role"]["Arn"]
    no_pass = _doc({"Effect": "Allow", "Action": "iam:AddRoleToInstanceProfile", "Resource": "*"})
    _, creds = _user_with_key(server, no_pass)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.client("iam", creds).add_role_to_instance_profile(InstanceProfileName=name, RoleName=role)
    code, message = _err(e)
    assert code == "AccessDenied" and f"iam:PassRole on resource: {role_arn} " in message
    assert iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Roles"] == []
    with_pass = _doc(
        {"Effect": "Allow", "Action": ["iam:AddRoleToInstanceProfile", "iam:PassRole"], "Resource": "*"}
    )
    _, creds = _user_with_key(server, with_pass)
    server.client("iam", creds).add_role_to_instance_profile(InstanceProfileName=name, RoleName=role)
    assert len(iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Roles"]) == 1


def test_policy_documents_get_iams_write_time_checks(server: Server) -> None:
    iam = server.client("iam")
    no_version = json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]})
    cases = [
        (no_version, "Policy document must be version 2012-10-17 or greater."),
        (
            _doc({"Effect": "allow", "Action": "s3:ListBucket", "Resource": "*"}),
            "The policy failed legacy parsing",
        ),
        (
            _doc({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:iam:us-east-1::user/x"}),
            "IAM resource arn:aws:iam:us-east-1::user/x cannot contain region information.",
        ),
    ]
    group = _name("g")
    iam.create_group(GroupName=group)
    for document, message in cases:
        for call in (
            lambda: iam.create_policy(PolicyName=_name("bad"), PolicyDocument=document),
            lambda: iam.put_group_policy(GroupName=group, PolicyName="p", PolicyDocument=document),
        ):
            with pytest.raises(botocore.exceptions.ClientError) as e:
                call()
            assert _err(e) == ("MalformedPolicyDocument", message)
    assert iam.list_group_policies(GroupName=group)["PolicyNames"] == []
    # What IAM accepts, fleetward stores and evaluates: an empty condition block tests nothing.
    lenient = _doc(
        {
            "Effect": "Allow",
            "Action": "iam:GetUser",
            "Resource": ["*", None],
            "Condition": {"DateGreaterThan": {}},
        }
    )
    name, creds = _user_with_key(server, lenient)
    assert server.client("iam", creds).get_user()["User"]["UserName"] == name
    role = _name("r")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_role(
            RoleName=role,
            AssumeRolePolicyDocument=_doc(
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "ec2.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Resource": "*",
                }
            ),
        )
    assert _err(e) == ("MalformedPolicyDocument", "Has prohibited field Resource.")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.get_role(RoleName=role)
    assert _err(e)[0] == "NoSuchEntity"


def _eventually(check: Any) -> Any:
    for _ in range(50):
        got = check()
        if got:
            return got
        time.sleep(0.1)
    return check()


def test_access_key_and_role_last_used(server: Server) -> None:
    iam = server.client("iam")
    name, creds = _user_with_key(
        server, ALLOW_GET, _doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})
    )
    fresh = iam.get_access_key_last_used(AccessKeyId=creds[0])
    assert fresh["UserName"] == name
    assert fresh["AccessKeyLastUsed"] == {"ServiceName": "N/A", "Region": "N/A"}
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.get_access_key_last_used(AccessKeyId="AKIAIOSFODNN7EXAMPLE")
    assert _err(e) == ("NoSuchEntity", "The Access Key with id AKIAIOSFODNN7EXAMPLE cannot be found.")
    before = datetime.now(UTC).replace(microsecond=0)
    server.client("iam", creds).get_user()
    used = _eventually(
        lambda: (
            "LastUsedDate" in (u := iam.get_access_key_last_used(AccessKeyId=creds[0])["AccessKeyLastUsed"])
            and u
        )
    )
    assert used["ServiceName"] == "iam" and used["Region"] == "us-east-1"
    assert used["LastUsedDate"] >= before
    # Roles: GetRole reports the last use of the role's session credentials.
    user_arn = iam.get_user(UserName=name)["User"]["Arn"]
    trust = _doc({"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "sts:AssumeRole"})
    role = _name("r")
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    assert iam.get_role(RoleName=role)["Role"]["RoleLastUsed"] == {}
    c = server.client("sts", creds).assume_role(RoleArn=role_arn, RoleSessionName="s1")["Credentials"]
    server.client("sts", (c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])).get_caller_identity()
    last = _eventually(lambda: iam.get_role(RoleName=role)["Role"]["RoleLastUsed"])
    assert last["Region"] == "us-east-1" and last["LastUsedDate"] >= before
    assert all("RoleLastUsed" not in r for r in iam.list_roles()["Roles"])


def _sized(size: int, *, padding: int = 0) -> str:
    """An identity policy of exactly ``size`` non-whitespace characters, plus ``padding`` spaces."""
    base = _doc({"Effect": "Allow", "Action": "iam:GetUser", "Resource": "arn:aws:iam::*:user/"})
    compact = "".join(base.split())
    text = compact.replace('user/"', "user/" + "x" * (size - len(compact)) + '"')
    return text.replace(",", "," + " " * padding, 1)


def _trust_sized(size: int) -> str:
    compact = "".join(TRUST_EC2.split())
    return compact.replace('"Allow",', '"Allow","Sid":"' + "s" * (size - len(compact) - 9) + '",', 1)


def test_policy_size_limits_as_iam_counts_them(server: Server) -> None:
    iam = server.client("iam")
    user = _name("u")
    iam.create_user(UserName=user)
    # Whitespace is not counted; the limit is on the user's inline policies together.
    iam.put_user_policy(UserName=user, PolicyName="a", PolicyDocument=_sized(1000, padding=3000))
    iam.put_user_policy(UserName=user, PolicyName="b", PolicyDocument=_sized(1048))
    iam.put_user_policy(UserName=user, PolicyName="a", PolicyDocument=_sized(1000))  # replaces, not adds
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.put_user_policy(UserName=user, PolicyName="c", PolicyDocument=_sized(80))
    assert _err(e) == ("LimitExceeded", f"Maximum policy size of 2048 bytes exceeded for user {user}")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.put_user_policy(UserName=user, PolicyName="a", PolicyDocument=_sized(1001))
    assert _err(e)[0] == "LimitExceeded"
    assert iam.list_user_policies(UserName=user)["PolicyNames"] == ["a", "b"]
    group = _name("g")
    iam.create_group(GroupName=group)
    iam.put_group_policy(GroupName=group, PolicyName="a", PolicyDocument=_sized(5000))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.put_group_policy(GroupName=group, PolicyName="b", PolicyDocument=_sized(121))
    assert _err(e) == ("LimitExceeded", f"Maximum policy size of 5120 bytes exceeded for group {group}")
    role = _name("r")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=_trust_sized(2048))
    iam.put_role_policy(RoleName=role, PolicyName="a", PolicyDocument=_sized(10240))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.put_role_policy(RoleName=role, PolicyName="b", PolicyDocument=_sized(60))
    assert _err(e) == ("LimitExceeded", f"Maximum policy size of 10240 bytes exceeded for role {role}")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.update_assume_role_policy(RoleName=role, PolicyDocument=_trust_sized(2049))
    assert _err(e) == ("LimitExceeded", "Cannot exceed quota for ACLSizePerRole: 2048")
    iam.create_policy(PolicyName=_name("p"), PolicyDocument=_sized(6144, padding=500))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_policy(PolicyName=_name("p"), PolicyDocument=_sized(6145))
    assert _err(e) == ("LimitExceeded", "Cannot exceed quota for PolicySize: 6144")


def _denied(call: Any) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call()
    code, message = _err(e)
    assert code == "AccessDenied"
    return message


def test_delegated_administration_with_iam_condition_keys(server: Server) -> None:
    iam = server.client("iam")
    account = server.client("sts").get_caller_identity()["Account"]
    boundary = iam.create_policy(PolicyName=_name("boundary"), PolicyDocument=ALLOW_GET)["Policy"]["Arn"]
    read_only = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    _, delegate = _user_with_key(
        server,
        _doc(
            {"Effect": "Allow", "Action": ["iam:DeleteUser", "iam:TagUser"], "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": ["iam:DeleteUser", "iam:TagUser"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:ResourceTag/protected": "true"}},
            },
            {
                "Effect": "Allow",
                "Action": ["iam:CreateUser", "iam:PutUserPolicy"],
                "Resource": "*",
                "Condition": {"StringEquals": {"iam:PermissionsBoundary": boundary}},
            },
            {
                "Effect": "Allow",
                "Action": "iam:AttachUserPolicy",
                "Resource": "*",
                "Condition": {"ArnEquals": {"iam:PolicyARN": read_only}},
            },
        ),
    )
    d = server.client("iam", delegate)
    protected, plain = _name("p"), _name("q")
    iam.create_user(UserName=protected, Tags=[{"Key": "protected", "Value": "true"}])
    iam.create_user(UserName=plain)
    arn = f"arn:aws:iam::{account}:user/{protected}"
    assert _denied(lambda: d.delete_user(UserName=protected)).endswith(
        f"iam:DeleteUser on resource: {arn} with an explicit deny in an identity-based policy"
    )
    _denied(lambda: d.tag_user(UserName=protected, Tags=[{"Key": "protected", "Value": "false"}]))
    d.delete_user(UserName=plain)
    # Users it creates must carry the boundary; it may then grant them inline policies.
    _denied(lambda: d.create_user(UserName=_name("c")))
    bounded = _name("b")
    d.create_user(UserName=bounded, PermissionsBoundary=boundary)
    d.put_user_policy(UserName=bounded, PolicyName="p", PolicyDocument=ALLOW_GET)
    _denied(lambda: d.put_user_policy(UserName=protected, PolicyName="p", PolicyDocument=ALLOW_GET))
    d.attach_user_policy(UserName=bounded, PolicyArn=read_only)
    _denied(
        lambda: d.attach_user_policy(
            UserName=bounded, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"
        )
    )


def test_names_are_unique_whatever_their_case(server: Server) -> None:
    iam = server.client("iam")
    sfx = uuid.uuid4().hex[:8]
    iam.create_user(UserName=f"dana-{sfx}")
    iam.create_group(GroupName=f"ops-{sfx}")
    iam.create_role(RoleName=f"app-{sfx}", AssumeRolePolicyDocument=TRUST_EC2)
    iam.create_policy(PolicyName=f"read-{sfx}", PolicyDocument=ALLOW_GET)
    iam.create_instance_profile(InstanceProfileName=f"web-{sfx}")
    upper = sfx.upper()
    for call, message in (
        (lambda: iam.create_user(UserName=f"DANA-{upper}"), f"User with name DANA-{upper} already exists."),
        (lambda: iam.create_group(GroupName=f"Ops-{upper}"), f"Group with name Ops-{upper} already exists."),
        (
            lambda: iam.create_role(RoleName=f"APP-{upper}", AssumeRolePolicyDocument=TRUST_EC2),
            f"Role with name APP-{upper} already exists.",
        ),
        (
            lambda: iam.create_policy(PolicyName=f"Read-{upper}", PolicyDocument=ALLOW_GET),
            f"A policy called Read-{upper} already exists. Duplicate names are not allowed.",
        ),
        (
            lambda: iam.create_instance_profile(InstanceProfileName=f"WEB-{upper}"),
            f"Instance Profile WEB-{upper} already exists.",
        ),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert _err(e) == ("EntityAlreadyExists", message)
    iam.create_user(UserName=f"erin-{sfx}")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.update_user(UserName=f"erin-{sfx}", NewUserName=f"Dana-{sfx}")
    assert _err(e) == ("EntityAlreadyExists", f"User with name Dana-{sfx} already exists.")
    iam.update_user(UserName=f"dana-{sfx}", NewUserName=f"Dana-{sfx}")  # its own name, recased
    assert iam.get_user(UserName=f"Dana-{sfx}")["User"]["UserName"] == f"Dana-{sfx}"
    iam.create_group(GroupName=f"dev-{sfx}")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.update_group(GroupName=f"dev-{sfx}", NewGroupName=f"OPS-{sfx}")
    assert _err(e) == ("EntityAlreadyExists", f"Group with name OPS-{sfx} already exists.")


def test_a_missing_permissions_boundary_is_named_as_iam_names_it(server: Server) -> None:
    iam = server.client("iam")
    account = server.client("sts").get_caller_identity()["Account"]
    missing = f"arn:aws:iam::{account}:policy/{_name('nope')}"
    user, role = _name("u"), _name("r")
    iam.create_user(UserName=user)
    for call in (
        lambda: iam.create_user(UserName=_name("u"), PermissionsBoundary=missing),
        lambda: iam.create_role(
            RoleName=role, AssumeRolePolicyDocument=TRUST_EC2, PermissionsBoundary=missing
        ),
        lambda: iam.put_user_permissions_boundary(UserName=user, PermissionsBoundary=missing),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert _err(e) == ("NoSuchEntity", f"Scope ARN: {missing} does not exist or is not attachable.")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.get_role(RoleName=role)
    assert _err(e)[0] == "NoSuchEntity"


def test_untagging_is_decided_on_the_tag_keys(server: Server) -> None:
    iam = server.client("iam")
    _, creds = _user_with_key(
        server,
        _doc(
            {"Effect": "Allow", "Action": "iam:UntagUser", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": "iam:UntagUser",
                "Resource": "*",
                "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": "protected"}},
            },
        ),
    )
    target = _name("t")
    iam.create_user(UserName=target, Tags=[{"Key": "protected", "Value": "1"}, {"Key": "note", "Value": "x"}])
    d = server.client("iam", creds)
    assert _denied(lambda: d.untag_user(UserName=target, TagKeys=["note", "protected"])).endswith(
        "with an explicit deny in an identity-based policy"
    )
    d.untag_user(UserName=target, TagKeys=["note"])
    assert iam.list_user_tags(UserName=target)["Tags"] == [{"Key": "protected", "Value": "1"}]


def test_key_policies_follow_the_users_they_name(server: Server) -> None:
    iam, kms = server.client("iam"), server.client("kms")
    admin = server.client("sts").get_caller_identity()["Arn"]
    name, creds = _user_with_key(server)
    user = iam.get_user(UserName=name)["User"]
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": admin}, "Action": "kms:*", "Resource": "*"},
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": [user["Arn"]]},
                    "Action": "kms:Encrypt",
                    "Resource": "*",
                },
            ],
        }
    )
    key = kms.create_key(Policy=policy)["KeyMetadata"]["KeyId"]
    server.client("kms", creds).encrypt(KeyId=key, Plaintext=b"x")
    iam.delete_access_key(UserName=name, AccessKeyId=creds[0])
    iam.delete_user(UserName=name)
    stored = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    assert stored["Statement"][1]["Principal"]["AWS"] == [user["UserId"]]
    iam.create_user(UserName=name)
    key_pair = iam.create_access_key(UserName=name)["AccessKey"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.client("kms", (key_pair["AccessKeyId"], key_pair["SecretAccessKey"])).encrypt(
            KeyId=key, Plaintext=b"x"
        )
    assert _err(e)[0] == "AccessDeniedException"
