"""The EC2 API calls behind each pulumi-aws resource type the program declares (rehearsal engine).

One handler per resource type token: ``create`` makes the real EC2 call(s) from the resource's
inputs (camelCase, as the Pulumi mock monitor delivers them) and returns ``(id, outputs)``;
``delete`` removes it, treating "already gone" as done; ``find`` looks for a resource whose create
call may have been sent by a run that was killed before it could record the id, and ``adopt`` finishes
such a resource: the steps ``create`` takes after its first call (attributes, attachments, waits)
may never have run, so adopting repeats them (each is idempotent) and returns the same outputs.
A handler whose ``updatable`` names input keys can also ``update`` a resource in place when only
those inputs change (today: a managed prefix list's entries and max entries); every other change
is a replacement, which the rehearsal engine refuses.

The calls mirror what the pulumi-aws provider does for the same resources, in the same order a
raw boto3 script would make them.
"""

from __future__ import annotations

import re
import time
from typing import Any, Callable

from botocore.exceptions import ClientError

from ..clients import sibling

NOT_FOUND = ("NotFound", "InvalidVpcID", "InvalidSubnetID", "InvalidRouteTableID", "InvalidGroup",
             "InvalidAssociationID", "InvalidRoute", "InvalidTransitGateway", "InvalidVpcEndpoint",
             "InvalidInternetGatewayID", "InvalidAllocationID", "InvalidNatGatewayID",
             "InvalidPermission.NotFound", "Gateway.NotAttached", "InvalidAttachmentID",
             # AWS answers an unknown launch template id with InvalidLaunchTemplateId.NotFound and an
             # unknown name with InvalidLaunchTemplateName.NotFoundException (moto uses the latter for both).
             "InvalidLaunchTemplateId.NotFound", "InvalidLaunchTemplateName.NotFound",
             "InvalidPrefixListID")


def is_not_found(exc: BaseException) -> bool:
    if not isinstance(exc, ClientError):
        return False
    code = exc.response.get("Error", {}).get("Code", "")
    return any(code.startswith(p) for p in NOT_FOUND) or code.endswith(".NotFound")


def _tag_spec(resource_type: str, inputs: dict[str, Any]) -> list[dict[str, Any]]:
    tags = inputs.get("tags") or {}
    if not tags:
        return []
    return [{"ResourceType": resource_type, "Tags": [{"Key": k, "Value": str(v)} for k, v in tags.items()]}]


def physical_name(logical: str, inputs: dict[str, Any]) -> str:
    """The name AWS sees for an auto-named resource, chosen the way Pulumi chooses it: the program's
    explicit ``name`` if it sets one, else its ``namePrefix`` plus a unique suffix (Terraform's
    ``PrefixedUniqueId``: 26 characters), else the logical name plus Pulumi's random 7-hex suffix.
    The emulator then sees the names real AWS would, rules included (a group name must not start
    with ``sg-``), instead of a friendlier name that would hide a rejection."""
    import secrets

    if inputs.get("name"):
        return str(inputs["name"])
    if inputs.get("namePrefix"):
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime()) + f"{int(time.time() * 100) % 100:02d}"
        return f"{inputs['namePrefix']}{stamp}{secrets.token_hex(4)}"
    return f"{logical}-{secrets.token_hex(4)[:7]}"


def _i(v: Any) -> int:
    return int(v)  # the mock monitor delivers numbers as floats


def _wait(describe: Callable[[], str | None], want: set[str], what: str, timeout: float = 600) -> None:
    """Poll until a resource reaches one of ``want`` states (real AWS takes minutes for a TGW;
    the emulator is immediate, so the first look normally succeeds)."""
    delay = 0.05
    deadline = time.monotonic() + timeout
    while True:
        state = describe()
        if state in want:
            return
        if state in ("failed", "rejected") or str(state).endswith("-failed"):
            raise RuntimeError(f"{what} entered state {state!r}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} still {state!r} after {timeout:.0f}s")
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


def _ours(item: dict[str, Any], inputs: dict[str, Any]) -> bool:
    """Whether ``item`` carries the Name and stack tags labnet gave the resource. Checked here as well
    as in the request's filters because an emulator may ignore tag filters (moto does for TGW route
    tables), and adopting a look-alike would later delete another stack's resource."""
    want = inputs.get("tags") or {}
    have = {t.get("Key"): t.get("Value") for t in item.get("Tags") or []}
    return all(have.get(k) == want[k] for k in ("Name", "stack") if k in want)


def _by_name_tag(describe, key: str, inputs: dict[str, Any], id_key: str, extra_filters=()) -> str | None:
    tags = inputs.get("tags") or {}
    if "Name" not in tags:
        return None
    filters = [{"Name": "tag:Name", "Values": [tags["Name"]]}, *extra_filters]
    if "stack" in tags:
        filters.append({"Name": "tag:stack", "Values": [tags["stack"]]})
    items = [i for i in describe(Filters=filters)[key] if _ours(i, inputs)]
    return items[0][id_key] if items else None


# -- handlers ------------------------------------------------------------------------------------
class Handler:
    token = ""
    updatable: frozenset[str] = frozenset()  # input keys ``update`` can change in place

    def can_update(self, old: dict[str, Any], new: dict[str, Any]) -> bool:
        """Whether going from ``old`` to ``new`` inputs is an in-place update (not a replacement)."""
        changed = {k for k in set(old) | set(new) if old.get(k) != new.get(k)}
        return bool(changed) and changed <= self.updatable

    def update(self, ec2, rid: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> dict[str, Any]:
        """Bring the live resource to ``inputs`` (only ``updatable`` keys differ); its new outputs.
        Must be idempotent: a run interrupted part-way through an update runs it again."""
        raise NotImplementedError

    def create(self, ec2, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def delete(self, ec2, rid: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        raise NotImplementedError

    def find(self, ec2, inputs: dict[str, Any]) -> str | None:
        return None

    def adopt(self, ec2, rid: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """Finish a resource ``find`` found (a create the journal saw sent but not answered); its outputs."""
        return {}

    def exists(self, ec2, rid: str, inputs: dict[str, Any]) -> bool:
        """Whether the resource is still there (used by refresh)."""
        return self.find_by_id(ec2, rid, inputs)

    def find_by_id(self, ec2, rid: str, inputs: dict[str, Any]) -> bool:
        return True


class TransitGateway(Handler):
    token = "aws:ec2transitgateway/transitGateway:TransitGateway"
    # A stack deployed before issue 19 gains group references in place (ModifyTransitGateway).
    updatable = frozenset({"securityGroupReferencingSupport"})

    def update(self, ec2, rid, inputs, outputs):
        ec2.modify_transit_gateway(TransitGatewayId=rid, Options={
            "SecurityGroupReferencingSupport": inputs.get("securityGroupReferencingSupport", "disable")})
        _wait(lambda: self._state(ec2, rid), {"available"}, f"transit gateway {rid}")
        return dict(outputs)

    def create(self, ec2, name, inputs):
        opts = {
            "AmazonSideAsn": _i(inputs.get("amazonSideAsn", 64512)),
            "DnsSupport": inputs.get("dnsSupport", "enable"),
            "VpnEcmpSupport": inputs.get("vpnEcmpSupport", "enable"),
            "DefaultRouteTableAssociation": inputs.get("defaultRouteTableAssociation", "enable"),
            "DefaultRouteTablePropagation": inputs.get("defaultRouteTablePropagation", "enable"),
            "AutoAcceptSharedAttachments": inputs.get("autoAcceptSharedAttachments", "disable"),
            "SecurityGroupReferencingSupport": inputs.get("securityGroupReferencingSupport", "disable"),
        }
        tgw = ec2.create_transit_gateway(Description=inputs.get("description", ""), Options=opts,
                                         TagSpecifications=_tag_spec("transit-gateway", inputs))["TransitGateway"]
        tid = tgw["TransitGatewayId"]
        _wait(lambda: self._state(ec2, tid), {"available"}, f"transit gateway {tid}")
        return tid, {"arn": tgw.get("TransitGatewayArn", ""), "ownerId": tgw.get("OwnerId", "")}

    def adopt(self, ec2, rid, inputs):
        _wait(lambda: self._state(ec2, rid), {"available"}, f"transit gateway {rid}")
        (tgw,) = ec2.describe_transit_gateways(TransitGatewayIds=[rid])["TransitGateways"]
        return {"arn": tgw.get("TransitGatewayArn", ""), "ownerId": tgw.get("OwnerId", "")}

    def _state(self, ec2, tid):
        items = ec2.describe_transit_gateways(TransitGatewayIds=[tid])["TransitGateways"]
        return items[0]["State"] if items else "deleted"

    def delete(self, ec2, rid, inputs, outputs):
        ec2.delete_transit_gateway(TransitGatewayId=rid)
        _wait(lambda: self._state(ec2, rid), {"deleted"}, f"transit gateway {rid} deletion")

    def find(self, ec2, inputs):
        tags = inputs.get("tags") or {}
        if "Name" not in tags:
            return None
        items = ec2.describe_transit_gateways(Filters=[{"Name": "tag:Name", "Values": [tags["Name"]]}])
        live = [t for t in items["TransitGateways"] if t["State"] not in ("deleted", "deleting") and _ours(t, inputs)]
        return live[0]["TransitGatewayId"] if live else None

    def find_by_id(self, ec2, rid, inputs):
        return self._state(ec2, rid) not in ("deleted", "deleting")


class TgwRouteTable(Handler):
    token = "aws:ec2transitgateway/routeTable:RouteTable"

    def create(self, ec2, name, inputs):
        rt = ec2.create_transit_gateway_route_table(
            TransitGatewayId=inputs["transitGatewayId"],
            TagSpecifications=_tag_spec("transit-gateway-route-table", inputs))["TransitGatewayRouteTable"]
        return rt["TransitGatewayRouteTableId"], {}

    def delete(self, ec2, rid, inputs, outputs):
        ec2.delete_transit_gateway_route_table(TransitGatewayRouteTableId=rid)

    def find(self, ec2, inputs):
        tags = inputs.get("tags") or {}
        if "Name" not in tags:
            return None
        items = ec2.describe_transit_gateway_route_tables(Filters=[
            {"Name": "tag:Name", "Values": [tags["Name"]]},
            {"Name": "transit-gateway-id", "Values": [inputs["transitGatewayId"]]}])["TransitGatewayRouteTables"]
        live = [t for t in items if t.get("State") not in ("deleted", "deleting") and _ours(t, inputs)
                and t.get("TransitGatewayId") == inputs["transitGatewayId"]]
        return live[0]["TransitGatewayRouteTableId"] if live else None

    def find_by_id(self, ec2, rid, inputs):
        items = ec2.describe_transit_gateway_route_tables(TransitGatewayRouteTableIds=[rid])
        return any(t.get("State") not in ("deleted", "deleting") for t in items["TransitGatewayRouteTables"])


class Vpc(Handler):
    token = "aws:ec2/vpc:Vpc"

    def create(self, ec2, name, inputs):
        vpc = ec2.create_vpc(CidrBlock=inputs["cidrBlock"], TagSpecifications=_tag_spec("vpc", inputs))["Vpc"]
        vid = vpc["VpcId"]
        return vid, self.adopt(ec2, vid, inputs)

    def adopt(self, ec2, rid, inputs):
        ec2.modify_vpc_attribute(VpcId=rid, EnableDnsSupport={"Value": bool(inputs.get("enableDnsSupport", True))})
        ec2.modify_vpc_attribute(VpcId=rid, EnableDnsHostnames={"Value": bool(inputs.get("enableDnsHostnames", False))})
        # What pulumi-aws's Vpc outputs too: the defaults EC2 made with the VPC (the program locks them down).
        acls = ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [rid]},
                                                  {"Name": "default", "Values": ["true"]}])["NetworkAcls"]
        groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [rid]},
                                                       {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
        return {"arn": f"vpc/{rid}", "defaultNetworkAclId": acls[0]["NetworkAclId"] if acls else "",
                "defaultSecurityGroupId": groups[0]["GroupId"] if groups else ""}

    def delete(self, ec2, rid, inputs, outputs):
        ec2.delete_vpc(VpcId=rid)

    def find(self, ec2, inputs):
        return _by_name_tag(ec2.describe_vpcs, "Vpcs", inputs, "VpcId",
                            [{"Name": "cidr-block", "Values": [inputs["cidrBlock"]]}])

    def find_by_id(self, ec2, rid, inputs):
        return bool(ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [rid]}])["Vpcs"])


class Subnet(Handler):
    token = "aws:ec2/subnet:Subnet"

    def create(self, ec2, name, inputs):
        sn = ec2.create_subnet(VpcId=inputs["vpcId"], CidrBlock=inputs["cidrBlock"],
                               AvailabilityZone=inputs["availabilityZone"],
                               TagSpecifications=_tag_spec("subnet", inputs))["Subnet"]
        return sn["SubnetId"], {}

    def delete(self, ec2, rid, inputs, outputs):
        ec2.delete_subnet(SubnetId=rid)

    def find(self, ec2, inputs):
        return _by_name_tag(ec2.describe_subnets, "Subnets", inputs, "SubnetId",
                            [{"Name": "vpc-id", "Values": [inputs["vpcId"]]}])

    def find_by_id(self, ec2, rid, inputs):
        return bool(ec2.describe_subnets(Filters=[{"Name": "subnet-id", "Values": [rid]}])["Subnets"])


class RouteTable(Handler):
    token = "aws:ec2/routeTable:RouteTable"

    def create(self, ec2, name, inputs):
        rt = ec2.create_route_table(VpcId=inputs["vpcId"], TagSpecifications=_tag_spec("route-table", inputs))
        return rt["RouteTable"]["RouteTableId"], {}

    def delete(self, ec2, rid, inputs, outputs):
        ec2.delete_route_table(RouteTableId=rid)

    def find(self, ec2, inputs):
        return _by_name_tag(ec2.describe_route_tables, "RouteTables", inputs, "RouteTableId",
                            [{"Name": "vpc-id", "Values": [inputs["vpcId"]]}])

    def find_by_id(self, ec2, rid, inputs):
        return bool(ec2.describe_route_tables(Filters=[{"Name": "route-table-id", "Values": [rid]}])["RouteTables"])


class RouteTableAssociation(Handler):
    token = "aws:ec2/routeTableAssociation:RouteTableAssociation"

    def create(self, ec2, name, inputs):
        r = ec2.associate_route_table(SubnetId=inputs["subnetId"], RouteTableId=inputs["routeTableId"])
        return r["AssociationId"], {}

    def delete(self, ec2, rid, inputs, outputs):
        ec2.disassociate_route_table(AssociationId=rid)

    def _associations(self, ec2, inputs):
        tables = ec2.describe_route_tables(
            Filters=[{"Name": "route-table-id", "Values": [inputs["routeTableId"]]}])["RouteTables"]
        return [a for t in tables for a in t.get("Associations", []) if a.get("SubnetId") == inputs["subnetId"]]

    def find(self, ec2, inputs):
        found = self._associations(ec2, inputs)
        return found[0]["RouteTableAssociationId"] if found else None

    def find_by_id(self, ec2, rid, inputs):
        return any(a["RouteTableAssociationId"] == rid for a in self._associations(ec2, inputs))


class Route(Handler):
    token = "aws:ec2/route:Route"
    TARGETS = (("transitGatewayId", "TransitGatewayId"), ("gatewayId", "GatewayId"),
               ("natGatewayId", "NatGatewayId"))

    @staticmethod
    def _destination(inputs):
        """(EC2 parameter, value) of the route's destination: a CIDR block or a prefix list."""
        if inputs.get("destinationPrefixListId"):
            return "DestinationPrefixListId", inputs["destinationPrefixListId"]
        return "DestinationCidrBlock", inputs["destinationCidrBlock"]

    def _id(self, inputs):
        # Terraform/pulumi-aws's id for a route: "r-" + route table id + hash of the destination.
        return f"r-{inputs['routeTableId']}_{self._destination(inputs)[1]}"

    def create(self, ec2, name, inputs):
        key, dest = self._destination(inputs)
        args = {"RouteTableId": inputs["routeTableId"], key: dest}
        for src, dst in self.TARGETS:
            if inputs.get(src):
                args[dst] = inputs[src]
        ec2.create_route(**args)
        return self._id(inputs), {}

    def delete(self, ec2, rid, inputs, outputs):
        key, dest = self._destination(inputs)
        ec2.delete_route(RouteTableId=inputs["routeTableId"], **{key: dest})

    def find(self, ec2, inputs):
        return self._id(inputs) if self.find_by_id(ec2, "", inputs) else None

    def find_by_id(self, ec2, rid, inputs):
        key, dest = self._destination(inputs)
        tables = ec2.describe_route_tables(
            Filters=[{"Name": "route-table-id", "Values": [inputs["routeTableId"]]}])["RouteTables"]
        return any(r.get(key) == dest for t in tables for r in t.get("Routes", []))


class VpcCidrBlock(Handler):
    """A secondary IPv4 block associated with a VPC (an existing VPC's, for labnet's attachment
    subnets, only when asked); its id is the association id. Deleting it disassociates the block,
    which leaves the VPC's other blocks as they were."""

    token = "aws:ec2/vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation"

    def create(self, ec2, name, inputs):
        assoc = ec2.associate_vpc_cidr_block(VpcId=inputs["vpcId"], CidrBlock=inputs["cidrBlock"])
        aid = assoc["CidrBlockAssociation"]["AssociationId"]
        return aid, self.adopt(ec2, aid, inputs)

    def adopt(self, ec2, rid, inputs):
        _wait(lambda: self._state(ec2, rid, inputs), {"associated"}, f"CIDR block {inputs['cidrBlock']}")
        return {}

    @staticmethod
    def _state(ec2, rid, inputs):
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [inputs["vpcId"]]}])["Vpcs"]
        for v in vpcs:
            for a in v.get("CidrBlockAssociationSet", []):
                if a.get("AssociationId") == rid:
                    return a.get("CidrBlockState", {}).get("State", "associated")
        return "disassociated"

    def delete(self, ec2, rid, inputs, outputs):
        ec2.disassociate_vpc_cidr_block(AssociationId=rid)
        _wait(lambda: self._state(ec2, rid, inputs), {"disassociated"}, f"CIDR block {inputs['cidrBlock']} removal")

    def find(self, ec2, inputs):
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [inputs["vpcId"]]}])["Vpcs"]
        found = [a["AssociationId"] for v in vpcs for a in v.get("CidrBlockAssociationSet", [])
                 if a.get("CidrBlock") == inputs["cidrBlock"]
                 and a.get("CidrBlockState", {}).get("State") in ("associating", "associated")]
        return found[0] if found else None

    def find_by_id(self, ec2, rid, inputs):
        return self._state(ec2, rid, inputs) in ("associating", "associated")


class InternetGateway(Handler):
    token = "aws:ec2/internetGateway:InternetGateway"

    def create(self, ec2, name, inputs):
        igw = ec2.create_internet_gateway(TagSpecifications=_tag_spec("internet-gateway", inputs))["InternetGateway"]
        gid = igw["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=gid, VpcId=inputs["vpcId"])
        return gid, {}

    def adopt(self, ec2, rid, inputs):
        (igw,) = ec2.describe_internet_gateways(InternetGatewayIds=[rid])["InternetGateways"]
        if not any(a.get("VpcId") == inputs["vpcId"] for a in igw.get("Attachments", [])):
            ec2.attach_internet_gateway(InternetGatewayId=rid, VpcId=inputs["vpcId"])
        return {}

    def delete(self, ec2, rid, inputs, outputs):
        try:
            ec2.detach_internet_gateway(InternetGatewayId=rid, VpcId=inputs["vpcId"])
        except ClientError as exc:
            if not is_not_found(exc):
                raise
        ec2.delete_internet_gateway(InternetGatewayId=rid)

    def find(self, ec2, inputs):
        return _by_name_tag(ec2.describe_internet_gateways, "InternetGateways", inputs, "InternetGatewayId")

    def find_by_id(self, ec2, rid, inputs):
        return bool(ec2.describe_internet_gateways(
            Filters=[{"Name": "internet-gateway-id", "Values": [rid]}])["InternetGateways"])


class VpcAttachment(Handler):
    token = "aws:ec2transitgateway/vpcAttachment:VpcAttachment"
    updatable = frozenset({"securityGroupReferencingSupport", "applianceModeSupport"})

    def update(self, ec2, rid, inputs, outputs):
        ec2.modify_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=rid, Options={
            "SecurityGroupReferencingSupport": inputs.get("securityGroupReferencingSupport", "disable"),
            "ApplianceModeSupport": inputs.get("applianceModeSupport", "disable")})
        _wait(lambda: self._state(ec2, rid), {"available"}, f"attachment {rid}")
        return dict(outputs)

    def create(self, ec2, name, inputs):
        att = ec2.create_transit_gateway_vpc_attachment(
            TransitGatewayId=inputs["transitGatewayId"], VpcId=inputs["vpcId"],
            SubnetIds=list(inputs["subnetIds"]),
            Options={"DnsSupport": inputs.get("dnsSupport", "enable"),
                     "SecurityGroupReferencingSupport": inputs.get("securityGroupReferencingSupport", "disable"),
                     "ApplianceModeSupport": inputs.get("applianceModeSupport", "disable")},
            TagSpecifications=_tag_spec("transit-gateway-attachment", inputs),
        )["TransitGatewayVpcAttachment"]
        aid = att["TransitGatewayAttachmentId"]
        return aid, self.adopt(ec2, aid, inputs)

    def adopt(self, ec2, rid, inputs):
        _wait(lambda: self._state(ec2, rid), {"available"}, f"attachment {rid}")
        self._leave_defaults(ec2, rid, inputs)
        return {}

    @staticmethod
    def _leave_defaults(ec2, rid, inputs):
        """Like pulumi-aws (terraform-provider-aws's VPC attachment create): on a TGW that associates
        and propagates new attachments with its default route tables (an existing TGW may), an
        attachment declared with ``transitGatewayDefaultRouteTableAssociation`` / ``...Propagation``
        false is taken out of them right after it is made. Only this attachment's own links change;
        the TGW's tables and everything else in them stay as they are."""
        (tgw,) = ec2.describe_transit_gateways(TransitGatewayIds=[inputs["transitGatewayId"]])["TransitGateways"]
        opts = tgw.get("Options", {})
        for key, on, table_key, list_call, list_key, gone, call in (
                ("transitGatewayDefaultRouteTableAssociation", "DefaultRouteTableAssociation",
                 "AssociationDefaultRouteTableId", "get_transit_gateway_route_table_associations", "Associations",
                 ("disassociated", "disassociating"), "disassociate_transit_gateway_route_table"),
                ("transitGatewayDefaultRouteTablePropagation", "DefaultRouteTablePropagation",
                 "PropagationDefaultRouteTableId", "get_transit_gateway_route_table_propagations",
                 "TransitGatewayRouteTablePropagations", ("disabled", "disabling"),
                 "disable_transit_gateway_route_table_propagation")):
            wanted = inputs.get(key, True)
            table = opts.get(table_key)
            if wanted not in (False, "false") or opts.get(on) != "enable" or not table:
                continue

            def linked(table=table, list_call=list_call, list_key=list_key, gone=gone):
                items = getattr(ec2, list_call)(TransitGatewayRouteTableId=table)[list_key]
                return any(a.get("TransitGatewayAttachmentId") == rid and a.get("State") not in gone for a in items)

            if linked():
                getattr(ec2, call)(TransitGatewayRouteTableId=table, TransitGatewayAttachmentId=rid)
                _wait(lambda linked=linked: "linked" if linked() else "gone", {"gone"},
                      f"attachment {rid} leaving default route table {table}")

    def _state(self, ec2, aid):
        items = ec2.describe_transit_gateway_vpc_attachments(
            TransitGatewayAttachmentIds=[aid])["TransitGatewayVpcAttachments"]
        return items[0]["State"] if items else "deleted"

    def delete(self, ec2, rid, inputs, outputs):
        ec2.delete_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=rid)
        _wait(lambda: self._state(ec2, rid), {"deleted"}, f"attachment {rid} deletion")

    def find(self, ec2, inputs):
        items = ec2.describe_transit_gateway_vpc_attachments(Filters=[
            {"Name": "vpc-id", "Values": [inputs["vpcId"]]},
            {"Name": "transit-gateway-id", "Values": [inputs["transitGatewayId"]]}])["TransitGatewayVpcAttachments"]
        live = [a for a in items if a["State"] not in ("deleted", "deleting")]
        return live[0]["TransitGatewayAttachmentId"] if live else None

    def find_by_id(self, ec2, rid, inputs):
        return self._state(ec2, rid) not in ("deleted", "deleting")


class _TgwRouteTableLink(Handler):
    """An attachment linked to a TGW route table (association or propagation); its id is Terraform's
    ``<route table>_<attachment>``."""

    create_call = delete_call = list_call = list_key = ""
    gone_states: tuple[str, ...] = ()

    @staticmethod
    def _args(inputs):
        return {"TransitGatewayRouteTableId": inputs["transitGatewayRouteTableId"],
                "TransitGatewayAttachmentId": inputs["transitGatewayAttachmentId"]}

    def _id(self, inputs):
        return f"{inputs['transitGatewayRouteTableId']}_{inputs['transitGatewayAttachmentId']}"

    def create(self, ec2, name, inputs):
        getattr(ec2, self.create_call)(**self._args(inputs))
        return self._id(inputs), {}

    def delete(self, ec2, rid, inputs, outputs):
        getattr(ec2, self.delete_call)(**self._args(inputs))

    def find(self, ec2, inputs):
        return self._id(inputs) if self.find_by_id(ec2, "", inputs) else None

    def find_by_id(self, ec2, rid, inputs):
        items = getattr(ec2, self.list_call)(
            TransitGatewayRouteTableId=inputs["transitGatewayRouteTableId"])[self.list_key]
        return any(a.get("TransitGatewayAttachmentId") == inputs["transitGatewayAttachmentId"]
                   and a.get("State") not in self.gone_states for a in items)


class TgwPeeringAttachment(Handler):
    """A TGW peering attachment, requested from this region's TGW to a TGW in ``peerRegion``. It
    waits for ``pendingAcceptance``; the accepter (a resource of the peer region) accepts it."""

    token = "aws:ec2transitgateway/peeringAttachment:PeeringAttachment"

    def create(self, ec2, name, inputs):
        att = ec2.create_transit_gateway_peering_attachment(
            TransitGatewayId=inputs["transitGatewayId"], PeerTransitGatewayId=inputs["peerTransitGatewayId"],
            PeerAccountId=inputs["peerAccountId"], PeerRegion=inputs["peerRegion"],
            TagSpecifications=_tag_spec("transit-gateway-attachment", inputs))["TransitGatewayPeeringAttachment"]
        aid = att["TransitGatewayAttachmentId"]
        return aid, self.adopt(ec2, aid, inputs)

    def adopt(self, ec2, rid, inputs):
        _wait(lambda: _peering_state(ec2, rid), {"pendingAcceptance", "available"}, f"peering attachment {rid}")
        return {}

    def delete(self, ec2, rid, inputs, outputs):
        # The accepter's delete (it comes first, in reverse creation order) already deleted it.
        if _peering_state(ec2, rid) in ("deleted", "deleting"):
            return
        ec2.delete_transit_gateway_peering_attachment(TransitGatewayAttachmentId=rid)
        _wait(lambda: _peering_state(ec2, rid), {"deleted"}, f"peering attachment {rid} deletion")

    def find(self, ec2, inputs):
        tags = inputs.get("tags") or {}
        if "Name" not in tags:
            return None
        items = ec2.describe_transit_gateway_peering_attachments(
            Filters=[{"Name": "tag:Name", "Values": [tags["Name"]]}])["TransitGatewayPeeringAttachments"]
        # (moto also answers VPC attachments here: keep peering attachments of this TGW only)
        live = [a for a in items if a.get("State") not in ("deleted", "deleting", "rejected", "failed")
                and (a.get("RequesterTgwInfo") or {}).get("TransitGatewayId") == inputs["transitGatewayId"]
                and _ours(a, inputs)]
        return live[0]["TransitGatewayAttachmentId"] if live else None

    def find_by_id(self, ec2, rid, inputs):
        return _peering_state(ec2, rid) not in ("deleted", "deleting", "missing")


def _peering_state(ec2, aid: str) -> str:
    try:
        items = ec2.describe_transit_gateway_peering_attachments(
            TransitGatewayAttachmentIds=[aid])["TransitGatewayPeeringAttachments"]
    except ClientError as exc:
        if is_not_found(exc):
            return "missing"
        raise
    return items[0]["State"] if items else "missing"


class TgwPeeringAccepter(Handler):
    """Accepting a peering attachment on the peer region's side (its id is the attachment's id). Like
    terraform-provider-aws, deleting the accepter deletes the peering attachment itself."""

    token = "aws:ec2transitgateway/peeringAttachmentAccepter:PeeringAttachmentAccepter"

    def create(self, ec2, name, inputs):
        aid = inputs["transitGatewayAttachmentId"]
        if _peering_state(ec2, aid) != "available":
            ec2.accept_transit_gateway_peering_attachment(TransitGatewayAttachmentId=aid)
        return aid, self.adopt(ec2, aid, inputs)

    def adopt(self, ec2, rid, inputs):
        _wait(lambda: _peering_state(ec2, rid), {"available"}, f"peering attachment {rid} acceptance")
        spec = _tag_spec("transit-gateway-attachment", inputs)
        if spec:
            ec2.create_tags(Resources=[rid], Tags=spec[0]["Tags"])
        return {"transitGatewayAttachmentId": rid}

    def delete(self, ec2, rid, inputs, outputs):
        if _peering_state(ec2, rid) in ("deleted", "deleting", "missing"):
            return
        ec2.delete_transit_gateway_peering_attachment(TransitGatewayAttachmentId=rid)
        _wait(lambda: _peering_state(ec2, rid), {"deleted", "missing"}, f"peering attachment {rid} deletion")

    def find(self, ec2, inputs):
        aid = inputs["transitGatewayAttachmentId"]
        return aid if _peering_state(ec2, aid) == "available" else None

    def find_by_id(self, ec2, rid, inputs):
        return _peering_state(ec2, rid) == "available"


class TgwRoute(Handler):
    """A static (or blackhole) route in a TGW route table; its id is Terraform's ``<table>_<cidr>``."""

    token = "aws:ec2transitgateway/route:Route"

    @staticmethod
    def _id(inputs):
        return f"{inputs['transitGatewayRouteTableId']}_{inputs['destinationCidrBlock']}"

    def create(self, ec2, name, inputs):
        args = {"TransitGatewayRouteTableId": inputs["transitGatewayRouteTableId"],
                "DestinationCidrBlock": inputs["destinationCidrBlock"]}
        if inputs.get("blackhole"):
            args["Blackhole"] = True
        else:
            args["TransitGatewayAttachmentId"] = inputs["transitGatewayAttachmentId"]
        ec2.create_transit_gateway_route(**args)
        return self._id(inputs), {}

    def delete(self, ec2, rid, inputs, outputs):
        ec2.delete_transit_gateway_route(TransitGatewayRouteTableId=inputs["transitGatewayRouteTableId"],
                                         DestinationCidrBlock=inputs["destinationCidrBlock"])

    def find(self, ec2, inputs):
        return self._id(inputs) if self.find_by_id(ec2, "", inputs) else None

    def find_by_id(self, ec2, rid, inputs):
        routes = ec2.search_transit_gateway_routes(
            TransitGatewayRouteTableId=inputs["transitGatewayRouteTableId"],
            Filters=[{"Name": "type", "Values": ["static"]}])["Routes"]
        return any(r.get("DestinationCidrBlock") == inputs["destinationCidrBlock"]
                   and r.get("State") in ("active", "blackhole") for r in routes)


class TgwAssociation(_TgwRouteTableLink):
    token = "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation"
    create_call, delete_call = "associate_transit_gateway_route_table", "disassociate_transit_gateway_route_table"
    list_call, list_key = "get_transit_gateway_route_table_associations", "Associations"
    gone_states = ("disassociated", "disassociating")


class TgwPropagation(_TgwRouteTableLink):
    token = "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation"
    create_call = "enable_transit_gateway_route_table_propagation"
    delete_call = "disable_transit_gateway_route_table_propagation"
    list_call, list_key = "get_transit_gateway_route_table_propagations", "TransitGatewayRouteTablePropagations"
    gone_states = ("disabled", "disabling")


class SecurityGroup(Handler):
    token = "aws:ec2/securityGroup:SecurityGroup"

    def create(self, ec2, name, inputs):
        group_name = physical_name(name, inputs)
        sg = ec2.create_security_group(GroupName=group_name, Description=inputs.get("description", "Managed by labnet"),
                                       VpcId=inputs["vpcId"], TagSpecifications=_tag_spec("security-group", inputs))
        gid = sg["GroupId"]
        self._revoke_default_egress(ec2, gid)
        return gid, {"arn": f"security-group/{gid}", "name": group_name}

    def adopt(self, ec2, rid, inputs):
        self._revoke_default_egress(ec2, rid)
        (group,) = ec2.describe_security_groups(GroupIds=[rid])["SecurityGroups"]
        return {"arn": f"security-group/{rid}", "name": group["GroupName"]}

    @staticmethod
    def _revoke_default_egress(ec2, gid):
        # Like the pulumi-aws provider: drop AWS's default allow-all egress; rules are explicit resources.
        try:
            ec2.revoke_security_group_egress(GroupId=gid, IpPermissions=[
                {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        except ClientError as exc:
            if not is_not_found(exc):
                raise

    def delete(self, ec2, rid, inputs, outputs):
        ec2.delete_security_group(GroupId=rid)

    def find(self, ec2, inputs):
        return _by_name_tag(ec2.describe_security_groups, "SecurityGroups", inputs, "GroupId",
                            [{"Name": "vpc-id", "Values": [inputs["vpcId"]]}])

    def find_by_id(self, ec2, rid, inputs):
        return bool(ec2.describe_security_groups(Filters=[{"Name": "group-id", "Values": [rid]}])["SecurityGroups"])


RULE_WITHOUT_ID = "rule-"  # a rule whose EC2 id is unknown (recovered after a killed run): revoked by shape


def _permission(inputs: dict[str, Any]) -> dict[str, Any]:
    perm: dict[str, Any] = {"IpProtocol": inputs["ipProtocol"]}
    if inputs["ipProtocol"] != "-1":
        perm["FromPort"] = _i(inputs["fromPort"])
        perm["ToPort"] = _i(inputs["toPort"])
    desc = {"Description": inputs["description"]} if inputs.get("description") else {}
    if inputs.get("cidrIpv4"):
        perm["IpRanges"] = [{"CidrIp": inputs["cidrIpv4"], **desc}]
    elif inputs.get("cidrIpv6"):
        perm["Ipv6Ranges"] = [{"CidrIpv6": inputs["cidrIpv6"], **desc}]
    elif inputs.get("referencedSecurityGroupId"):
        perm["UserIdGroupPairs"] = [{"GroupId": inputs["referencedSecurityGroupId"], **desc}]
    elif inputs.get("prefixListId"):
        perm["PrefixListIds"] = [{"PrefixListId": inputs["prefixListId"], **desc}]
    return perm


def _strip(perm: dict[str, Any]) -> dict[str, Any]:
    """The same permission without descriptions (revoke matches on the rule, not its text)."""
    out = dict(perm)
    for key in ("IpRanges", "Ipv6Ranges", "UserIdGroupPairs", "PrefixListIds"):
        if key in out:
            out[key] = [{k: v for k, v in r.items() if k != "Description"} for r in out[key]]
    return out


class _SgRule(Handler):
    direction = "ingress"

    def create(self, ec2, name, inputs):
        call = getattr(ec2, f"authorize_security_group_{self.direction}")
        resp = call(GroupId=inputs["securityGroupId"], IpPermissions=[_permission(inputs)],
                    TagSpecifications=_tag_spec("security-group-rule", inputs))
        rules = resp.get("SecurityGroupRules") or []
        rid = rules[0]["SecurityGroupRuleId"] if rules else f"{RULE_WITHOUT_ID}{name}"
        return rid, {}

    def delete(self, ec2, rid, inputs, outputs):
        call = getattr(ec2, f"revoke_security_group_{self.direction}")
        if rid.startswith("sgr-"):
            # By the id EC2 gave the rule: exact on AWS and on the emulator alike (moto matches a
            # permission-shaped revoke against the stored rule including its description).
            call(GroupId=inputs["securityGroupId"], SecurityGroupRuleIds=[rid])
        else:
            call(GroupId=inputs["securityGroupId"], IpPermissions=[_permission(inputs)])

    def find(self, ec2, inputs):
        return f"{RULE_WITHOUT_ID}recovered" if self.find_by_id(ec2, "", inputs) else None

    def find_by_id(self, ec2, rid, inputs):
        groups = ec2.describe_security_groups(
            Filters=[{"Name": "group-id", "Values": [inputs["securityGroupId"]]}])["SecurityGroups"]
        key = "IpPermissions" if self.direction == "ingress" else "IpPermissionsEgress"
        want = _strip(_permission(inputs))
        for g in groups:
            for perm in g.get(key, []):
                if _covers(_strip(perm), want):
                    return True
        return False


def _covers(have: dict[str, Any], want: dict[str, Any]) -> bool:
    if str(have.get("IpProtocol")) != str(want.get("IpProtocol")):
        return False
    if want.get("IpProtocol") != "-1" and (have.get("FromPort"), have.get("ToPort")) != (want.get("FromPort"), want.get("ToPort")):
        return False
    for key, field in (("IpRanges", "CidrIp"), ("Ipv6Ranges", "CidrIpv6"), ("UserIdGroupPairs", "GroupId"),
                       ("PrefixListIds", "PrefixListId")):
        for item in want.get(key, []):
            if not any(h.get(field) == item[field] for h in have.get(key, [])):
                return False
    return True


class SgIngress(_SgRule):
    token = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
    direction = "ingress"


class SgEgress(_SgRule):
    token = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
    direction = "egress"


class ManagedPrefixList(Handler):
    """A customer-managed prefix list with inline entries, as pulumi-aws's ManagedPrefixList does it
    (terraform-provider-aws ``vpc_managed_prefix_list.go``): created with its entries and waited for;
    updated in place because EC2 will not change a list's entries and its size in one call: a larger
    max entries first, then the entries in one versioned ModifyManagedPrefixList (a description-only
    change is a removal first, then an add), then a smaller max entries.

    ``update`` works from what the list holds now, not from what the state last recorded, so a run
    interrupted between those calls finishes the job when it runs again."""

    token = "aws:ec2/managedPrefixList:ManagedPrefixList"
    updatable = frozenset({"entries", "maxEntries"})
    CHUNK = 100  # entries per CreateManagedPrefixList / ModifyManagedPrefixList request (EC2's limit)

    @staticmethod
    def _entries(inputs):
        return {e["cidr"]: e.get("description") or "" for e in inputs.get("entries") or []}

    @staticmethod
    def _add(entries: dict[str, str]) -> list[dict[str, str]]:
        return [{"Cidr": c, **({"Description": d} if d else {})} for c, d in entries.items()]

    def create(self, ec2, name, inputs):
        pl_name = physical_name(name, inputs)
        if pl_name.startswith("com.amazonaws"):  # reserved for AWS-managed lists
            raise ValueError(f"prefix list name {pl_name!r} must not start with 'com.amazonaws'")
        entries = self._add(self._entries(inputs))
        pl = ec2.create_managed_prefix_list(
            PrefixListName=pl_name, AddressFamily=inputs.get("addressFamily", "IPv4"),
            MaxEntries=_i(inputs["maxEntries"]), Entries=entries[:self.CHUNK],
            TagSpecifications=_tag_spec("prefix-list", inputs))["PrefixList"]
        pid = pl["PrefixListId"]
        if len(entries) > self.CHUNK:
            return pid, self.adopt(ec2, pid, inputs)
        return pid, self._outputs(self._settled(ec2, pid))

    def adopt(self, ec2, rid, inputs):
        self._sync_entries(ec2, rid, inputs)
        return self._outputs(self._settled(ec2, rid))

    def update(self, ec2, rid, inputs, outputs):
        want = _i(inputs["maxEntries"])
        have = self._settled(ec2, rid)
        if want > int(have.get("MaxEntries") or 0):
            self._resize(ec2, have, want)
        self._sync_entries(ec2, rid, inputs)
        have = self._settled(ec2, rid)
        if want < int(have.get("MaxEntries") or 0):
            self._resize(ec2, have, want)
            have = self._settled(ec2, rid)
        return self._outputs(have)

    @staticmethod
    def _outputs(pl):
        return {"arn": pl.get("PrefixListArn", ""), "name": pl.get("PrefixListName", ""),
                "version": pl.get("Version", 0), "ownerId": pl.get("OwnerId", "")}

    def _resize(self, ec2, pl, max_entries: int) -> None:
        # The name goes along unchanged: the emulator (moto 5.2.5) drops a list's name on any
        # ModifyManagedPrefixList that does not repeat it.
        ec2.modify_managed_prefix_list(PrefixListId=pl["PrefixListId"], PrefixListName=pl["PrefixListName"],
                                       MaxEntries=max_entries)

    def _sync_entries(self, ec2, rid, inputs) -> None:
        pl = self._settled(ec2, rid)
        pages = ec2.get_paginator("get_managed_prefix_list_entries").paginate(PrefixListId=rid)
        have = {e["Cidr"]: e.get("Description") or "" for page in pages for e in page.get("Entries", [])}
        want = self._entries(inputs)
        redescribe = [c for c in want if c in have and have[c] != want[c]]
        remove = [c for c in have if c not in want]
        add = {c: d for c, d in want.items() if c not in have or c in redescribe}
        if redescribe:  # EC2 refuses one CIDR in both AddEntries and RemoveEntries of one call
            pl = self._modify(ec2, pl, [], redescribe)
        while add or remove:
            batch_add, batch_remove = list(add.items())[:self.CHUNK], remove[:self.CHUNK]
            pl = self._modify(ec2, pl, self._add(dict(batch_add)), batch_remove)
            add = dict(list(add.items())[self.CHUNK:])
            remove = remove[self.CHUNK:]

    def _modify(self, ec2, pl, add: list[dict[str, str]], remove: list[str]) -> dict[str, Any]:
        args: dict[str, Any] = {"PrefixListId": pl["PrefixListId"], "PrefixListName": pl["PrefixListName"],
                                "CurrentVersion": pl["Version"]}
        if add:
            args["AddEntries"] = add
        if remove:
            args["RemoveEntries"] = [{"Cidr": c} for c in remove]
        ec2.modify_managed_prefix_list(**args)
        return self._settled(ec2, pl["PrefixListId"])

    def _describe(self, ec2, rid):
        try:
            items = ec2.describe_managed_prefix_lists(PrefixListIds=[rid])["PrefixLists"]
        except ClientError as exc:
            if is_not_found(exc):
                return None
            raise
        return items[0] if items else None

    def _settled(self, ec2, rid) -> dict[str, Any]:
        """The list once no change is in progress (each change needs the version it produces)."""
        box: dict[str, Any] = {}

        def state():
            box["pl"] = self._describe(ec2, rid)
            if box["pl"] is None:
                raise RuntimeError(f"prefix list {rid} no longer exists")
            return box["pl"]["State"]

        _wait(state, {"create-complete", "modify-complete", "restore-complete"}, f"prefix list {rid}")
        return box["pl"]

    def delete(self, ec2, rid, inputs, outputs):
        ec2.delete_managed_prefix_list(PrefixListId=rid)

        def state():
            pl = self._describe(ec2, rid)
            return "delete-complete" if pl is None else pl["State"]

        _wait(state, {"delete-complete"}, f"prefix list {rid} deletion")

    def find(self, ec2, inputs):
        name = (inputs.get("tags") or {}).get("Name")
        if not name:
            return None
        lists = ec2.describe_managed_prefix_lists(Filters=[{"Name": "tag:Name", "Values": [name]}])["PrefixLists"]
        live = [p for p in lists if _ours(p, inputs) and not p.get("State", "").startswith("delete")]
        return live[0]["PrefixListId"] if live else None

    def find_by_id(self, ec2, rid, inputs):
        pl = self._describe(ec2, rid)
        return pl is not None and pl.get("State") not in ("delete-complete", "delete-in-progress", "delete-failed")


class VpcEndpoint(Handler):
    token = "aws:ec2/vpcEndpoint:VpcEndpoint"
    updatable = frozenset({"policy"})  # the scoped policy (issue 19) replaces the default one in place

    def update(self, ec2, rid, inputs, outputs):
        if inputs.get("policy"):
            ec2.modify_vpc_endpoint(VpcEndpointId=rid, PolicyDocument=inputs["policy"])
        else:
            ec2.modify_vpc_endpoint(VpcEndpointId=rid, ResetPolicy=True)
        return dict(outputs)

    def create(self, ec2, name, inputs):
        ep = ec2.create_vpc_endpoint(VpcEndpointType=inputs.get("vpcEndpointType", "Gateway"),
                                     VpcId=inputs["vpcId"], ServiceName=inputs["serviceName"],
                                     RouteTableIds=list(inputs.get("routeTableIds") or []),
                                     **({"PolicyDocument": inputs["policy"]} if inputs.get("policy") else {}),
                                     TagSpecifications=_tag_spec("vpc-endpoint", inputs))["VpcEndpoint"]
        return ep["VpcEndpointId"], {}

    def delete(self, ec2, rid, inputs, outputs):
        resp = ec2.delete_vpc_endpoints(VpcEndpointIds=[rid])
        failed = [u for u in resp.get("Unsuccessful", []) if "NotFound" not in str(u)]
        if failed:
            raise RuntimeError(f"could not delete VPC endpoint {rid}: {failed}")

    def find(self, ec2, inputs):
        return _by_name_tag(ec2.describe_vpc_endpoints, "VpcEndpoints", inputs, "VpcEndpointId",
                            [{"Name": "vpc-id", "Values": [inputs["vpcId"]]}])

    def find_by_id(self, ec2, rid, inputs):
        try:
            items = ec2.describe_vpc_endpoints(VpcEndpointIds=[rid])["VpcEndpoints"]
        except ClientError as exc:
            if is_not_found(exc):
                return False
            raise
        return any(e.get("State", "").lower() not in ("deleted", "deleting") for e in items)


class Eip(Handler):
    token = "aws:ec2/eip:Eip"

    def create(self, ec2, name, inputs):
        r = ec2.allocate_address(Domain="vpc", TagSpecifications=_tag_spec("elastic-ip", inputs))
        return r["AllocationId"], {"publicIp": r.get("PublicIp", "")}

    def adopt(self, ec2, rid, inputs):
        (addr,) = ec2.describe_addresses(AllocationIds=[rid])["Addresses"]
        return {"publicIp": addr.get("PublicIp", "")}

    def delete(self, ec2, rid, inputs, outputs):
        ec2.release_address(AllocationId=rid)

    def find(self, ec2, inputs):
        tags = inputs.get("tags") or {}
        if "Name" not in tags:
            return None
        items = ec2.describe_addresses(Filters=[{"Name": "tag:Name", "Values": [tags["Name"]]}])["Addresses"]
        items = [a for a in items if _ours(a, inputs)]
        return items[0]["AllocationId"] if items else None

    def find_by_id(self, ec2, rid, inputs):
        return bool(ec2.describe_addresses(Filters=[{"Name": "allocation-id", "Values": [rid]}])["Addresses"])


class NatGateway(Handler):
    token = "aws:ec2/natGateway:NatGateway"

    def create(self, ec2, name, inputs):
        nat = ec2.create_nat_gateway(SubnetId=inputs["subnetId"], AllocationId=inputs["allocationId"],
                                     TagSpecifications=_tag_spec("natgateway", inputs))["NatGateway"]
        nid = nat["NatGatewayId"]
        return nid, self.adopt(ec2, nid, inputs)

    def adopt(self, ec2, rid, inputs):
        _wait(lambda: self._state(ec2, rid), {"available"}, f"NAT gateway {rid}")
        return {}

    def _state(self, ec2, nid):
        items = ec2.describe_nat_gateways(NatGatewayIds=[nid])["NatGateways"]
        return items[0]["State"] if items else "deleted"

    def delete(self, ec2, rid, inputs, outputs):
        ec2.delete_nat_gateway(NatGatewayId=rid)
        _wait(lambda: self._state(ec2, rid), {"deleted"}, f"NAT gateway {rid} deletion")

    def find(self, ec2, inputs):
        items = ec2.describe_nat_gateways(Filters=[{"Name": "subnet-id", "Values": [inputs["subnetId"]]}])["NatGateways"]
        live = [n for n in items if n["State"] not in ("deleted", "deleting")]
        return live[0]["NatGatewayId"] if live else None

    def find_by_id(self, ec2, rid, inputs):
        return self._state(ec2, rid) not in ("deleted", "deleting")


LAUNCH_TEMPLATE_NAME_RE = re.compile(r"[A-Za-z0-9().\-/_]{3,128}")


def _launch_template_data(inputs: dict[str, Any]) -> dict[str, Any]:
    """EC2's LaunchTemplateData from the pulumi-aws inputs (camelCase; numbers as floats; the
    provider's tri-state booleans as the strings "true"/"false")."""
    def flag(value: Any) -> bool:
        return value is True or str(value).lower() == "true"

    data: dict[str, Any] = {}
    if inputs.get("instanceType"):
        data["InstanceType"] = inputs["instanceType"]
    if inputs.get("imageId"):
        data["ImageId"] = inputs["imageId"]
    interfaces = []
    for ni in inputs.get("networkInterfaces") or []:
        item: dict[str, Any] = {"DeviceIndex": _i(ni.get("deviceIndex", 0)),
                                "NetworkCardIndex": _i(ni.get("networkCardIndex", 0))}
        if ni.get("interfaceType"):
            item["InterfaceType"] = ni["interfaceType"]
        if ni.get("subnetId"):
            item["SubnetId"] = ni["subnetId"]
        if ni.get("securityGroups"):
            item["Groups"] = list(ni["securityGroups"])
        if ni.get("deleteOnTermination") not in (None, ""):
            item["DeleteOnTermination"] = flag(ni["deleteOnTermination"])
        if ni.get("associatePublicIpAddress") not in (None, ""):
            item["AssociatePublicIpAddress"] = flag(ni["associatePublicIpAddress"])
        if ni.get("description"):
            item["Description"] = ni["description"]
        interfaces.append(item)
    if interfaces:
        data["NetworkInterfaces"] = interfaces
    meta = inputs.get("metadataOptions") or {}
    if meta:
        data["MetadataOptions"] = {k: v for k, v in (("HttpEndpoint", meta.get("httpEndpoint")),
                                                     ("HttpTokens", meta.get("httpTokens"))) if v}
    specs = [{"ResourceType": t["resourceType"], "Tags": [{"Key": k, "Value": str(v)} for k, v in t["tags"].items()]}
             for t in inputs.get("tagSpecifications") or [] if t.get("tags")]
    if specs:
        data["TagSpecifications"] = specs
    return data


class LaunchTemplate(Handler):
    """A node launch template: the compute subnet, the training group and the interface layout."""

    token = "aws:ec2/launchTemplate:LaunchTemplate"

    def create(self, ec2, name, inputs):
        lt_name = physical_name(name, inputs)
        # The emulator accepts any name; AWS takes 3-128 of these characters. Refuse before the call.
        if not LAUNCH_TEMPLATE_NAME_RE.fullmatch(lt_name):
            raise ValueError(f"launch template name {lt_name!r} is not 3-128 letters, digits or ( ) . - / _")
        lt = ec2.create_launch_template(
            LaunchTemplateName=lt_name, VersionDescription=inputs.get("description", "labnet nodes")[:255],
            LaunchTemplateData=_launch_template_data(inputs),
            TagSpecifications=_tag_spec("launch-template", inputs))["LaunchTemplate"]
        return lt["LaunchTemplateId"], self._outputs(ec2, lt)

    @staticmethod
    def _outputs(ec2, lt: dict[str, Any]) -> dict[str, Any]:
        return {"name": lt["LaunchTemplateName"], "latestVersion": int(lt.get("LatestVersionNumber", 1)),
                "defaultVersion": int(lt.get("DefaultVersionNumber", 1)),
                "arn": f"arn:aws:ec2:{ec2.meta.region_name}::launch-template/{lt['LaunchTemplateId']}"}

    def adopt(self, ec2, rid, inputs):
        (lt,) = ec2.describe_launch_templates(LaunchTemplateIds=[rid])["LaunchTemplates"]
        return self._outputs(ec2, lt)

    def delete(self, ec2, rid, inputs, outputs):
        ec2.delete_launch_template(LaunchTemplateId=rid)

    def find(self, ec2, inputs):
        return _by_name_tag(ec2.describe_launch_templates, "LaunchTemplates", inputs, "LaunchTemplateId")

    def find_by_id(self, ec2, rid, inputs):
        try:
            return bool(ec2.describe_launch_templates(LaunchTemplateIds=[rid])["LaunchTemplates"])
        except ClientError as exc:
            if is_not_found(exc):
                return False
            raise


# -- issue 19: flow logs, their bucket, and the VPC's defaults locked down -------------------------
def _s3_missing(exc: BaseException, *codes: str) -> bool:
    if not isinstance(exc, ClientError):
        return False
    code = exc.response.get("Error", {}).get("Code", "")
    return code in ("NoSuchBucket", "404", "NotFound", *codes)


def _tagset(tags: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": str(v)} for k, v in tags.items()]


def bucket_tags(s3, name: str) -> dict[str, str]:
    try:
        return {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name).get("TagSet", [])}
    except ClientError as exc:
        if _s3_missing(exc, "NoSuchTagSet", "NoSuchTagSetError"):
            return {}
        raise


class Bucket(Handler):
    """An S3 bucket with a name of labnet's own (the flow-log bucket). A bucket of that name that this
    stack already owns (its stack and Name tags: kept by an earlier destroy) is taken over, not made
    again: a later ``up`` of the stack reuses its logs. One that is not the stack's is refused."""

    token = "aws:s3/bucket:Bucket"

    def create(self, ec2, name, inputs):
        s3 = sibling(ec2, "s3")
        bucket = physical_name(name, inputs) if not inputs.get("bucket") else str(inputs["bucket"])
        found = self.find(ec2, inputs)
        if found is None:
            try:
                s3.head_bucket(Bucket=bucket)
            except ClientError as exc:
                if not _s3_missing(exc):
                    raise
            else:
                raise RuntimeError(f"S3 bucket {bucket} exists and is not this stack's (its stack tag differs): "
                                   "labnet will not write this stack's flow logs into it")
            region = ec2.meta.region_name
            args = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            s3.create_bucket(Bucket=bucket, **args)
        return bucket, self.adopt(ec2, bucket, inputs)

    def adopt(self, ec2, rid, inputs):
        s3 = sibling(ec2, "s3")
        if inputs.get("tags"):
            s3.put_bucket_tagging(Bucket=rid, Tagging={"TagSet": _tagset(inputs["tags"])})
        return {"bucket": rid, "arn": f"arn:aws:s3:::{rid}", "region": ec2.meta.region_name}

    def delete(self, ec2, rid, inputs, outputs):
        """Empty the bucket (every version and delete marker: it is versioned) and delete it. Reached
        only when a user asks to delete the logs: the program retains the bucket on destroy."""
        s3 = sibling(ec2, "s3")
        pages = s3.get_paginator("list_object_versions").paginate(Bucket=rid)
        for page in pages:
            doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                      for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            for i in range(0, len(doomed), 1000):
                s3.delete_objects(Bucket=rid, Delete={"Objects": doomed[i:i + 1000], "Quiet": True})
        s3.delete_bucket(Bucket=rid)

    def find(self, ec2, inputs):
        bucket = inputs.get("bucket")
        if not bucket:
            return None
        try:
            tags = bucket_tags(sibling(ec2, "s3"), str(bucket))
        except ClientError as exc:
            if _s3_missing(exc):
                return None
            raise
        want = inputs.get("tags") or {}
        return str(bucket) if all(tags.get(k) == want[k] for k in ("stack", "Name") if k in want) else None

    def find_by_id(self, ec2, rid, inputs):
        try:
            sibling(ec2, "s3").head_bucket(Bucket=rid)
        except ClientError as exc:
            if _s3_missing(exc):
                return False
            raise
        return True


class _BucketSetting(Handler):
    """One configuration of a bucket (pulumi-aws's per-setting bucket resources): put on create and
    on update, its id is the bucket's name. Every input may change in place."""

    updatable = frozenset({"rule", "rules", "policy", "versioningConfiguration", "blockPublicAcls",
                           "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"})
    get_call = delete_call = ""
    missing: tuple[str, ...] = ()

    def put(self, s3, bucket: str, inputs: dict[str, Any]) -> None:
        raise NotImplementedError

    def create(self, ec2, name, inputs):
        self.put(sibling(ec2, "s3"), inputs["bucket"], inputs)
        return str(inputs["bucket"]), {}

    def adopt(self, ec2, rid, inputs):
        self.put(sibling(ec2, "s3"), rid, inputs)
        return {}

    def update(self, ec2, rid, inputs, outputs):
        return self.adopt(ec2, rid, inputs)

    def delete(self, ec2, rid, inputs, outputs):
        try:
            getattr(sibling(ec2, "s3"), self.delete_call)(Bucket=rid)
        except ClientError as exc:
            if not _s3_missing(exc, *self.missing):
                raise

    def find(self, ec2, inputs):
        return str(inputs["bucket"]) if self.find_by_id(ec2, str(inputs["bucket"]), inputs) else None

    def find_by_id(self, ec2, rid, inputs):
        try:
            getattr(sibling(ec2, "s3"), self.get_call)(Bucket=rid)
        except ClientError as exc:
            if _s3_missing(exc, *self.missing):
                return False
            raise
        return True


class BucketPublicAccessBlock(_BucketSetting):
    token = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
    get_call, delete_call = "get_public_access_block", "delete_public_access_block"
    missing = ("NoSuchPublicAccessBlockConfiguration",)

    def put(self, s3, bucket, inputs):
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
            k[0].upper() + k[1:]: bool(inputs.get(k, False))
            for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")})


class BucketOwnershipControls(_BucketSetting):
    token = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
    get_call, delete_call = "get_bucket_ownership_controls", "delete_bucket_ownership_controls"
    missing = ("OwnershipControlsNotFoundError",)

    def put(self, s3, bucket, inputs):
        s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={
            "Rules": [{"ObjectOwnership": (inputs.get("rule") or {}).get("objectOwnership", "BucketOwnerEnforced")}]})


class BucketEncryption(_BucketSetting):
    token = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    get_call, delete_call = "get_bucket_encryption", "delete_bucket_encryption"
    missing = ("ServerSideEncryptionConfigurationNotFoundError",)

    def put(self, s3, bucket, inputs):
        rules = []
        for r in inputs.get("rules") or []:
            default = r.get("applyServerSideEncryptionByDefault") or {}
            rule: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": {
                "SSEAlgorithm": default.get("sseAlgorithm", "AES256"),
                **({"KMSMasterKeyID": default["kmsMasterKeyId"]} if default.get("kmsMasterKeyId") else {})}}
            if r.get("bucketKeyEnabled") is not None:
                rule["BucketKeyEnabled"] = bool(r["bucketKeyEnabled"])
            rules.append(rule)
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": rules})


class BucketVersioning(_BucketSetting):
    token = "aws:s3/bucketVersioning:BucketVersioning"
    get_call = "get_bucket_versioning"

    def put(self, s3, bucket, inputs):
        status = (inputs.get("versioningConfiguration") or {}).get("status", "Enabled")
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})

    def delete(self, ec2, rid, inputs, outputs):
        # Like pulumi-aws: a versioned bucket cannot go back to unversioned; deleting the setting suspends it.
        try:
            sibling(ec2, "s3").put_bucket_versioning(Bucket=rid, VersioningConfiguration={"Status": "Suspended"})
        except ClientError as exc:
            if not _s3_missing(exc):
                raise


class BucketLifecycle(_BucketSetting):
    token = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
    get_call, delete_call = "get_bucket_lifecycle_configuration", "delete_bucket_lifecycle"
    missing = ("NoSuchLifecycleConfiguration",)

    def put(self, s3, bucket, inputs):
        rules = []
        for r in inputs.get("rules") or []:
            rule: dict[str, Any] = {"ID": r.get("id", ""), "Status": r.get("status", "Enabled"),
                                    "Filter": {"Prefix": (r.get("filter") or {}).get("prefix", "")}}
            if (r.get("expiration") or {}).get("days"):
                rule["Expiration"] = {"Days": _i(r["expiration"]["days"])}
            if (r.get("noncurrentVersionExpiration") or {}).get("noncurrentDays"):
                rule["NoncurrentVersionExpiration"] = {"NoncurrentDays": _i(r["noncurrentVersionExpiration"]["noncurrentDays"])}
            if (r.get("abortIncompleteMultipartUpload") or {}).get("daysAfterInitiation"):
                rule["AbortIncompleteMultipartUpload"] = {
                    "DaysAfterInitiation": _i(r["abortIncompleteMultipartUpload"]["daysAfterInitiation"])}
            rules.append(rule)
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})


class BucketPolicy(_BucketSetting):
    token = "aws:s3/bucketPolicy:BucketPolicy"
    get_call, delete_call = "get_bucket_policy", "delete_bucket_policy"
    missing = ("NoSuchBucketPolicy",)

    def put(self, s3, bucket, inputs):
        s3.put_bucket_policy(Bucket=bucket, Policy=inputs["policy"])


class FlowLog(Handler):
    """A flow log of a VPC or a Transit Gateway, to S3 or CloudWatch Logs."""

    token = "aws:ec2/flowLog:FlowLog"

    @staticmethod
    def _resource(inputs):
        for key, kind in (("vpcId", "VPC"), ("transitGatewayId", "TransitGateway"), ("subnetId", "Subnet"),
                          ("eniId", "NetworkInterface")):
            if inputs.get(key):
                return kind, inputs[key]
        raise ValueError("a flow log needs a vpcId, transitGatewayId, subnetId or eniId")

    def create(self, ec2, name, inputs):
        kind, rid = self._resource(inputs)
        args: dict[str, Any] = {"ResourceType": kind, "ResourceIds": [rid],
                                "LogDestinationType": inputs.get("logDestinationType", "cloud-watch-logs"),
                                "LogDestination": inputs["logDestination"],
                                "TagSpecifications": _tag_spec("vpc-flow-log", inputs)}
        if kind != "TransitGateway":  # TGW flow logs record every packet; EC2 refuses a traffic type for them
            args["TrafficType"] = inputs.get("trafficType", "ALL")
        if inputs.get("maxAggregationInterval"):
            args["MaxAggregationInterval"] = _i(inputs["maxAggregationInterval"])
        if inputs.get("iamRoleArn"):
            args["DeliverLogsPermissionArn"] = inputs["iamRoleArn"]
        resp = ec2.create_flow_logs(**args)
        if resp.get("Unsuccessful") or not resp.get("FlowLogIds"):
            errors = [u.get("Error", {}).get("Message", "") for u in resp.get("Unsuccessful", [])]
            raise RuntimeError(f"flow log for {rid} was not created: {'; '.join(errors) or 'no id returned'}")
        return resp["FlowLogIds"][0], {"arn": f"vpc-flow-log/{resp['FlowLogIds'][0]}"}

    def delete(self, ec2, rid, inputs, outputs):
        resp = ec2.delete_flow_logs(FlowLogIds=[rid])
        failed = [u for u in resp.get("Unsuccessful", []) if "NotFound" not in str(u)]
        if failed:
            raise RuntimeError(f"could not delete flow log {rid}: {failed}")

    def find(self, ec2, inputs):
        _, rid = self._resource(inputs)
        items = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [rid]}])["FlowLogs"]
        items = [f for f in items if f.get("LogDestination") == inputs["logDestination"]]
        return items[0]["FlowLogId"] if items else None

    def find_by_id(self, ec2, rid, inputs):
        return bool(ec2.describe_flow_logs(FlowLogIds=[rid])["FlowLogs"])


def _revoke_all(ec2, group: dict[str, Any]) -> None:
    gid = group["GroupId"]
    if group.get("IpPermissions"):
        ec2.revoke_security_group_ingress(GroupId=gid, IpPermissions=[_strip(p) for p in group["IpPermissions"]])
    if group.get("IpPermissionsEgress"):
        ec2.revoke_security_group_egress(GroupId=gid, IpPermissions=[_strip(p) for p in group["IpPermissionsEgress"]])


class DefaultSecurityGroup(Handler):
    """The VPC's default group, adopted and emptied (pulumi-aws's DefaultSecurityGroup without rules:
    it revokes every rule, the self-referencing ingress and the all-traffic egress AWS made). A VPC
    cannot lose its default group, so deleting this resource changes nothing on the target; the
    group goes with its VPC."""

    token = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"

    def _group(self, ec2, vpc_id):
        groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                                       {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
        if not groups:
            raise RuntimeError(f"VPC {vpc_id} has no default security group")
        return groups[0]

    def create(self, ec2, name, inputs):
        if inputs.get("ingress") or inputs.get("egress"):
            raise ValueError("labnet's DefaultSecurityGroup handler only empties the group (no rules)")
        group = self._group(ec2, inputs["vpcId"])
        _revoke_all(ec2, group)
        if inputs.get("tags"):
            ec2.create_tags(Resources=[group["GroupId"]], Tags=_tagset(inputs["tags"]))
        return group["GroupId"], {"arn": f"security-group/{group['GroupId']}", "name": "default"}

    def adopt(self, ec2, rid, inputs):
        return self.create(ec2, "", inputs)[1]

    def find(self, ec2, inputs):
        return self._group(ec2, inputs["vpcId"])["GroupId"]

    def delete(self, ec2, rid, inputs, outputs):
        return None

    def find_by_id(self, ec2, rid, inputs):
        return bool(ec2.describe_security_groups(Filters=[{"Name": "group-id", "Values": [rid]}])["SecurityGroups"])


def _nacl_entry_args(rule: dict[str, Any], egress: bool) -> dict[str, Any]:
    args: dict[str, Any] = {"RuleNumber": _i(rule["ruleNo"]), "Protocol": str(rule["protocol"]),
                            "RuleAction": rule.get("action", "allow"), "Egress": egress,
                            "CidrBlock": rule["cidrBlock"]}
    if str(rule["protocol"]) in ("6", "17", "tcp", "udp"):
        args["PortRange"] = {"From": _i(rule.get("fromPort", 0)), "To": _i(rule.get("toPort", 0))}
    if str(rule["protocol"]) in ("1", "icmp"):
        args["IcmpTypeCode"] = {"Type": _i(rule.get("icmpType", -1)), "Code": _i(rule.get("icmpCode", -1))}
    return args


def _sync_nacl(ec2, acl_id: str, inputs: dict[str, Any]) -> None:
    """Make the ACL's entries exactly the ``ingress``/``egress`` blocks (the final * entries stay): an
    entry whose rule number exists is replaced in place (ReplaceNetworkAclEntry: AWS's allow-all rule 100
    of a new VPC becomes labnet's rule 100 with no moment of deny-all between), new numbers are created,
    and only numbers no block names are deleted."""
    (acl,) = ec2.describe_network_acls(NetworkAclIds=[acl_id])["NetworkAcls"]
    have = {(int(e["RuleNumber"]), bool(e["Egress"])) for e in acl.get("Entries", []) if int(e["RuleNumber"]) < 32767}
    want: set[tuple[int, bool]] = set()
    for key, egress in (("ingress", False), ("egress", True)):
        for rule in inputs.get(key) or []:
            args = _nacl_entry_args(rule, egress)
            want.add((args["RuleNumber"], egress))
            call = ec2.replace_network_acl_entry if (args["RuleNumber"], egress) in have else ec2.create_network_acl_entry
            call(NetworkAclId=acl_id, **args)
    for number, egress in sorted(have - want):
        ec2.delete_network_acl_entry(NetworkAclId=acl_id, RuleNumber=number, Egress=egress)


def _acl_exists(ec2, rid: str) -> bool:
    # By id, not by the network-acl-id filter (the emulator answers that filter with a 500).
    try:
        return bool(ec2.describe_network_acls(NetworkAclIds=[rid])["NetworkAcls"])
    except ClientError as exc:
        if is_not_found(exc):
            return False
        raise


class DefaultNetworkAcl(Handler):
    """The VPC's default network ACL, adopted with exactly the entries given (pulumi-aws's
    DefaultNetworkAcl: AWS's allow-all entries go). Like the default group it stays with its VPC."""

    token = "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl"
    updatable = frozenset({"ingress", "egress"})

    def create(self, ec2, name, inputs):
        acl_id = inputs["defaultNetworkAclId"]
        return acl_id, self.adopt(ec2, acl_id, inputs)

    def adopt(self, ec2, rid, inputs):
        _sync_nacl(ec2, rid, inputs)
        if inputs.get("tags"):
            ec2.create_tags(Resources=[rid], Tags=_tagset(inputs["tags"]))
        return {"arn": f"network-acl/{rid}"}

    def update(self, ec2, rid, inputs, outputs):
        return self.adopt(ec2, rid, inputs)

    def find(self, ec2, inputs):
        return inputs["defaultNetworkAclId"]

    def delete(self, ec2, rid, inputs, outputs):
        return None

    def find_by_id(self, ec2, rid, inputs):
        return _acl_exists(ec2, rid)


class NetworkAcl(Handler):
    """A network ACL with its entries and the subnets it serves (each subnet's association moved to
    it from the ACL that served it; on delete, back to the VPC's default ACL)."""

    token = "aws:ec2/networkAcl:NetworkAcl"
    updatable = frozenset({"ingress", "egress"})

    def create(self, ec2, name, inputs):
        acl = ec2.create_network_acl(VpcId=inputs["vpcId"], TagSpecifications=_tag_spec("network-acl", inputs))
        acl_id = acl["NetworkAcl"]["NetworkAclId"]
        return acl_id, self.adopt(ec2, acl_id, inputs)

    def adopt(self, ec2, rid, inputs):
        _sync_nacl(ec2, rid, inputs)
        for subnet in inputs.get("subnetIds") or []:
            self._move(ec2, subnet, rid)
        return {"arn": f"network-acl/{rid}"}

    def update(self, ec2, rid, inputs, outputs):
        _sync_nacl(ec2, rid, inputs)
        return {"arn": f"network-acl/{rid}"}

    @staticmethod
    def _move(ec2, subnet: str, acl_id: str) -> None:
        acls = ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [subnet]}])["NetworkAcls"]
        for a in acls:
            for assoc in a.get("Associations", []):
                if assoc.get("SubnetId") == subnet and a["NetworkAclId"] != acl_id:
                    ec2.replace_network_acl_association(AssociationId=assoc["NetworkAclAssociationId"],
                                                        NetworkAclId=acl_id)

    def delete(self, ec2, rid, inputs, outputs):
        default = ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [inputs["vpcId"]]},
                                                     {"Name": "default", "Values": ["true"]}])["NetworkAcls"]
        if default:
            for subnet in inputs.get("subnetIds") or []:
                self._move(ec2, subnet, default[0]["NetworkAclId"])
        ec2.delete_network_acl(NetworkAclId=rid)

    def find(self, ec2, inputs):
        return _by_name_tag(ec2.describe_network_acls, "NetworkAcls", inputs, "NetworkAclId",
                            [{"Name": "vpc-id", "Values": [inputs["vpcId"]]}])

    def find_by_id(self, ec2, rid, inputs):
        return _acl_exists(ec2, rid)


HANDLERS: dict[str, Handler] = {h.token: h for h in (
    TransitGateway(), TgwRouteTable(), Vpc(), Subnet(), RouteTable(), RouteTableAssociation(), Route(),
    InternetGateway(), VpcAttachment(), TgwAssociation(), TgwPropagation(), SecurityGroup(), SgIngress(),
    SgEgress(), VpcEndpoint(), Eip(), NatGateway(), ManagedPrefixList())}
HANDLERS[LaunchTemplate.token] = LaunchTemplate()
for _handler in (TgwPeeringAttachment(), TgwPeeringAccepter(), TgwRoute(), Bucket(), BucketPublicAccessBlock(),
                 BucketOwnershipControls(), BucketEncryption(), BucketVersioning(), BucketLifecycle(), BucketPolicy(),
                 FlowLog(), DefaultSecurityGroup(), DefaultNetworkAcl(), NetworkAcl(), VpcCidrBlock()):
    HANDLERS[_handler.token] = _handler
