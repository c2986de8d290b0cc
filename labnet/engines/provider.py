"""labnet's emulator provider: a Pulumi resource provider plugin that stands in for pulumi-aws on the
embedded emulator.

The real engine (the ``pulumi`` CLI, driven by the Automation API) runs labnet's program unchanged and
calls the ``aws`` provider plugin over gRPC (the ``ResourceProvider`` service). On AWS that plugin is
pulumi-aws; on the emulator it is this module, installed as the ``aws`` plugin at the pulumi_aws
version in a PULUMI_HOME of labnet's own (:mod:`labnet.engines.plugin`), never in the user's. Every
resource operation goes to the same EC2 handlers the rehearsal engine calls
(:data:`labnet.engines.handlers.HANDLERS`): one translation of pulumi-aws inputs into EC2 calls, two
callers.

What it answers, and how it mirrors pulumi-aws:

- ``CheckConfig``/``DiffConfig``/``Configure``: the explicit provider the program builds per region
  (:func:`labnet.program.provider`) carries the region, the emulator's endpoints, its test keys and
  the skip flags. The engine starts one plugin process per provider, so each process serves exactly
  one region. A provider without an EC2 endpoint (one meant for real AWS) is refused: this provider
  never calls AWS.
- ``Check`` accepts the inputs as the program sent them (the handlers take them as they are);
  ``Diff`` decides replace vs update the way pulumi-aws does: the properties its schema marks
  ``willReplaceOnChanges`` (Terraform's ``ForceNew``; :data:`REPLACE_ON_CHANGES`), plus the two
  conditional replacements Terraform's CustomizeDiff makes, so a preview plans what AWS would.
- ``Create``/``Delete`` call the handler; ``Read`` (refresh) asks the handler whether the resource is
  still there (gone: an empty id, and Pulumi forgets it); ``Update`` runs the handler's in-place
  update when the handler can make it (``can_update``: today a managed prefix list's entries and
  size, which is what adding or removing a spoke changes) and otherwise fails naming the properties,
  before any call.
- Inputs arrive as protobuf Structs: camelCase keys, numbers as floats, Pulumi's unknown sentinel
  during previews. The provider tells the engine it does not accept secrets or resource references,
  so the engine sends plain values and marks outputs secret again itself.

Run by the engine as ``python -m labnet.engines.provider [flags] ENGINE_ADDRESS``: it serves on a free
port on 127.0.0.1 and writes that port on stdout, which is how a Pulumi plugin says where it listens.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from concurrent import futures
from typing import Any

PACKAGE = "aws"
NAME = "labnet emulator provider"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # Pulumi's wire sentinel for a value not known yet
_SIG = "4dabf18193072939515e22adb298388d"
_SECRET = "1b47061264138c4ac30d75fd1eb44270"
_RESOURCE = "5cf8f73096256a8f31e491e813e4eb8e"
_OUTPUT = "d0e6a833031e9bbcd3f4e8bde6ca49a4"

# The input properties whose change makes pulumi-aws replace the resource (its schema's
# willReplaceOnChanges, generated from terraform-provider-aws's ForceNew / RequiresReplace), for every
# type labnet's program declares, by pulumi-aws property name. Everything else updates in place.
REPLACE_ON_CHANGES: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in {
    "aws:ec2transitgateway/transitGateway:TransitGateway": {"amazonSideAsn", "multicastSupport"},
    "aws:ec2transitgateway/routeTable:RouteTable": {"transitGatewayId"},
    "aws:ec2transitgateway/vpcAttachment:VpcAttachment": {"transitGatewayId", "vpcId"},
    "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation": {
        "transitGatewayAttachmentId", "transitGatewayRouteTableId", "replaceExistingAssociation"},
    "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation": {
        "transitGatewayAttachmentId", "transitGatewayRouteTableId"},
    "aws:ec2transitgateway/peeringAttachment:PeeringAttachment": {
        "peerAccountId", "peerRegion", "peerTransitGatewayId", "transitGatewayId", "options"},
    "aws:ec2transitgateway/peeringAttachmentAccepter:PeeringAttachmentAccepter": {"transitGatewayAttachmentId"},
    "aws:ec2transitgateway/route:Route": {
        "blackhole", "destinationCidrBlock", "transitGatewayAttachmentId", "transitGatewayRouteTableId"},
    "aws:ec2/vpc:Vpc": {"cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength"},
    "aws:ec2/vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation": {
        "cidrBlock", "vpcId", "ipv4IpamPoolId", "ipv4NetmaskLength"},
    "aws:ec2/subnet:Subnet": {"availabilityZone", "availabilityZoneId", "cidrBlock", "vpcId", "outpostArn",
                              "ipv6Native"},
    "aws:ec2/routeTable:RouteTable": {"vpcId"},
    "aws:ec2/routeTableAssociation:RouteTableAssociation": {"subnetId", "gatewayId"},
    "aws:ec2/route:Route": {"routeTableId", "destinationCidrBlock", "destinationIpv6CidrBlock",
                            "destinationPrefixListId"},
    "aws:ec2/internetGateway:InternetGateway": set(),
    "aws:ec2/securityGroup:SecurityGroup": {"name", "namePrefix", "description", "vpcId"},
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {"securityGroupId"},
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": {"securityGroupId"},
    "aws:ec2/managedPrefixList:ManagedPrefixList": {"addressFamily"},
    "aws:ec2/vpcEndpoint:VpcEndpoint": {"serviceName", "vpcEndpointType", "vpcId"},
    "aws:ec2/eip:Eip": {"address", "domain", "ipamPoolId", "networkBorderGroup", "publicIpv4Pool"},
    "aws:ec2/natGateway:NatGateway": {"allocationId", "subnetId", "connectivityType", "privateIp"},
    "aws:ec2/launchTemplate:LaunchTemplate": {"name", "namePrefix"},
    # issue 19: flow logs, their bucket, the VPC's defaults
    "aws:ec2/flowLog:FlowLog": {"deliverCrossAccountRole", "destinationOptions", "eniId", "iamRoleArn",
                                "logDestination", "logDestinationType", "logFormat", "maxAggregationInterval",
                                "subnetId", "trafficType", "transitGatewayAttachmentId", "transitGatewayId",
                                "vpcId"},
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": {"vpcId"},
    "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl": {"defaultNetworkAclId"},
    "aws:ec2/networkAcl:NetworkAcl": {"vpcId"},
    "aws:s3/bucket:Bucket": {"bucket", "bucketPrefix", "objectLockEnabled", "region"},
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": {"bucket", "region"},
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": {"bucket", "region"},
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": {
        "bucket", "expectedBucketOwner", "region"},
    "aws:s3/bucketVersioning:BucketVersioning": {"bucket", "expectedBucketOwner", "mfa", "region"},
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": {"bucket", "expectedBucketOwner", "region"},
    "aws:s3/bucketPolicy:BucketPolicy": {"bucket", "region"},
}.items()}

# A security group rule's source (Terraform: "you cannot change the rule's source type"): changing
# which of these a rule uses replaces it, whatever the values.
_RULE_SOURCES = ("cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId")


def aws_version() -> str:
    """The version this provider reports: the aws plugin version pulumi_aws was built for."""
    from .automation import aws_plugin_version

    return aws_plugin_version()


# -- values on the wire --------------------------------------------------------------------------
def from_struct(struct) -> dict[str, Any]:
    """A protobuf Struct as plain Python, with Pulumi's special objects resolved: a secret as its value,
    a resource reference as its id (else its URN), an output value as its value (unknown: the sentinel)."""
    from google.protobuf import json_format

    if struct is None:
        return {}
    return _plain(json_format.MessageToDict(struct))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        sig = value.get(_SIG)
        if sig == _SECRET:
            return _plain(value.get("value"))
        if sig == _RESOURCE:
            return _plain(value.get("id")) or value.get("urn", "")
        if sig == _OUTPUT:
            return _plain(value["value"]) if "value" in value else UNKNOWN
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def to_struct(values: dict[str, Any]):
    from google.protobuf import struct_pb2

    out = struct_pb2.Struct()
    out.update(values)
    return out


def _clean(inputs: dict[str, Any]) -> dict[str, Any]:
    """The resource's own inputs (the engine and bridge keep bookkeeping keys such as ``__defaults``)."""
    return {k: v for k, v in inputs.items() if not k.startswith("__")}


def _has_unknown(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_unknown(v) for v in value)
    return value == UNKNOWN


# -- the plan: replace vs update -----------------------------------------------------------------
def changed_keys(old: dict[str, Any], new: dict[str, Any], ignore: tuple[str, ...] = ()) -> list[str]:
    """Top-level input properties that differ (an unknown new value counts as a change)."""
    return sorted(k for k in set(old) | set(new)
                  if k not in ignore and (old.get(k) != new.get(k) or _has_unknown(new.get(k))))


def replacing_keys(typ: str, old: dict[str, Any], new: dict[str, Any], changed: list[str]) -> list[str]:
    """Which of ``changed`` make pulumi-aws replace the resource (see :data:`REPLACE_ON_CHANGES`)."""
    force = set(REPLACE_ON_CHANGES.get(typ, ()))
    if typ == "aws:ec2transitgateway/transitGateway:TransitGateway":
        # Terraform's ForceNewIfChange: a default route table association or propagation turned from
        # disable to enable replaces the TGW; the other way round is an update.
        for key in ("defaultRouteTableAssociation", "defaultRouteTablePropagation"):
            if old.get(key, "enable") == "disable" and new.get(key, "enable") in ("enable", UNKNOWN):
                force.add(key)
    if typ.startswith("aws:vpc/securityGroup") and typ.endswith("Rule"):
        before = {k for k in _RULE_SOURCES if old.get(k)}
        after = {k for k in _RULE_SOURCES if new.get(k)}
        if before != after:
            force |= before | after
    return [k for k in changed if k in force]


# -- the provider --------------------------------------------------------------------------------
class ProviderError(Exception):
    """An operation the provider refuses or that failed; its message reaches the user through the engine."""


class EmulatorProvider:
    """One provider instance (one plugin process): configured once with one region's settings."""

    def __init__(self, engine_address: str | None = None) -> None:
        self.engine_address = engine_address
        self.version = aws_version()
        self.region: str | None = None
        self.endpoint: str | None = None
        self._keys: tuple[str, str] = ("", "")
        self._ec2 = None
        self._lock = threading.Lock()
        self._call: Any = contextlib.nullcontext()
        self.cancelled = threading.Event()

    # -- configuration ---------------------------------------------------------------------------
    @staticmethod
    def settings(args: dict[str, Any], variables: dict[str, str] | None = None) -> dict[str, Any]:
        """The provider's settings from its inputs (``args``) or, from an older engine, from its
        config variables (``aws:region`` → JSON-or-text values)."""
        values = dict(args)
        for key, raw in (variables or {}).items():
            name = key.split(":", 1)[-1]
            if name.startswith("config:"):
                name = name.split(":", 1)[-1]
            values.setdefault(name, raw)
        out: dict[str, Any] = {}
        for key, value in values.items():
            # The SDK sends a provider's non-string inputs JSON-encoded.
            if isinstance(value, str) and value[:1] in "[{":
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            out[key] = value
        return out

    @staticmethod
    def ec2_endpoint(settings: dict[str, Any]) -> str | None:
        endpoints = settings.get("endpoints") or []
        if isinstance(endpoints, dict):
            endpoints = [endpoints]
        for block in endpoints:
            if isinstance(block, dict) and block.get("ec2"):
                return str(block["ec2"])
        return None

    def check_config(self, news: dict[str, Any]) -> list[tuple[str, str]]:
        """Failures (property, reason) for a provider this plugin cannot serve."""
        settings = self.settings(news)
        failures = []
        if not settings.get("region"):
            failures.append(("region", "labnet's emulator provider needs the region (the program sets it)"))
        endpoint = self.ec2_endpoint(settings)
        if endpoint is None:
            failures.append(("endpoints", "labnet's emulator provider serves only the embedded emulator: the "
                             "provider has no ec2 endpoint, so it is meant for real AWS, which needs the real "
                             "pulumi-aws plugin (run it with your own PULUMI_HOME, not labnet's emulator one)"))
        return [f for f in failures if not _has_unknown(settings.get(f[0]))]

    def configure(self, args: dict[str, Any], variables: dict[str, str] | None = None) -> None:
        settings = self.settings(args, variables)
        problems = [] if _has_unknown(settings) else self.check_config(settings)
        if problems:
            raise ProviderError("; ".join(f"{p}: {r}" for p, r in problems))
        self.region = str(settings.get("region") or "")
        self.endpoint = self.ec2_endpoint(settings)
        self._keys = (str(settings.get("accessKey") or ""), str(settings.get("secretKey") or ""))

    def ec2(self):
        """This instance's EC2 client (built on first use: a preview that changes nothing builds none)."""
        if self.endpoint is None:
            raise ProviderError("the aws provider was not configured (no region and endpoint)")
        with self._lock:
            if self._ec2 is None:
                import boto3
                from botocore.config import Config

                from .. import emulator

                # As labnet's own emulator clients: one attempt per call (a retried create could
                # make a second copy), loopback timeouts.
                self._ec2 = boto3.session.Session().client(
                    "ec2", region_name=self.region, endpoint_url=self.endpoint,
                    aws_access_key_id=self._keys[0], aws_secret_access_key=self._keys[1],
                    config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                                  connect_timeout=emulator.CONNECT_TIMEOUT, read_timeout=emulator.READ_TIMEOUT))
                # moto is not thread-safe: calls overlap only where the emulator runs one request at a
                # time itself (labnet's own does), as in the rehearsal engine.
                if not emulator.serializes(self.endpoint):
                    self._call = threading.Lock()
            return self._ec2

    def describe(self) -> str:
        return (f"aws provider for {self.region}: {NAME} (labnet's EC2 handlers, not pulumi-aws) "
                f"v{self.version} at {self.endpoint}")

    # -- resources -------------------------------------------------------------------------------
    @staticmethod
    def handler(typ: str):
        from .handlers import HANDLERS

        if typ not in HANDLERS:
            raise ProviderError(f"{NAME} has no EC2 calls for {typ}: it stands in for pulumi-aws only for the "
                                f"resource types labnet's program declares ({len(HANDLERS)} of them)")
        return HANDLERS[typ]

    def check(self, typ: str, news: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if typ not in REPLACE_ON_CHANGES:
            return news, [("", f"{NAME} does not serve {typ}: it stands in for pulumi-aws only for the "
                               "resource types labnet's program declares")]
        self.handler(typ)
        return news, []

    def diff(self, typ: str, old: dict[str, Any], new: dict[str, Any],
             ignore: tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
        """(changed, replacing) top-level input properties."""
        changed = changed_keys(_clean(old), _clean(new), ignore)
        return changed, replacing_keys(typ, old, new, changed)

    def create(self, typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if self.cancelled.is_set():
            raise ProviderError(f"cancelled before creating {name}")
        inputs = _clean(inputs)
        handler = self.handler(typ)
        ec2 = self.ec2()
        with self._call:
            rid, outputs = handler.create(ec2, name, inputs)
        return rid, {**inputs, **outputs}

    def read(self, typ: str, rid: str, inputs: dict[str, Any]) -> bool:
        """Whether the resource is still on the emulator ("not found" answers mean no)."""
        from .handlers import is_not_found

        handler = self.handler(typ)
        try:
            with self._call:
                return bool(handler.exists(self.ec2(), rid, _clean(inputs)))
        except Exception as exc:
            if is_not_found(exc):
                return False
            raise

    def update(self, typ: str, name: str, rid: str, old_inputs: dict[str, Any], news: dict[str, Any],
               olds: dict[str, Any]) -> dict[str, Any]:
        if self.cancelled.is_set():
            raise ProviderError(f"cancelled before updating {name}")
        handler = self.handler(typ)
        old_inputs, news = _clean(old_inputs), _clean(news)
        changed = changed_keys(old_inputs, news)
        if not changed:
            return {**olds, **news}
        if not handler.can_update(old_inputs, news):
            cannot = sorted(set(changed) - set(handler.updatable))
            raise ProviderError(
                f"{name}: pulumi-aws would update {', '.join(cannot)} in place, but {NAME} has no EC2 calls for "
                f"that (its handler for {typ} updates {', '.join(sorted(handler.updatable)) or 'nothing'} in "
                "place); nothing was changed. Destroy and deploy again with the new spec, or keep the old one")
        with self._call:
            outputs = handler.update(self.ec2(), rid, news, olds)
        return {**olds, **news, **outputs}

    def delete(self, typ: str, name: str, rid: str, inputs: dict[str, Any], olds: dict[str, Any]) -> None:
        from .handlers import is_not_found

        handler = self.handler(typ)
        inputs = _clean(inputs or olds)
        try:
            with self._call:
                handler.delete(self.ec2(), rid, inputs, olds)
        except Exception as exc:
            # "Not found" is done; any other error counts only if the resource is still there (an
            # emulator restarted without its memory answers some deletes of unknown ids with a 500).
            if is_not_found(exc):
                return
            try:
                gone = not self.read(typ, rid, inputs)
            except Exception:  # noqa: BLE001 cannot tell: keep the original error
                gone = False
            if not gone:
                raise


# -- the gRPC service ----------------------------------------------------------------------------
def _name(request) -> str:
    return getattr(request, "name", "") or request.urn.rsplit("::", 1)[-1]


def _type(request) -> str:
    return getattr(request, "type", "") or request.urn.rsplit("::", 2)[-2].rsplit("$", 1)[-1]


def servicer(provider: EmulatorProvider):
    """The ``ResourceProvider`` gRPC servicer over ``provider``."""
    import grpc
    from google.protobuf import empty_pb2
    from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc

    def failing(method):
        """Errors reach the engine as a gRPC status whose text the CLI shows; tracebacks stay here."""
        def wrapped(self, request, context):
            try:
                return method(self, request, context)
            except ProviderError as exc:
                context.abort(grpc.StatusCode.UNKNOWN, str(exc))
            except Exception as exc:  # noqa: BLE001 reported to the engine with what was being done
                context.abort(grpc.StatusCode.UNKNOWN, f"{_short(exc)}")
        wrapped.__name__ = method.__name__
        return wrapped

    class Servicer(provider_pb2_grpc.ResourceProviderServicer):
        def GetPluginInfo(self, request, context):
            return plugin_pb2.PluginInfo(version=provider.version)

        def GetSchema(self, request, context):
            from .handlers import HANDLERS

            schema = {"name": PACKAGE, "version": provider.version,
                      "description": f"{NAME}: stands in for pulumi-aws on labnet's embedded emulator",
                      "resources": {token: {"description": f"{NAME}: {type(h).__name__}"}
                                    for token, h in HANDLERS.items()}}
            return provider_pb2.GetSchemaResponse(schema=json.dumps(schema))

        @failing
        def CheckConfig(self, request, context):
            news = from_struct(request.news)
            failures = [provider_pb2.CheckFailure(property=p, reason=r) for p, r in provider.check_config(news)]
            return provider_pb2.CheckResponse(inputs=request.news, failures=failures)

        @failing
        def DiffConfig(self, request, context):
            old = EmulatorProvider.settings(from_struct(request.old_inputs) or from_struct(request.olds))
            new = EmulatorProvider.settings(from_struct(request.news))
            old.pop("version", None), new.pop("version", None)
            changed = changed_keys(old, new)
            # Resources live in a region: another region is another provider (replace); other settings
            # (an emulator back on another port, keys) are an update that keeps every resource.
            replaces = [k for k in changed if k == "region"]
            return provider_pb2.DiffResponse(
                changes=provider_pb2.DiffResponse.DIFF_SOME if changed else provider_pb2.DiffResponse.DIFF_NONE,
                diffs=changed, replaces=replaces)

        @failing
        def Configure(self, request, context):
            provider.configure(from_struct(request.args), dict(request.variables))
            _log(provider, provider.describe(), request.urn if hasattr(request, "urn") else "")
            return provider_pb2.ConfigureResponse(acceptSecrets=False, acceptResources=False,
                                                  acceptOutputs=False, supportsPreview=False)

        @failing
        def Check(self, request, context):
            news = from_struct(request.news)
            _, failures = provider.check(_type(request), news)
            return provider_pb2.CheckResponse(
                inputs=request.news, failures=[provider_pb2.CheckFailure(property=p, reason=r) for p, r in failures])

        @failing
        def Diff(self, request, context):
            old = from_struct(request.old_inputs) if request.HasField("old_inputs") else from_struct(request.olds)
            new = from_struct(request.news)
            changed, replaces = provider.diff(_type(request), old, new, tuple(request.ignoreChanges))
            kind = provider_pb2.PropertyDiff
            detailed = {}
            for key in changed:
                if key not in old:
                    k = kind.ADD_REPLACE if key in replaces else kind.ADD
                elif key not in new:
                    k = kind.DELETE_REPLACE if key in replaces else kind.DELETE
                else:
                    k = kind.UPDATE_REPLACE if key in replaces else kind.UPDATE
                detailed[key] = kind(kind=k, inputDiff=True)
            return provider_pb2.DiffResponse(
                changes=provider_pb2.DiffResponse.DIFF_SOME if changed else provider_pb2.DiffResponse.DIFF_NONE,
                diffs=changed, replaces=replaces, detailedDiff=detailed, hasDetailedDiff=True,
                deleteBeforeReplace=False)

        @failing
        def Create(self, request, context):
            if request.preview:  # not asked for (supportsPreview=False), answered honestly if it is
                return provider_pb2.CreateResponse(id="", properties=request.properties)
            rid, props = provider.create(_type(request), _name(request), from_struct(request.properties))
            return provider_pb2.CreateResponse(id=rid, properties=to_struct(props))

        @failing
        def Read(self, request, context):
            props = from_struct(request.properties)
            inputs = from_struct(request.inputs)
            if not request.id:
                raise ProviderError(f"{NAME} cannot import or read {_name(request)} without an id")
            if not provider.read(_type(request), request.id, inputs or props):
                return provider_pb2.ReadResponse(id="")  # gone: the engine forgets it
            return provider_pb2.ReadResponse(id=request.id, properties=request.properties, inputs=request.inputs)

        @failing
        def Update(self, request, context):
            if request.preview:
                return provider_pb2.UpdateResponse(properties=request.news)
            olds = from_struct(request.olds)
            old_inputs = from_struct(request.old_inputs) if request.HasField("old_inputs") else olds
            props = provider.update(_type(request), _name(request), request.id, old_inputs,
                                    from_struct(request.news), olds)
            return provider_pb2.UpdateResponse(properties=to_struct(props))

        @failing
        def Delete(self, request, context):
            olds = from_struct(request.properties)
            inputs = from_struct(request.old_inputs) if request.HasField("old_inputs") else olds
            provider.delete(_type(request), _name(request), request.id, inputs, olds)
            return empty_pb2.Empty()

        def Cancel(self, request, context):
            provider.cancelled.set()
            return empty_pb2.Empty()

        def Attach(self, request, context):
            provider.engine_address = request.address
            return empty_pb2.Empty()

    return Servicer()


def _log(provider: EmulatorProvider, message: str, urn: str = "") -> None:
    """An info line in the engine's diagnostics (shown by preview and up): which provider serves."""
    if not provider.engine_address:
        return
    try:
        import grpc
        from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc

        with grpc.insecure_channel(provider.engine_address) as channel:
            engine_pb2_grpc.EngineStub(channel).Log(
                engine_pb2.LogRequest(severity=engine_pb2.INFO, message=message, urn=urn), timeout=10)
    except Exception:  # noqa: BLE001 a diagnostic only
        pass


def _short(exc: BaseException) -> str:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return f"EC2 {exc.operation_name} failed: {err.get('Code', '?')}: {err.get('Message', '')}"
    return f"{type(exc).__name__}: {exc}"[:600]


def serve(engine_address: str | None = None, port: int = 0, out=None) -> Any:
    """Start the provider's gRPC server on 127.0.0.1; write the port to ``out`` (stdout) as a Pulumi
    plugin does; return the server (the caller waits on it)."""
    import grpc
    from pulumi.runtime.proto import provider_pb2_grpc

    provider = EmulatorProvider(engine_address)
    # The engine runs many resource operations at once (its --parallel); each blocks on EC2 calls.
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=64, thread_name_prefix="labnet-provider"),
                         options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)])
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(servicer(provider), server)
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    out = out or sys.stdout
    out.write(f"{bound}\n")
    out.flush()
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labnet.engines.provider", description=__doc__.split("\n")[0])
    parser.add_argument("engine", nargs="?", help="the Pulumi engine's address (the engine passes it)")
    # Flags every Pulumi plugin is given; nothing to do with them here.
    parser.add_argument("--logtostderr", action="store_true")
    parser.add_argument("--logflow", action="store_true")
    args, _unknown = parser.parse_known_args(argv)
    server = serve(args.engine)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # A terminal's Ctrl-C reaches the whole process group, this plugin included. The engine decides:
    # it lets the operations in flight finish (Cancel tells the provider) and then closes the plugin;
    # stopping here would fail those operations and leave pending creates in the stack's state.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A CLI that dies without closing its plugins (killed, or its pipes closed under it) leaves them
    # running; Pulumi's own providers then exit when the engine stops answering. This one exits when
    # the process that started it is gone (it is adopted by another).
    parent = os.getppid()
    while not stop.wait(1.0):
        if os.getppid() != parent:
            break
    server.stop(grace=5).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
