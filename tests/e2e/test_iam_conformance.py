"""IAM response shapes and behaviours other AWS emulators' conformance suites
check (moto's IAM tests, the AWS-verified ones first), through the real server."""

from __future__ import annotations

import json
import uuid

import botocore.exceptions
import pytest

from tests.support.server import Server

BOUNDARY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
)


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_policy_attributes_are_those_each_call_returns(server: Server) -> None:
    """CreatePolicy never returns the Description and returns Tags only when some
    were given; GetPolicy returns both (Tags even when empty); ListPolicies neither."""
    iam = server.client("iam")
    path = f"/{_name('p')}/"
    bare = iam.create_policy(PolicyName=_name("bare"), Path=path, PolicyDocument=BOUNDARY)["Policy"]
    full = iam.create_policy(
        PolicyName=_name("full"),
        Path=path,
        PolicyDocument=BOUNDARY,
        Description="test description",
        Tags=[{"Key": "k", "Value": "v"}],
    )["Policy"]
    assert "Description" not in bare and "Tags" not in bare
    assert "Description" not in full and full["Tags"] == [{"Key": "k", "Value": "v"}]
    got_bare = iam.get_policy(PolicyArn=bare["Arn"])["Policy"]
    got_full = iam.get_policy(PolicyArn=full["Arn"])["Policy"]
    assert "Description" not in got_bare and got_bare["Tags"] == []
    assert got_full["Description"] == "test description"
    assert got_full["Tags"] == [{"Key": "k", "Value": "v"}]
    listed = iam.list_policies(PathPrefix=path)["Policies"]
    assert len(listed) == 2
    assert all("Description" not in p and "Tags" not in p for p in listed)


TRUST_EC2 = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def test_update_role_without_max_session_duration_applies_the_default_hour(server: Server) -> None:
    """UpdateRole's MaxSessionDuration: 'If you do not specify a value for this
    setting, the default value of one hour is applied' (the IAM API reference)."""
    iam = server.client("iam")
    name = _name("r")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_EC2, MaxSessionDuration=7200)
    iam.update_role(RoleName=name, MaxSessionDuration=10800)
    assert iam.get_role(RoleName=name)["Role"]["MaxSessionDuration"] == 10800
    iam.update_role(RoleName=name, Description="new")
    role = iam.get_role(RoleName=name)["Role"]
    assert (role["MaxSessionDuration"], role["Description"]) == (3600, "new")


def test_update_role_description(server: Server) -> None:
    """UpdateRoleDescription changes the description alone and returns the role."""
    iam = server.client("iam")
    name = _name("r")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_EC2, MaxSessionDuration=7200)
    role = iam.update_role_description(RoleName=name, Description="test")["Role"]
    assert (role["RoleName"], role["Description"], role["MaxSessionDuration"]) == (name, "test", 7200)
    got = iam.get_role(RoleName=name)["Role"]
    assert (got["Description"], got["MaxSessionDuration"]) == ("test", 7200)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.update_role_description(RoleName=name + "x", Description="test")
    err = e.value.response["Error"]
    assert (err["Code"], err["Message"]) == ("NoSuchEntity", f"The role with name {name}x cannot be found.")


def test_permissions_boundary_type_is_the_models_enum(server: Server) -> None:
    """AttachedPermissionsBoundary's type is PermissionsBoundaryPolicy (its only enum value)."""
    iam = server.client("iam")
    arn = iam.create_policy(PolicyName=_name("boundary"), PolicyDocument=BOUNDARY)["Policy"]["Arn"]
    expected = {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": arn}
    user, role = _name("u"), _name("r")
    assert iam.create_user(UserName=user, PermissionsBoundary=arn)["User"]["PermissionsBoundary"] == expected
    assert iam.get_user(UserName=user)["User"]["PermissionsBoundary"] == expected
    created = iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_EC2, PermissionsBoundary=arn)
    assert created["Role"]["PermissionsBoundary"] == expected
    assert iam.get_role(RoleName=role)["Role"]["PermissionsBoundary"] == expected


def test_get_account_authorization_details(dev_server: Server) -> None:
    """Users, groups, roles and policies with their inline and attached policies,
    memberships and instance profiles; Filter picks the types; MaxItems pages."""
    dev_server.admin_post("/_fleetward/reset")
    iam = dev_server.client("iam")
    arn = iam.create_policy(PolicyName="local", PolicyDocument=BOUNDARY, Description="d")["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=BOUNDARY, SetAsDefault=True)
    iam.create_user(UserName="alice", Tags=[{"Key": "k", "Value": "v"}])
    iam.put_user_policy(UserName="alice", PolicyName="inline", PolicyDocument=BOUNDARY)
    iam.create_group(GroupName="devs")
    iam.add_user_to_group(GroupName="devs", UserName="alice")
    iam.attach_group_policy(GroupName="devs", PolicyArn=arn)
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=TRUST_EC2, Description="role d")
    iam.put_role_policy(RoleName="app", PolicyName="inline", PolicyDocument=BOUNDARY)
    iam.attach_role_policy(RoleName="app", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.create_instance_profile(InstanceProfileName="ip")
    iam.add_role_to_instance_profile(InstanceProfileName="ip", RoleName="app")

    full = iam.get_account_authorization_details()
    assert not full["IsTruncated"]
    (user,) = full["UserDetailList"]
    assert (user["UserName"], user["GroupList"], user["Tags"]) == (
        "alice",
        ["devs"],
        [{"Key": "k", "Value": "v"}],
    )
    assert user["UserPolicyList"] == [{"PolicyName": "inline", "PolicyDocument": json.loads(BOUNDARY)}]
    assert user["AttachedManagedPolicies"] == []
    (group,) = full["GroupDetailList"]
    assert group["AttachedManagedPolicies"] == [{"PolicyName": "local", "PolicyArn": arn}]
    (role,) = full["RoleDetailList"]
    assert role["RolePolicyList"][0]["PolicyName"] == "inline"
    assert role["AttachedManagedPolicies"] == [
        {"PolicyName": "ReadOnlyAccess", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}
    ]
    assert role["InstanceProfileList"][0]["InstanceProfileName"] == "ip"
    assert role["InstanceProfileList"][0]["Roles"][0]["Description"] == "role d"
    assert role["RoleLastUsed"] == {}
    # Customer-managed policies, and AWS-managed ones only when attached.
    by_arn = {p["Arn"]: p for p in full["Policies"]}
    assert set(by_arn) == {arn, "arn:aws:iam::aws:policy/ReadOnlyAccess"}
    local = by_arn[arn]
    assert (local["Description"], local["AttachmentCount"], local["DefaultVersionId"]) == ("d", 1, "v2")
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in local["PolicyVersionList"]] == [
        ("v2", True),
        ("v1", False),
    ]
    assert local["PolicyVersionList"][0]["Document"] == json.loads(BOUNDARY)

    only_roles = iam.get_account_authorization_details(Filter=["Role"])
    assert [
        len(only_roles[k]) for k in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
    ] == [
        0,
        0,
        1,
        0,
    ]
    aws = iam.get_account_authorization_details(Filter=["AWSManagedPolicy"])["Policies"]
    assert [p["PolicyName"] for p in aws] == ["ReadOnlyAccess"]

    first = iam.get_account_authorization_details(MaxItems=2)
    assert first["IsTruncated"] and len(first["UserDetailList"]) + len(first["GroupDetailList"]) == 2
    rest = iam.get_account_authorization_details(Marker=first["Marker"])
    assert not rest["IsTruncated"] and len(rest["RoleDetailList"]) == 1 and len(rest["Policies"]) == 2


KEYED = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::bucket/${aws:username}/*",
                "Condition": {
                    "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
                    "StringEquals": {"aws:SourceVpc": "vpc-1"},
                },
            },
            {
                "Effect": "Deny",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"NotIpAddress": {"AWS:SOURCEIP": "10.0.0.0/8"}},
            },
        ],
    }
)


def test_get_context_keys_for_policies(server: Server) -> None:
    """The condition keys and policy variables the policies reference, once each;
    for a user, its own and its groups' policies."""
    iam = server.client("iam")
    assert iam.get_context_keys_for_custom_policy(PolicyInputList=[KEYED])["ContextKeyNames"] == [
        "aws:SourceIp",
        "aws:SourceVpc",
        "aws:username",
    ]
    user, group = _name("u"), _name("g")
    iam.create_user(UserName=user)
    arn = iam.get_user(UserName=user)["User"]["Arn"]
    assert iam.get_context_keys_for_principal_policy(PolicySourceArn=arn)["ContextKeyNames"] == []
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.put_group_policy(GroupName=group, PolicyName="keyed", PolicyDocument=KEYED)
    extra = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "ec2:*",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"ec2:Region": "us-east-1"}},
                }
            ],
        }
    )
    got = iam.get_context_keys_for_principal_policy(PolicySourceArn=arn, PolicyInputList=[extra])
    assert got["ContextKeyNames"] == ["aws:SourceIp", "aws:SourceVpc", "aws:username", "ec2:Region"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.get_context_keys_for_principal_policy(PolicySourceArn=arn + "x")
    assert e.value.response["Error"]["Code"] == "NoSuchEntity"


def test_get_account_summary(dev_server: Server) -> None:
    """Counts of the account's entities and the quotas (those enforced as enforced)."""
    dev_server.admin_post("/_fleetward/reset")
    iam = dev_server.client("iam")
    empty = iam.get_account_summary()["SummaryMap"]
    assert {
        k: empty[k] for k in ("Users", "Groups", "Roles", "Policies", "PolicyVersionsInUse")
    } == dict.fromkeys(("Users", "Groups", "Roles", "Policies", "PolicyVersionsInUse"), 0)
    assert (empty["AccessKeysPerUserQuota"], empty["VersionsPerPolicyQuota"], empty["PolicySizeQuota"]) == (
        2,
        5,
        6144,
    )
    assert empty["UsersQuota"] == 5000 and empty["MFADevices"] == 0
    arn = iam.create_policy(PolicyName="p", PolicyDocument=BOUNDARY)["Policy"]["Arn"]
    iam.create_user(UserName="u")
    iam.create_group(GroupName="g")
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=TRUST_EC2)
    iam.create_instance_profile(InstanceProfileName="ip")
    for call, kw in (
        (iam.attach_user_policy, {"UserName": "u"}),
        (iam.attach_group_policy, {"GroupName": "g"}),
        (iam.attach_role_policy, {"RoleName": "r"}),
    ):
        call(PolicyArn=arn, **kw)
    iam.attach_role_policy(RoleName="r", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    got = iam.get_account_summary()["SummaryMap"]
    assert {
        k: got[k] for k in ("Users", "Groups", "Roles", "InstanceProfiles", "Policies", "PolicyVersionsInUse")
    } == {
        "Users": 1,
        "Groups": 1,
        "Roles": 1,
        "InstanceProfiles": 1,
        "Policies": 1,
        "PolicyVersionsInUse": 4,
    }


def test_list_account_aliases_answers_none(server: Server) -> None:
    got = server.client("iam").list_account_aliases()
    assert (got["AccountAliases"], got["IsTruncated"]) == ([], False)
