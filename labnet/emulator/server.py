"""Entry point of the emulator process: moto's server on 127.0.0.1.

    python -m labnet.emulator.server READY_FILE [PORT] [--warm-before-ready]

Started by :func:`labnet.emulator.start` as its own session so it outlives the notebook kernel that
started it, on a port the OS picks (PORT 0, the default). Tests that stop and restart the emulator
pass a fixed PORT so it comes back at the same address. Writes ``{"host", "port", "pid"}`` to the
ready file once it listens; logs only warnings.

moto is not thread-safe (its EC2 backend iterates shared dicts that concurrent requests insert into:
two CreateRoute calls on one route table at once answered 500), yet its server handles each
connection in a thread of its own. This server runs moto's app one request at a time, whoever sends
them (labnet, a test's own boto3 client, another process), and says so in a response header
(:data:`labnet.emulator.SERIAL_HEADER`), so labnet's clients may keep several calls in flight: their
own request building and response parsing then overlap moto's work instead of waiting for it.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading


def _warm() -> None:
    """moto builds its EC2 backend (instance types, AMIs) on the first request, about 1.4 s."""
    try:
        from moto.ec2.models import ec2_backends

        ec2_backends["123456789012"]["us-east-1"].describe_availability_zones()
    except Exception:  # noqa: BLE001 warming is an optimisation only
        pass


def fix_moto() -> None:
    """Where moto 5.2.5 answers differently from AWS in a way labnet depends on, correct it in
    labnet's own emulator (the fixes are in the emulator, never in labnet's reader or analysis):

    - A static TGW route to an attachment is stored with its attachment as a dict where EC2's shape
      (and moto's own serializer) expects a list, so ``create_transit_gateway_route`` and
      ``search_transit_gateway_routes`` answer the route with no attachment at all. Inter-region
      routes via a peering attachment then look like routes to nowhere.
    - Service Quotas' ``GetAWSDefaultServiceQuota`` is not implemented: every call answered a 500 and
      left a traceback in the emulator's log. It is served from the defaults moto ships (those
      ``ListAWSDefaultServiceQuotas`` serves); a quota moto has no default for answers
      ``NoSuchResourceException``, as AWS answers a code it does not know, so the log keeps only real
      problems.
    - A new VPC's default security group has no inbound rule; AWS's has one, all traffic from the group
      itself. labnet's program revokes both of AWS's rules (issue 19): without this fix the emulator
      would show that as done when only the egress rule was ever there.
    - A network ACL entry's ICMP type and code (``IcmpTypeCode``) are read from a parameter name the
      API does not use, so they are dropped: an ICMP type 3 code 4 entry reads back as "all ICMP",
      which Prowler and labnet's exposure would both report as open to the Internet.
    - ``DescribeNetworkAcls`` does not implement the ``network-acl-id`` filter AWS documents: the call
      answered a 500 (``FilterNotImplementedError``), so a refresh of a stack with network ACLs failed.
    - For existing TGWs and VPCs (issue 20), each explained where it is made: a TGW's default route
      table association and propagation (:func:`_fix_default_route_tables`), a VPC attachment's tags
      (:func:`_fix_attachment_tags`), a deleted subnet's network ACL association
      (:func:`_fix_deleted_subnet_acl_associations`).
    """
    _fix_tgw_route_attachments()
    _serve_default_service_quota()
    _fix_default_group()
    _fix_nacl_icmp()
    _fix_nacl_id_filter()


def _serve_default_service_quota() -> None:
    from moto.core.exceptions import JsonRESTError
    from moto.servicequotas import responses

    if hasattr(responses.ServiceQuotasResponse, "get_aws_default_service_quota"):
        return  # served already (by this fix, or by a moto that implements it)

    def get_aws_default_service_quota(self) -> str:
        params = json.loads(self.body)
        service, code = str(params.get("ServiceCode")), str(params.get("QuotaCode"))
        try:
            defaults = self.backend.list_aws_default_service_quotas(service)
        except JsonRESTError:
            defaults = []
        for quota in defaults:
            if quota.get("QuotaCode") == code:
                return json.dumps({"Quota": quota})
        raise JsonRESTError("NoSuchResourceException",
                            f"the emulator has no AWS default for quota {code} of service {service}")

    responses.ServiceQuotasResponse.get_aws_default_service_quota = get_aws_default_service_quota


def _fix_tgw_route_attachments() -> None:
    from moto.ec2.models import transit_gateway_route_tables as tgw_rt

    real = tgw_rt.TransitGatewayRouteTableBackend.create_transit_gateway_route
    if getattr(real, "_labnet_fixed", False):
        return

    def create_transit_gateway_route(self, *args, **kwargs):
        route = real(self, *args, **kwargs)
        attached = route.get("transitGatewayAttachments")
        if isinstance(attached, dict):
            route["transitGatewayAttachments"] = [attached]
        return route

    create_transit_gateway_route._labnet_fixed = True  # type: ignore[attr-defined]
    tgw_rt.TransitGatewayRouteTableBackend.create_transit_gateway_route = create_transit_gateway_route
    _fix_default_route_tables()


def _fix_default_route_tables() -> None:
    """moto 5.2.5 and a TGW's default route tables (an existing TGW often has them enabled):

    - a new VPC attachment is associated with the TGW's default table, but the association is not
      recorded where ``DisassociateTransitGatewayRouteTable`` looks for it, so taking the attachment
      out of the default table (what pulumi-aws does for an attachment declared without default
      association) fails with a 500 instead of disassociating it;
    - a TGW with default route table propagation enabled does not propagate the new attachment into
      its propagation default table, as EC2 does.

    Here the attachment's association with the default table is recorded like any association (so
    it can be undone), and with default propagation enabled the attachment is propagated into the
    propagation default table, as EC2 does on create."""
    from moto.ec2.models import transit_gateway_attachments as tgw_att
    from moto.ec2.models import transit_gateway_route_tables as tgw_rt

    backend = tgw_att.TransitGatewayAttachmentBackend
    real_create = backend.create_transit_gateway_vpc_attachment

    def create_transit_gateway_vpc_attachment(self, *args, **kwargs):
        att = real_create(self, *args, **kwargs)
        tgw = self.transit_gateways.get(att.transit_gateway_id)
        opts = getattr(tgw, "options", {}) or {}
        table = att.transit_gateway_route_table
        if table is not None and opts.get("DefaultRouteTableAssociation") == "enable":
            self.transit_gateway_associations[att.id] = tgw_rt.TransitGatewayRelations(
                self, att.id, table.id, state="associated")
        prop_table = opts.get("PropagationDefaultRouteTableId")
        if opts.get("DefaultRouteTablePropagation") == "enable" and prop_table in self.transit_gateways_route_tables:
            self.enable_transit_gateway_route_table_propagation(att.id, prop_table)
        return att

    backend.create_transit_gateway_vpc_attachment = create_transit_gateway_vpc_attachment
    _fix_attachment_tags()


def _fix_attachment_tags() -> None:
    """moto 5.2.5 takes a new VPC attachment's tags from the ``transit-gateway-route-table`` tag
    specification instead of ``transit-gateway-attachment``, so an attachment created with tags (as
    labnet's are: ``stack``, ``managed-by``) has none. EC2 keeps them; labnet tells its own attachment
    on an existing TGW from others by them."""
    from moto.ec2.responses import transit_gateway_attachments as responses

    cls = responses.TransitGatewayAttachment
    real = cls.create_transit_gateway_vpc_attachment

    def create_transit_gateway_vpc_attachment(self):
        parsed = self._parse_tag_specification()
        self._parse_tag_specification = lambda *a, **k: {
            **parsed, "transit-gateway-route-table": parsed.get("transit-gateway-attachment", {})}
        try:
            return real(self)
        finally:
            del self._parse_tag_specification

    cls.create_transit_gateway_vpc_attachment = create_transit_gateway_vpc_attachment
    _fix_deleted_subnet_acl_associations()


def _fix_deleted_subnet_acl_associations() -> None:
    """moto 5.2.5 keeps a deleted subnet's association in its network ACL, so the ACL (an existing
    VPC's default ACL, say) still lists a subnet that no longer exists; EC2 drops the association
    with the subnet. Here deleting a subnet drops it too."""
    from moto.ec2.models import subnets

    backend = subnets.SubnetBackend
    real = backend.delete_subnet

    def delete_subnet(self, subnet_id):
        deleted = real(self, subnet_id)
        for acl in getattr(self, "network_acls", {}).values():
            for key in [k for k, a in acl._associations.items() if a.subnet_id == subnet_id]:
                del acl._associations[key]
        return deleted

    backend.delete_subnet = delete_subnet


def _fix_default_group() -> None:
    from moto.ec2.models import vpcs

    real = vpcs.VPCBackend.create_vpc
    if getattr(real, "_labnet_fixed", False):
        return

    def create_vpc(self, *args, **kwargs):
        vpc = real(self, *args, **kwargs)
        group = self.get_security_group_from_name("default", vpc_id=vpc.id)
        if group is not None and not group.ingress_rules:
            self.authorize_security_group_ingress(group.id, "-1", None, None, [],
                                                  source_groups=[{"GroupId": group.id}], vpc_id=vpc.id)
        return vpc

    create_vpc._labnet_fixed = True  # type: ignore[attr-defined]
    vpcs.VPCBackend.create_vpc = create_vpc


def _fix_nacl_id_filter() -> None:
    from moto.ec2.models.network_acls import NetworkAcl

    if getattr(NetworkAcl.get_filter_value, "_labnet", False):
        return
    original = NetworkAcl.get_filter_value

    def get_filter_value(self, filter_name, method_name=None):
        if filter_name == "network-acl-id":
            return self.id
        return original(self, filter_name) if method_name is None else original(self, filter_name, method_name)

    get_filter_value._labnet = True  # type: ignore[attr-defined]
    NetworkAcl.get_filter_value = get_filter_value


def _fix_nacl_icmp() -> None:
    from moto.ec2.responses import network_acls

    cls = network_acls.NetworkACLs
    if getattr(cls.create_network_acl_entry, "_labnet_fixed", False):
        return

    def fixed(real):
        def call(self):
            result = real(self)
            code, kind = self._get_param("IcmpTypeCode.Code"), self._get_param("IcmpTypeCode.Type")
            if code is not None or kind is not None:
                acl = self.ec2_backend.get_network_acl(self._get_param("NetworkAclId"))
                number, egress = int(self._get_param("RuleNumber")), self._get_param("Egress")
                for entry in acl.network_acl_entries:
                    if int(entry.rule_number) == number and str(entry.egress).lower() == str(egress).lower():
                        entry.icmp_code, entry.icmp_type = code, kind
            return result

        call._labnet_fixed = True  # type: ignore[attr-defined]
        return call

    cls.create_network_acl_entry = fixed(cls.create_network_acl_entry)
    cls.replace_network_acl_entry = fixed(cls.replace_network_acl_entry)


def serialized(app, header: tuple[str, str]):
    """``app`` (a WSGI app) run one request at a time, its responses marked with ``header``. The body
    is read inside the lock too: moto may build it lazily from shared state."""
    lock = threading.Lock()

    def run(environ, start_response):
        def start(status, headers, exc_info=None):
            return start_response(status, [*headers, header], exc_info)

        with lock:
            result = app(environ, start)
            try:
                return [b"".join(result)]
            finally:
                getattr(result, "close", lambda: None)()

    return run


def main(ready_file: str, port: int = 0, warm_before_ready: bool = False) -> None:
    logging.basicConfig(level=logging.WARNING)
    for name in ("werkzeug", "moto", "botocore"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from moto.moto_server import werkzeug_app
    from werkzeug.serving import make_server

    from labnet.emulator import SERIAL_HEADER

    fix_moto()

    # moto's ThreadedMotoServer, with its app wrapped (it takes no app of ours).
    app = serialized(werkzeug_app.DomainDispatcherApplication(werkzeug_app.create_backend_app), (SERIAL_HEADER, "1"))
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=werkzeug_app.MotoRequestHandler)
    threading.Thread(target=server.serve_forever, name="moto-server", daemon=True).start()
    host, bound = server.server_address[:2]
    if warm_before_ready:
        _warm()
    else:
        # Pay the first-request cost now, while the caller goes on, not inside the first sizing call.
        threading.Thread(target=_warm, daemon=True).start()
    old = os.umask(0o077)  # the ready file lives in the private state folder
    try:
        with open(ready_file + ".tmp", "w") as fh:
            json.dump({"host": host, "port": bound, "pid": os.getpid()}, fh)
    finally:
        os.umask(old)
    os.replace(ready_file + ".tmp", ready_file)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.shutdown()


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(args[0], int(args[1]) if len(args) > 1 else 0, "--warm-before-ready" in sys.argv)
