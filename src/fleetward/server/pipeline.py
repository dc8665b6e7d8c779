"""The request pipeline: every AWS call goes through these steps, in order.

1. request id     a UUID, returned as ``x-amzn-RequestId``
2. route          service and operation (X-Amz-Target, Query Action, REST path)
3. authenticate   SigV4 -> Principal (before parsing: an unauthenticated
                  caller learns nothing about the input rules)
4. parse          against botocore's model: AWS's ValidationException
5. authorize      the operation's checks through the policy engine
6. invoke         inside one transaction (mutating operations)
7. audit          CloudTrail record; in the transaction for a change, by
                  group commit otherwise; no response before it is durable
8. serialize      per protocol

Each step is a small method of :class:`Pipeline`; :meth:`Pipeline.handle`
is the ordered list.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.model import OperationModel

from fleetward.audit.record import build_record, cloudtrail_names, event_region
from fleetward.audit.writer import AuditUnavailable, AuditWriter
from fleetward.auth.principal import Principal
from fleetward.auth.sigv4 import HttpRequest, SigV4Auth, SigV4Error, SigV4ErrorKind, parse_auth
from fleetward.clock import Clock
from fleetward.ids import time_ordered_uuid
from fleetward.protocol import jsonproto, query, restjson
from fleetward.protocol.errors import (
    AWSError,
    IncompleteSignatureException,
    InternalFailure,
    InvalidAction,
    MissingAuthenticationTokenException,
    ServiceUnavailable,
    UnknownOperationException,
)
from fleetward.protocol.model import ServiceCatalog, ServiceInfo
from fleetward.protocol.redact import redact
from fleetward.protocol.registry import Check, OperationSpec, Registry
from fleetward.services.context import CallContext, ServiceEnv

__all__ = ["Authenticator", "Authorizer", "Call", "Pipeline", "Response"]

log = logging.getLogger("fleetward.pipeline")


class NotImplementedOperation(AWSError):
    """An operation of the model that fleetward does not provide (yet)."""

    code = "InvalidAction"
    status = 400


class Authenticator(Protocol):
    async def authenticate(self, req: HttpRequest, auth: SigV4Auth, call: Call) -> Principal:
        """Verify the signature and resolve the caller; raises an AWS auth error."""
        ...


class Authorizer(Protocol):
    async def authorize(self, call: Call, checks: Sequence[Check]) -> None:
        """Raise AccessDeniedException unless every check is allowed.

        Records the deciding statement in ``call.audit_extra``.
        """
        ...


@dataclass(slots=True)
class Response:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


@dataclass(slots=True)
class Call:
    """The state of one request as it moves down the pipeline."""

    request_id: str
    req: HttpRequest
    headers: dict[str, str]
    source_ip: str
    tls: dict[str, str] | None
    now: float
    protocol: str = "json"
    service: ServiceInfo | None = None
    op: OperationModel | None = None
    spec: OperationSpec | None = None
    auth: SigV4Auth | None = None
    principal: Principal | None = None
    params: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: AWSError | None = None
    region: str = "us-east-1"
    path_params: dict[str, str] = field(default_factory=dict)
    checks: Sequence[Check] = ()
    resources: list[dict[str, str]] = field(default_factory=list)
    audit_extra: dict[str, Any] = field(default_factory=dict)
    related_records: list[Any] = field(default_factory=list)
    audited: bool = False


class Pipeline:
    def __init__(
        self,
        *,
        catalog: ServiceCatalog,
        registry: Registry,
        authenticator: Authenticator,
        authorizer: Authorizer,
        audit: AuditWriter,
        env: ServiceEnv,
        clock: Clock,
    ) -> None:
        self.catalog = catalog
        self.registry = registry
        self.authn = authenticator
        self.authz = authorizer
        self.audit = audit
        self.env = env
        self.clock = clock
        self.rest_routers = {
            name: restjson.RestRouter(info.model)
            for name, info in catalog.services.items()
            if info.protocol == "rest-json"
        }

    # -- the ordered list -------------------------------------------------
    async def handle(
        self, req: HttpRequest, headers: dict[str, str], source_ip: str, tls: dict[str, str] | None
    ) -> Response:
        call = Call(self.new_request_id(), req, headers, source_ip, tls, self.clock.now())
        try:
            self.route(call)  # first, so a sealed server answers in the caller's protocol
            if self.env.extras.get("keyring") is None:
                raise ServiceUnavailable("fleetward is sealed: run `fleetward unseal` on the server host")
            await self.authenticate(call)
            self.parse(call)
            await self.authorize(call)
            await self.invoke(call)
        except AWSError as e:
            call.error = e
        except AuditUnavailable:
            # The change rolled back with its record: audit or fail.
            call.error = InternalFailure()
            call.result = None
        except Exception:
            log.exception("unhandled error in %s", call.spec.name if call.spec else "request")
            call.error = InternalFailure()
        try:
            await self.record(call)
        except AuditUnavailable:
            call.error = InternalFailure()
            call.result = None
        return self.serialize(call)

    # -- steps ------------------------------------------------------------
    @staticmethod
    def new_request_id() -> str:
        return time_ordered_uuid()

    def route(self, call: Call) -> None:
        target = call.headers.get("x-amz-target")
        if target is not None:
            prefix, _, name = target.rpartition(".")
            info = self.catalog.by_target.get(prefix)
            if info is None or not name:
                raise UnknownOperationException()
            call.service = info
            call.op = info.operation(name)
            if call.op is None:
                raise UnknownOperationException()
            return
        for svc, router in self.rest_routers.items():
            hit = router.match(call.req.method, call.req.path)
            if hit is not None:
                call.protocol = "rest-json"
                call.service = self.catalog[svc]
                call.op, call.path_params = hit
                return
        # Query protocol: the service is the one named in the credential scope.
        call.protocol = "query"
        call.auth = self._parse_auth(call)
        info = self.catalog.by_signing_name.get(call.auth.service)
        if info is None or info.protocol != "query":
            raise UnknownOperationException()
        call.service = info
        params = query.parse_form(call.req.body, call.req.query)
        call.path_params = params
        action = params.get("Action")
        if not action:
            raise InvalidAction("Could not find operation to perform")
        call.op = info.operation(action)
        if call.op is None:
            raise InvalidAction(f"Could not find operation {action} for version {params.get('Version', '')}")

    def _parse_auth(self, call: Call) -> SigV4Auth:
        try:
            return parse_auth(call.req)
        except SigV4Error as e:
            if e.kind is SigV4ErrorKind.MISSING:
                if call.protocol == "query":
                    raise MissingAuthenticationTokenException(
                        "Request is missing Authentication Token"
                    ) from None
                raise MissingAuthenticationTokenException() from None
            raise IncompleteSignatureException(e.message) from None

    async def authenticate(self, call: Call) -> None:
        if call.auth is None:
            call.auth = self._parse_auth(call)
        call.region = call.auth.region
        call.principal = await self.authn.authenticate(call.req, call.auth, call)

    def parse(self, call: Call) -> None:
        op = call.op
        info = call.service
        if op is None or info is None:
            raise InternalFailure()
        if call.protocol == "json":
            call.params = jsonproto.parse_request(op, call.req.body)
        elif call.protocol == "query":
            call.params = query.parse_request(op, call.path_params)
        else:
            call.params = restjson.parse_request(
                op, call.path_params, call.req.query, call.headers, call.req.body
            )
        call.spec = self.registry.get(info.name, op.name)

    async def authorize(self, call: Call) -> None:
        spec = call.spec
        info = call.service
        if info is None or call.op is None or call.params is None:
            raise InternalFailure()
        if spec is None:
            raise NotImplementedOperation(f"{info.name}:{call.op.name} is not implemented by fleetward")
        if spec.public:
            return
        ctx = self._context(call, self.env.db)  # read-only context for resource lookups
        if spec.authorize is not None:
            async with self.env.db.read() as conn:
                ctx.conn = conn
                call.checks = await spec.authorize(ctx, call.params)
        else:
            call.checks = (Check(f"{info.iam_prefix}:{spec.name}"),)
        call.resources = [
            {"ARN": c.resource, "type": c.resource_type or ""} for c in call.checks if c.resource != "*"
        ]
        await self.authz.authorize(call, call.checks)

    async def invoke(self, call: Call) -> None:
        spec = call.spec
        if spec is None or call.params is None:
            raise InternalFailure()
        db = self.env.db
        if spec.read_only:
            async with db.read() as conn:
                ctx = self._context(call, conn)
                try:
                    call.result = await spec.handler(ctx, call.params)
                finally:
                    self._absorb(call, ctx)
            return
        async with db.write() as conn:
            ctx = self._context(call, conn)
            try:
                call.result = await spec.handler(ctx, call.params)
            finally:
                self._absorb(call, ctx)
            # Audit or fail: the records commit with the change, or neither does.
            await self.audit.write_in(conn, self._build_record(call), *call.related_records)
        # Only once committed: a failed COMMIT leaves the call to be recorded as failed.
        call.audited = True

    async def record(self, call: Call) -> None:
        # Every call gets a record, also one that failed routing or authentication;
        # calls it made on the caller's behalf go in the same batch (one wait).
        if call.audited:
            return
        await self.audit.submit(self._build_record(call), *call.related_records)

    def serialize(self, call: Call) -> Response:
        rid = call.request_id.encode()
        err = call.error
        if call.protocol == "query":
            ns = (
                call.service.xml_namespace if call.service else None
            ) or "https://sts.amazonaws.com/doc/2011-06-15/"
            if err is not None:
                body = query.dump_error(err, ns, call.request_id)
                status = err.status_for("query")
            else:
                body = query.dump_result(call.op, ns, call.result, call.request_id)
                status = 200
            return Response(status, [(b"content-type", query.CONTENT_TYPE), (b"x-amzn-requestid", rid)], body)
        if call.protocol == "rest-json":
            if err is not None:
                return Response(
                    err.status,
                    [
                        (b"content-type", b"application/json"),
                        (b"x-amzn-requestid", rid),
                        (b"x-amzn-errortype", err.code.encode()),
                    ],
                    restjson.dump_error(err),
                )
            return Response(
                200,
                [(b"content-type", b"application/json"), (b"x-amzn-requestid", rid)],
                jsonproto.dump_result(call.result),
            )
        if err is not None:
            return Response(
                err.status,
                [
                    (b"content-type", jsonproto.CONTENT_TYPE),
                    (b"x-amzn-requestid", rid),
                    (b"x-amzn-errortype", err.code.encode()),
                ],
                jsonproto.dump_error(err),
            )
        return Response(
            200,
            [(b"content-type", jsonproto.CONTENT_TYPE), (b"x-amzn-requestid", rid)],
            jsonproto.dump_result(call.result),
        )

    # -- helpers ----------------------------------------------------------
    def _context(self, call: Call, conn: Any) -> CallContext:
        return CallContext(
            request_id=call.request_id,
            principal=call.principal,  # type: ignore[arg-type]
            region=call.region,
            env=self.env,
            conn=conn,
            source_ip=call.source_ip,
            user_agent=call.headers.get("user-agent", ""),
            now=call.now,
        )

    @staticmethod
    def _absorb(call: Call, ctx: CallContext) -> None:
        if ctx.resources:
            call.resources = ctx.resources
        if ctx.audit_extra:
            call.audit_extra.update(ctx.audit_extra)
        if ctx.related_records:
            call.related_records = ctx.related_records

    def _build_record(self, call: Call) -> Any:
        info = call.service
        op = call.op
        spec = call.spec
        p = call.principal
        hidden = spec.hidden if spec else frozenset()
        read_only = spec.read_only if spec else _guess_read_only(op.name if op else "")
        params = None
        if op is not None and call.params is not None:
            params = cloudtrail_names(op.input_shape, redact(op.input_shape, call.params, hidden))
        response = None
        if not read_only and call.error is None and op is not None and call.result:
            response = cloudtrail_names(op.output_shape, redact(op.output_shape, call.result, hidden))
        err = call.error
        if info is not None:
            source = info.event_source
        else:
            source = _guess_event_source(call)
        return build_record(
            principal=p,
            account=p.account if p else "",
            access_key=call.auth.access_key if call.auth else _guess_access_key(call),
            region=event_region(info.model.endpoint_prefix, call.region) if info else call.region,
            event_source=source,
            event_name=op.name if op else _guess_event_name(call),
            event_time=call.now,
            request_id=call.request_id,
            source_ip=call.source_ip,
            user_agent=call.headers.get("user-agent", ""),
            read_only=read_only,
            request_parameters=params or None,
            response_elements=response,
            resources=call.resources,
            error_code=err.code_for(call.protocol) if err else None,
            error_message=err.message if err else None,
            additional=call.audit_extra or None,
            tls=call.tls,
        )


def _guess_event_source(call: Call) -> str:
    """What an unrouted request was aimed at (from its target prefix or scope)."""
    target = call.headers.get("x-amz-target", "")
    if target:
        return target.rpartition(".")[0][:64] or "unknown"
    if call.auth is not None:
        return f"{call.auth.service[:32]}.amazonaws.com"
    return "unknown"


def _guess_event_name(call: Call) -> str:
    target = call.headers.get("x-amz-target", "")
    if target:
        return target.rpartition(".")[2][:128]
    return str(call.path_params.get("Action", ""))[:128]


def _guess_access_key(call: Call) -> str | None:
    """The access key named by an unparsable Authorization header, if any."""
    auth = call.headers.get("authorization", "")
    i = auth.find("Credential=")
    if i < 0:
        return None
    return auth[i + 11 :].split("/", 1)[0][:128] or None


def _guess_read_only(name: str) -> bool:
    return name.startswith(("Get", "List", "Describe", "Lookup"))
