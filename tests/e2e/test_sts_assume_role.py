"""STS AssumeRole through the real server: trust policies, durations, session
policies and tags, and temporary credentials that stop working at expiry."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

import botocore.auth
import botocore.exceptions
import pytest

from tests.support.server import Server, signed_request

# Every test here runs against SQLite and PostgreSQL (tests/conftest.py).
BACKENDS = ("sqlite", "postgresql")


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _err(exc: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> tuple[str, str]:
    e = exc.value.response["Error"]
    return e["Code"], e["Message"]


@pytest.fixture
def setup(server: Server) -> dict[str, Any]:
    """A user allowed to assume a role whose trust policy names it."""
    iam = server.client("iam")
    sfx = uuid.uuid4().hex[:8]
    user = iam.create_user(UserName=f"caller-{sfx}")["User"]
    key = iam.create_access_key(UserName=user["UserName"])["AccessKey"]
    trust = _doc({"Effect": "Allow", "Principal": {"AWS": user["Arn"]}, "Action": ["sts:AssumeRole"]})
    role = iam.create_role(
        RoleName=f"role-{sfx}", AssumeRolePolicyDocument=trust, Tags=[{"Key": "team", "Value": "blue"}]
    )["Role"]
    iam.put_role_policy(
        RoleName=role["RoleName"],
        PolicyName="p",
        PolicyDocument=_doc(
            {"Effect": "Allow", "Action": ["iam:GetRole", "iam:ListRoles", "iam:ListUsers"], "Resource": "*"}
        ),
    )
    return {"user": user, "creds": (key["AccessKeyId"], key["SecretAccessKey"]), "role": role, "sfx": sfx}


@pytest.fixture
def moved_clock(server: Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Move the server clock and sign with the same time; reset afterwards."""

    def move(offset: float) -> None:
        server.admin_post("/_fleetward/clock", json.dumps({"offset": offset}).encode())
        monkeypatch.setattr(
            botocore.auth,
            "get_current_datetime",
            lambda remove_tzinfo=True: (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=offset)).replace(
                tzinfo=None if remove_tzinfo else dt.UTC
            ),
        )

    yield move
    server.admin_post("/_fleetward/clock", b'{"offset": 0}')


def _assume(server: Server, creds: tuple[str, ...], role_arn: str, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = server.client("sts", creds=creds).assume_role(
        RoleArn=role_arn, RoleSessionName="s1", **kw
    )
    return out


def _temp(out: dict[str, Any]) -> tuple[str, str, str]:
    c = out["Credentials"]
    return c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]


def test_assume_role_works_until_expiry(server: Server, setup: dict[str, Any], moved_clock: Any) -> None:
    role = setup["role"]
    out = _assume(server, setup["creds"], role["Arn"], DurationSeconds=900)
    account = role["Arn"].split(":")[4]
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{account}:assumed-role/{role['RoleName']}/s1"
    assert out["AssumedRoleUser"]["AssumedRoleId"] == f"{role['RoleId']}:s1"
    temp = _temp(out)
    assert temp[0].startswith("ASIA")
    ident = server.client("sts", creds=temp).get_caller_identity()
    assert ident["Arn"] == out["AssumedRoleUser"]["Arn"] and ident["UserId"] == f"{role['RoleId']}:s1"
    server.client("iam", creds=temp).get_role(RoleName=role["RoleName"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.client("iam", creds=temp).create_user(UserName="nope-" + setup["sfx"])
    assert _err(e)[1].startswith(
        f"User: {out['AssumedRoleUser']['Arn']} is not authorized to perform: iam:CreateUser"
    )
    moved_clock(880)
    server.client("iam", creds=temp).get_role(RoleName=role["RoleName"])
    moved_clock(901)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.client("iam", creds=temp).get_role(RoleName=role["RoleName"])
    assert _err(e) == ("ExpiredToken", "The security token included in the request is expired")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.client("ssm", creds=temp).describe_parameters()
    assert _err(e)[0] == "ExpiredTokenException"


def test_assume_role_with_the_aws_cli(server: Server, setup: dict[str, Any]) -> None:
    out = server.aws(
        "sts",
        "assume-role",
        "--role-arn",
        setup["role"]["Arn"],
        "--role-session-name",
        "cli",
        creds=setup["creds"],
        check=True,
    )
    temp = _temp(json.loads(out.stdout))
    ident = json.loads(server.aws("sts", "get-caller-identity", creds=temp, check=True).stdout)
    assert ident["Arn"].endswith(f"assumed-role/{setup['role']['RoleName']}/cli")


def test_trust_policy_must_allow(server: Server, setup: dict[str, Any]) -> None:
    iam = server.client("iam")
    other = iam.create_user(UserName="other-" + setup["sfx"])["User"]
    iam.attach_user_policy(
        UserName=other["UserName"], PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"
    )
    key = iam.create_access_key(UserName=other["UserName"])["AccessKey"]
    creds = (key["AccessKeyId"], key["SecretAccessKey"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        _assume(server, creds, setup["role"]["Arn"])
    code, msg = _err(e)
    assert code == "AccessDenied"
    assert msg == (
        f"User: {other['Arn']} is not authorized to perform: sts:AssumeRole on resource: "
        f"{setup['role']['Arn']} because no resource-based policy allows the sts:AssumeRole action"
    )
    missing = setup["role"]["Arn"] + "-missing"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        _assume(server, creds, missing)
    assert _err(e)[0] == "AccessDenied"


def test_account_trust_needs_an_identity_allow(server: Server, setup: dict[str, Any]) -> None:
    iam = server.client("iam")
    account = setup["role"]["Arn"].split(":")[4]
    iam.update_assume_role_policy(
        RoleName=setup["role"]["RoleName"],
        PolicyDocument=_doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "sts:AssumeRole",
            }
        ),
    )
    with pytest.raises(botocore.exceptions.ClientError) as e:
        _assume(server, setup["creds"], setup["role"]["Arn"])
    assert "because no identity-based policy allows the sts:AssumeRole action" in _err(e)[1]
    iam.put_user_policy(
        UserName=setup["user"]["UserName"],
        PolicyName="assume",
        PolicyDocument=_doc(
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": setup["role"]["Arn"]}
        ),
    )
    _assume(server, setup["creds"], setup["role"]["Arn"])


def test_duration_bounds(server: Server, setup: dict[str, Any]) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as e:
        _assume(server, setup["creds"], setup["role"]["Arn"], DurationSeconds=7200)
    assert _err(e) == (
        "ValidationError",
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    )
    # Below the model's minimum: botocore refuses client-side, so send it raw.
    from urllib.parse import urlencode

    body = urlencode(
        {
            "Action": "AssumeRole",
            "Version": "2011-06-15",
            "RoleArn": setup["role"]["Arn"],
            "RoleSessionName": "s1",
            "DurationSeconds": "899",
        }
    ).encode()
    status, _, payload = signed_request(
        server.endpoint,
        body,
        {"Content-Type": "application/x-www-form-urlencoded"},
        service="sts",
        key=setup["creds"][0],
        secret=setup["creds"][1],
    )
    assert status == 400 and b"<Code>ValidationError</Code>" in payload
    out = _assume(server, setup["creds"], setup["role"]["Arn"], DurationSeconds=3600)
    exp = out["Credentials"]["Expiration"]
    now = dt.datetime.now(dt.UTC)
    assert dt.timedelta(seconds=3500) < exp - now < dt.timedelta(seconds=3700)


def test_session_policy_intersects(server: Server, setup: dict[str, Any]) -> None:
    out = _assume(
        server,
        setup["creds"],
        setup["role"]["Arn"],
        Policy=_doc({"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"}),
    )
    iam = server.client("iam", creds=_temp(out))
    iam.get_role(RoleName=setup["role"]["RoleName"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.list_roles()
    assert "because no session policy allows the iam:ListRoles action" in _err(e)[1]
    out = _assume(
        server,
        setup["creds"],
        setup["role"]["Arn"],
        PolicyArns=[{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}],
    )
    server.client("iam", creds=_temp(out)).list_users()


def test_session_tags_need_tag_session(server: Server, setup: dict[str, Any]) -> None:
    role = setup["role"]
    tags = [{"Key": "project", "Value": "x"}]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        _assume(server, setup["creds"], role["Arn"], Tags=tags)
    assert "sts:TagSession" in _err(e)[1]
    server.client("iam").update_assume_role_policy(
        RoleName=role["RoleName"],
        PolicyDocument=_doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": setup["user"]["Arn"]},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ),
    )
    server.client("iam").put_role_policy(
        RoleName=role["RoleName"],
        PolicyName="tagged",
        PolicyDocument=_doc(
            {
                "Effect": "Allow",
                "Action": "iam:ListGroups",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalTag/project": "x"}},
            }
        ),
    )
    out = _assume(server, setup["creds"], role["Arn"], Tags=tags)
    server.client("iam", creds=_temp(out)).list_groups()
    plain = _assume(server, setup["creds"], role["Arn"])
    with pytest.raises(botocore.exceptions.ClientError):
        server.client("iam", creds=_temp(plain)).list_groups()


def test_wrong_or_missing_session_token(server: Server, setup: dict[str, Any]) -> None:
    key, secret, token = _temp(_assume(server, setup["creds"], setup["role"]["Arn"]))
    for creds in ((key, secret), (key, secret, token[:-4] + "AAAA")):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            server.client("iam", creds=creds).list_roles()
        assert _err(e) == ("InvalidClientTokenId", "The security token included in the request is invalid.")


def test_deleted_role_sessions_stop(server: Server, setup: dict[str, Any]) -> None:
    temp = _temp(_assume(server, setup["creds"], setup["role"]["Arn"]))
    iam = server.client("iam")
    iam.delete_role_policy(RoleName=setup["role"]["RoleName"], PolicyName="p")
    iam.delete_role(RoleName=setup["role"]["RoleName"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.client("sts", creds=temp).get_caller_identity()
    assert _err(e)[0] == "InvalidClientTokenId"


def test_trust_conditions_on_external_id_and_session_name(server: Server, setup: dict[str, Any]) -> None:
    role, user = setup["role"], setup["user"]
    server.client("iam").update_assume_role_policy(
        RoleName=role["RoleName"],
        PolicyDocument=_doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": user["Arn"]},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"sts:ExternalId": "ext-1"},
                    "StringLike": {"sts:RoleSessionName": "${aws:username}"},
                },
            }
        ),
    )
    sts = server.client("sts", creds=setup["creds"])
    for kw in ({}, {"ExternalId": "ext-2"}, {"ExternalId": "ext-1", "RoleSessionName": "other"}):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            sts.assume_role(RoleArn=role["Arn"], **{"RoleSessionName": user["UserName"], **kw})
        assert _err(e) == (
            "AccessDenied",
            f"User: {user['Arn']} is not authorized to perform: sts:AssumeRole on resource: "
            f"{role['Arn']} because no resource-based policy allows the sts:AssumeRole action",
        )
    sts.assume_role(RoleArn=role["Arn"], RoleSessionName=user["UserName"], ExternalId="ext-1")


def test_identity_policy_sees_the_roles_tags(server: Server, setup: dict[str, Any]) -> None:
    role, user = setup["role"], setup["user"]
    iam = server.client("iam")
    iam.put_user_policy(
        UserName=user["UserName"],
        PolicyName="no-blue",
        PolicyDocument=_doc(
            {
                "Effect": "Deny",
                "Action": "sts:AssumeRole",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:ResourceTag/team": "blue"}},
            }
        ),
    )
    with pytest.raises(botocore.exceptions.ClientError) as e:
        _assume(server, setup["creds"], role["Arn"])
    assert _err(e)[1].endswith("with an explicit deny in an identity-based policy")
    iam.untag_role(RoleName=role["RoleName"], TagKeys=["team"])
    _assume(server, setup["creds"], role["Arn"])


def test_role_chaining_is_limited_to_one_hour(server: Server, setup: dict[str, Any]) -> None:
    iam = server.client("iam")
    first = _temp(_assume(server, setup["creds"], setup["role"]["Arn"]))
    second = iam.create_role(
        RoleName=f"chained-{setup['sfx']}",
        MaxSessionDuration=7200,
        AssumeRolePolicyDocument=_doc(
            {"Effect": "Allow", "Principal": {"AWS": setup["role"]["Arn"]}, "Action": "sts:AssumeRole"}
        ),
    )["Role"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        _assume(server, first, second["Arn"], DurationSeconds=3601)
    assert _err(e) == (
        "ValidationError",
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
    )
    out = _assume(server, first, second["Arn"], DurationSeconds=3600)
    assert out["AssumedRoleUser"]["Arn"].endswith(f":assumed-role/{second['RoleName']}/s1")


def _trusting(*principals: str) -> str:
    return _doc({"Effect": "Allow", "Principal": {"AWS": list(principals)}, "Action": "sts:AssumeRole"})


def test_trust_policies_follow_the_users_and_roles_they_name(server: Server) -> None:
    iam = server.client("iam")
    sfx = uuid.uuid4().hex[:8]
    account = server.client("sts").get_caller_identity()["Account"]
    ghost = f"arn:aws:iam::{account}:user/ghost-{sfx}"
    role = f"trusting-{sfx}"
    for principal in (ghost, f"arn:aws:iam::{account}:role/{role}", "AIDAJQABLZS4A3QDU576Q"):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            iam.create_role(RoleName=role, AssumeRolePolicyDocument=_trusting(principal))
        assert _err(e) == ("MalformedPolicyDocument", f'Invalid principal in policy: "AWS":"{principal}"')
    user = iam.create_user(UserName=f"carl-{sfx}")["User"]
    foreign = "arn:aws:iam::111122223333:user/someone"  # an account this installation does not hold
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=_trusting(user["Arn"], foreign))
    role_arn = iam.get_role(RoleName=role)["Role"]["Arn"]

    def trusted() -> list[str]:
        return list(
            iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"][
                "AWS"
            ]
        )

    # Renamed or moved, the user stays trusted under its new ARN.
    iam.update_user(UserName=user["UserName"], NewUserName=f"carlos-{sfx}", NewPath="/staff/")
    moved = f"arn:aws:iam::{account}:user/staff/carlos-{sfx}"
    assert trusted() == [moved, foreign]
    key = iam.create_access_key(UserName=f"carlos-{sfx}")["AccessKey"]
    _assume(server, (key["AccessKeyId"], key["SecretAccessKey"]), role_arn)
    # Deleted, it leaves its unique id, which a new user of the same name is not.
    iam.delete_access_key(UserName=f"carlos-{sfx}", AccessKeyId=key["AccessKeyId"])
    iam.delete_user(UserName=f"carlos-{sfx}")
    assert trusted() == [user["UserId"], foreign]
    iam.create_user(UserName=f"carlos-{sfx}", Path="/staff/")
    key = iam.create_access_key(UserName=f"carlos-{sfx}")["AccessKey"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        _assume(server, (key["AccessKeyId"], key["SecretAccessKey"]), role_arn)
    assert _err(e)[0] == "AccessDenied"
    # A deleted role named in another role's trust policy is replaced the same way.
    chained = f"chained-{sfx}"
    iam.create_role(RoleName=chained, AssumeRolePolicyDocument=_trusting(moved, role_arn))
    role_id = iam.get_role(RoleName=role)["Role"]["RoleId"]
    iam.delete_role(RoleName=role)
    statement = iam.get_role(RoleName=chained)["Role"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert statement["Principal"]["AWS"] == [moved, role_id]


def test_role_sessions_must_name_the_user(server: Server, setup: dict[str, Any]) -> None:
    server.client("iam").put_role_policy(
        RoleName=setup["role"]["RoleName"],
        PolicyName="users",
        PolicyDocument=_doc(
            {"Effect": "Allow", "Action": ["iam:GetUser", "iam:ListAccessKeys"], "Resource": "*"}
        ),
    )
    iam = server.client("iam", creds=_temp(_assume(server, setup["creds"], setup["role"]["Arn"])))
    for call in (iam.get_user, iam.list_access_keys):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert _err(e) == ("ValidationError", "Must specify userName when calling with non-User credentials")
    assert iam.get_user(UserName=setup["user"]["UserName"])["User"]["Arn"] == setup["user"]["Arn"]


def test_packed_policy_size(server: Server, setup: dict[str, Any]) -> None:
    import re
    import secrets

    role, user = setup["role"], setup["user"]
    server.client("iam").update_assume_role_policy(
        RoleName=role["RoleName"],
        PolicyDocument=_doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": user["Arn"]},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ),
    )
    statement = {"Effect": "Allow", "Action": "iam:GetRole", "Resource": "arn:aws:iam::*:role/"}
    policy = _doc(statement)
    policy = _doc({**statement, "Resource": statement["Resource"] + "r" * (2048 - len(policy))})
    assert len(policy) == 2048
    # The largest session policy the model allows, plus a tag, fits: STS packs them.
    out = _assume(server, setup["creds"], role["Arn"], Policy=policy, Tags=[{"Key": "k", "Value": "v"}])
    assert 0 < out["PackedPolicySize"] < 100
    assert _assume(server, setup["creds"], role["Arn"])["PackedPolicySize"] == 0
    tags = [{"Key": f"k{i}-{secrets.token_hex(40)}", "Value": secrets.token_hex(100)} for i in range(50)]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        _assume(server, setup["creds"], role["Arn"], Tags=tags)
    code, message = _err(e)
    assert code == "PackedPolicyTooLarge"
    assert re.fullmatch(
        r"Packed policy consumes \d+% of allotted space, please use smaller policy for session\.", message
    )


def test_source_identity_needs_set_source_identity(server: Server, setup: dict[str, Any]) -> None:
    role, user = setup["role"], setup["user"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        _assume(server, setup["creds"], role["Arn"], SourceIdentity="alice")
    assert "sts:SetSourceIdentity" in _err(e)[1]
    server.client("iam").update_assume_role_policy(
        RoleName=role["RoleName"],
        PolicyDocument=_doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": user["Arn"]},
                "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
                "Condition": {"StringEquals": {"sts:SourceIdentity": "alice"}},
            }
        ),
    )
    assert _assume(server, setup["creds"], role["Arn"], SourceIdentity="alice")["SourceIdentity"] == "alice"
    with pytest.raises(botocore.exceptions.ClientError):
        _assume(server, setup["creds"], role["Arn"], SourceIdentity="mallory")


def test_source_identity_stays_through_role_chaining(server: Server, setup: dict[str, Any]) -> None:
    iam = server.client("iam")
    role, user = setup["role"], setup["user"]
    iam.update_assume_role_policy(
        RoleName=role["RoleName"],
        PolicyDocument=_doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": user["Arn"]},
                "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
            }
        ),
    )
    iam.put_role_policy(
        RoleName=role["RoleName"],
        PolicyName="p",
        PolicyDocument=_doc(
            {
                "Effect": "Allow",
                "Action": "iam:ListRoles",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceIdentity": "alice"}},
            }
        ),
    )
    first = _temp(_assume(server, setup["creds"], role["Arn"], SourceIdentity="alice"))
    server.client("iam", creds=first).list_roles()  # aws:SourceIdentity is in the request context
    plain = _temp(_assume(server, setup["creds"], role["Arn"]))
    with pytest.raises(botocore.exceptions.ClientError):
        server.client("iam", creds=plain).list_roles()
    second = iam.create_role(
        RoleName=f"next-{setup['sfx']}",
        AssumeRolePolicyDocument=_doc(
            {"Effect": "Allow", "Principal": {"AWS": role["Arn"]}, "Action": "sts:AssumeRole"}
        ),
    )["Role"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        _assume(server, first, second["Arn"])
    assert "sts:SetSourceIdentity" in _err(e)[1]
    iam.update_assume_role_policy(
        RoleName=second["RoleName"],
        PolicyDocument=_doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": role["Arn"]},
                "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
            }
        ),
    )
    assert _assume(server, first, second["Arn"])["SourceIdentity"] == "alice"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        _assume(server, first, second["Arn"], SourceIdentity="mallory")
    assert _err(e)[0] == "AccessDenied"
    assert "SourceIdentity" not in _assume(server, plain, second["Arn"])


def test_a_malformed_role_arn_is_a_validation_error(server: Server, setup: dict[str, Any]) -> None:
    account = setup["role"]["Arn"].split(":")[4]
    for arn in (
        f"arn:aws:iam:{account}:role/{setup['role']['RoleName']}",
        setup["role"]["RoleName"] + "-x" * 10,
    ):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            _assume(server, setup["creds"], arn)
        assert _err(e) == ("ValidationError", "Request ARN is invalid")
