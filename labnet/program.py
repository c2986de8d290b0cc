"""The Pulumi program: a :class:`~labnet.spec.NetworkSpec` → pulumi-aws resources and exports.

This is the one description of the network. The Automation API engine runs it as an inline program,
the rehearsal engine runs it under the SDK's mock monitor, and ``pulumi up`` at the repository root
(Pulumi.yaml) runs it with the spec read from stack config. Nothing else in labnet creates AWS
resources.

Per spoke: a VPC (DNS support and hostnames on), its subnets, one private route table with an
association per subnet, one summary route for the supernet via the TGW, the TGW attachment on the
per-AZ attachment subnets, the training security group with its rules, a peer prefix list (the other
spokes' CIDRs) that the group's cross-spoke rule references, the node launch template (when the
spec records a workload), the S3 gateway endpoint, and optionally
an internet gateway, public route table and NAT gateway. Once: the Transit Gateway (default route
table association and propagation disabled) and its explicit route tables, with an association per
spoke and a propagation of every spoke into every table.

Why routing and admission look like this (issue 12; figures in BENCHMARKS.md). A full mesh — a route
and a rule per other spoke — is 2N(N-1) resources: past 50 spokes every route table exceeds AWS's
default 50 routes, past 60 every group exceeds its 60 inbound rules, and time per spoke grows with N.
Both are now constant per spoke:

- Routes: one route for the supernet to the TGW, not a customer-managed prefix list. AWS counts a
  route to a prefix list as that list's max entries, so a list of the other spokes would cost
  several routes and change whenever a spoke comes or goes; the summary route costs one, never
  changes, and reaches exactly what the mesh reached: the VPC's local route is more specific, and
  the TGW route tables stay exact (only the spokes' propagated CIDRs), so an address in the supernet
  that is not a spoke is dropped at the TGW, as it was dropped for want of a route before.
- Admission: least privilege, the other spokes' CIDRs only. The supernet would also admit hosts of
  the spoke's own VPC that are not in the group, so it is not used. One rule references a prefix
  list per spoke; AWS counts the list's max entries as rules, so the list holds the fewest CIDR
  blocks that cover exactly the other spokes (:meth:`NetworkSpec.peer_cidrs`): sizing packs spokes
  as equal aligned blocks, so that is at most about 2·log2(N) (8 at 100 spokes) and the group holds
  9 rules counted AWS's way instead of 100. A hand-built spec of scattered spokes stays exact and
  collapses less; preflight warns when a group would pass 60.
- Adding or removing a spoke updates the other spokes' prefix lists in place (entries and max
  entries); it rebuilds nothing. The entries are inline (one ManagedPrefixList resource with its
  entries) rather than ManagedPrefixListEntry resources: one resource per spoke whatever N is, one
  versioned modification per list per change, and no per-entry version races.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import re
from typing import Any

import pulumi
import pulumi_aws as aws

from .spec import NetworkSpec, Spoke

PROJECT = "labnet"
SG_NAME_PREFIX = "labnet-"
# Launch template names are 3-128 letters, digits and ( ) . - / _: "labnet-<spoke>-node-" plus the
# 26-character unique suffix is at most 71 of them (spoke names are 1-32 lowercase letters, digits, '-').
LAUNCH_TEMPLATE_PREFIX = "labnet-"
PL_NAME_PREFIX = "labnet-"
# Flow logs: TGW flow logs take only a 60 s aggregation interval; VPC flow logs 60 or 600 (the default).
VPC_FLOW_LOG_INTERVAL = 600
TGW_FLOW_LOG_INTERVAL = 60
# Kept by destroy (Pulumi's retain_on_delete): the log bucket and everything that configures it. Logs are
# audit data; deleting the public access block or the policy of a bucket that stays would weaken it.
RETAINED = pulumi.ResourceOptions(retain_on_delete=True)


def log_bucket_name(stack: str, region: str, account: str) -> str:
    """The flow-log bucket of ``stack`` in ``region``: one per stack and Region, the same name every
    time, so a later ``up`` of the stack finds the bucket destroy() kept. Bucket names are global and
    3-63 lowercase letters, digits and hyphens: the account and Region make it unique, the stack name
    (lowercased, other characters as '-') makes it the stack's; a stack name too long for the rest, or
    that had to be changed, ends in 8 hex digits of its hash so two stacks never share a bucket."""
    head = f"labnet-{account}-{region}-"
    slug = re.sub(r"[^a-z0-9-]+", "-", stack.lower()).strip("-") or "stack"
    room = 63 - len(head)
    if slug != stack or len(slug) > room:
        digest = hashlib.sha256(stack.encode()).hexdigest()[:8]
        slug = f"{slug[:room - 9].rstrip('-')}-{digest}".lstrip("-")
    return head + slug


def _az_suffix(az: str) -> str:
    return az[-1]


def subnet_key(spoke: Spoke, index: int) -> str:
    """Stable logical name of a subnet: ``<spoke>-<role>-<az letter>[-n]``."""
    sn = spoke.subnets[index]
    same = [k for k, s in enumerate(spoke.subnets) if s.role == sn.role and s.az == sn.az]
    suffix = "" if len(same) == 1 else f"-{same.index(index) + 1}"
    return f"{spoke.name}-{sn.role}-{_az_suffix(sn.az)}{suffix}"


def _peer_descriptions(spec: NetworkSpec, blocks) -> dict[str, str]:
    """Each peer block's entry description: the spokes it covers, by address (AWS allows 255 characters)."""
    import bisect

    spokes = sorted((int(ipaddress.IPv4Network(c).network_address), sp.name) for sp in spec.spokes for c in sp.cidrs)
    starts = [start for start, _ in spokes]
    out = {}
    for block in set(blocks):
        net = ipaddress.IPv4Network(block)
        # A peer block covers whole spokes only, so the spokes inside it are those starting in it.
        a = bisect.bisect_left(starts, int(net.network_address))
        b = bisect.bisect_right(starts, int(net.broadcast_address))
        inside = list(dict.fromkeys(name for _, name in spokes[a:b]))
        text = f"spoke {inside[0]}" if len(inside) == 1 else f"{len(inside)} spokes, {inside[0]} to {inside[-1]}"
        out[block] = text[:255]
    return out


def provider(region: str, target: dict[str, Any] | None) -> aws.Provider:
    """The explicit aws provider every resource of the program uses, built from the target.

    ``target`` is :meth:`labnet.emulator.targets.Target.program_target` (``None`` means real AWS with the
    caller's credentials, as for ``pulumi up`` at the repository root). An explicit provider keeps
    the emulator's endpoints in the stack's state, next to the resources made through it, instead of
    in stack config that a later run against another target would overwrite: Pulumi deletes through
    the provider recorded in the state, so a destroy always goes where the resources were created.
    """
    target = target or {"kind": "aws"}
    if target["kind"] != "emulator":
        return aws.Provider(f"aws-{region}", region=region)
    url = target["endpoint"]
    return aws.Provider(
        f"aws-{region}", region=region, access_key=target["access_key"],
        secret_key=pulumi.Output.secret(target["secret_key"]),
        skip_credentials_validation=True, skip_requesting_account_id=True, skip_metadata_api_check=True,
        skip_region_validation=True, s3_use_path_style=True,
        endpoints=[aws.ProviderEndpointArgs(ec2=url, sts=url, s3=url, iam=url)])


class ExistingResource:
    """A VPC or Transit Gateway that exists already, as the program uses it: plain values where a
    declared resource has Outputs (its id, and a TGW's ARN and owner, read by sizing and recorded in
    the spec). Never a Pulumi resource, so it is in no engine's state and no destroy can touch it."""

    def __init__(self, tgw_id: str, arn: str = "", owner_id: str = "") -> None:
        self.id, self.arn, self.owner_id = tgw_id, arn, owner_id


class _Regions:
    """Which region's provider the resources declared now go through: one explicit provider per
    region, chosen by a stack transformation while a ``with regions.of(r):`` block declares them (the
    SDK runs transformations inside each resource's constructor, so the block decides)."""

    def __init__(self, providers: dict[str, aws.Provider], home: str) -> None:
        self.providers = providers
        self.current = home

    @contextlib.contextmanager
    def of(self, region: str):
        previous, self.current = self.current, region
        try:
            yield
        finally:
            self.current = previous

    def transform(self, args: pulumi.ResourceTransformationArgs):
        if not args.type_.startswith("aws:") or (args.opts and args.opts.provider is not None):
            return None
        return pulumi.ResourceTransformationResult(args.props, pulumi.ResourceOptions.merge(
            args.opts, pulumi.ResourceOptions(provider=self.providers[self.current])))


class _Unique:
    """Refuses a second resource of one type under one logical name, inside its constructor (before
    it is registered): the real engine would stop half-way on the duplicate URN, and the rehearsal
    state would keep only one of them. Preflight refuses the known ways to get there first."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()

    def transform(self, args: pulumi.ResourceTransformationArgs):
        key = (args.type_, args.name)
        if key in self.seen:
            from .errors import InvalidSpecError

            raise InvalidSpecError("spec", args.name, f"declares two {args.type_} resources named {args.name!r}",
                                   "rename the spoke or route table whose name produces it")
        self.seen.add(key)
        return None


def _suffix(spec: NetworkSpec, region: str) -> str:
    """Logical names of per-region resources: the spec's own region keeps the names of a network in
    one region (saved stacks still match), any other region adds its name."""
    return "" if region == spec.region else f"-{region}"


def build(spec: NetworkSpec, stack: str | None = None, target: dict[str, Any] | None = None) -> dict[str, Any]:
    """Declare every resource of ``spec``; return the exports (a dict of Outputs and plain values).

    ``target`` says where the resources go (see :func:`provider`); every resource is made through
    the explicit provider of its region. Across regions: one Transit Gateway per region with its
    route tables, a peering attachment per pair of regions accepted on the peer side and associated
    with a TGW route table on both, and in every TGW route table one static route per remote region
    (its summary block) via the peering attachment: peering attachments do not propagate routes."""
    stack = stack or pulumi.get_stack()
    regions = _Regions({r: provider(r, target) for r in spec.regions}, spec.region)
    pulumi.runtime.register_stack_transformation(regions.transform)
    pulumi.runtime.register_stack_transformation(_Unique().transform)
    base_tags = spec.tags.for_stack(stack)

    def tags(name: str, **extra: str) -> dict[str, str]:
        return {**base_tags, "Name": f"{stack}-{name}", **extra}

    tgw_opts = spec.transit_gateway
    tgws: dict[str, Any] = {}
    tables: dict[str, dict[str, aws.ec2transitgateway.RouteTable]] = {}
    for r in spec.regions:
        sfx = _suffix(spec, r)
        with regions.of(r):
            if tgw_opts.existing_id and r == spec.region:
                # An existing TGW is looked up, never declared: its id is a plain value, so no engine
                # holds it in its state and no destroy can touch it. labnet's route tables go on it.
                tgws[r] = ExistingResource(tgw_opts.existing_id, tgw_opts.existing_arn, tgw_opts.existing_owner)
            else:
                tgws[r] = aws.ec2transitgateway.TransitGateway(
                    f"tgw{sfx}",
                    description=tgw_opts.description,
                    amazon_side_asn=spec.asn_of(r),
                    dns_support="enable" if tgw_opts.dns_support else "disable",
                    vpn_ecmp_support="enable",
                    # Explicit route tables below: never the TGW's silent default association/propagation.
                    default_route_table_association="disable",
                    default_route_table_propagation="disable",
                    auto_accept_shared_attachments="disable",
                    # Security group references across the TGW (same Region only): each attachment enables them too.
                    security_group_referencing_support="enable",
                    tags=tags(f"tgw{sfx}", **({"region": r} if spec.multi_region else {})),
                )
            tables[r] = {
                name: aws.ec2transitgateway.RouteTable(
                    f"tgw-rt-{name}{sfx}", transit_gateway_id=tgws[r].id, tags=tags(f"tgw-rt-{name}{sfx}"))
                for name in tgw_opts.route_tables
            }
    peerings_out = _peerings(spec, regions, tgws, tables, tags)
    tgw, tgw_tables = tgws[spec.region], tables[spec.region]

    logs: dict[str, dict[str, Any]] = {}
    for r in spec.regions:
        with regions.of(r):
            logs[r] = _log_destination(spec, stack, r, tgws[r], tags)
            # Not on an existing TGW: its flow log would record the organisation's other traffic too.
            if logs[r] and not isinstance(tgws[r], ExistingResource):
                logs[r]["tgw_flow_log"] = aws.ec2.FlowLog(
                    f"tgw-flow-log{_suffix(spec, r)}", transit_gateway_id=tgws[r].id,
                    log_destination_type=logs[r]["type"], log_destination=logs[r]["arn"],
                    iam_role_arn=spec.security.flow_log_role_arn or None,
                    max_aggregation_interval=TGW_FLOW_LOG_INTERVAL, tags=tags(f"tgw-flow-log{_suffix(spec, r)}"),
                    opts=pulumi.ResourceOptions(depends_on=logs[r]["ready"]))

    spokes_out: dict[str, Any] = {}
    peer_cidrs = spec.prefix_list_cidrs()
    described = _peer_descriptions(spec, [b for blocks in peer_cidrs.values() for b in blocks])
    groups: dict[str, Any] = {}
    for spoke in spec.spokes:
        r = spec.region_of(spoke)
        with regions.of(r):
            spokes_out[spoke.name] = _spoke(spec, spoke, stack, tgws[r], tables[r], peer_cidrs[spoke.name],
                                            described, tags, logs[r], groups)
        spokes_out[spoke.name]["region"] = r
    # Group references across the TGW (issue 19), once every training group exists: each spoke whose
    # admission is "reference" admits each same-Region peer's training group on the cross-spoke ports.
    lo, hi = spec.security.cross_spoke_ports
    for spoke in spec.spokes:
        with regions.of(spec.region_of(spoke)):
            for peer in spec.referenced_peers(spoke):
                key = f"{spoke.name}-sg-from-{peer.name}"
                aws.vpc.SecurityGroupIngressRule(
                    key, security_group_id=groups[spoke.name].id, ip_protocol="tcp", from_port=lo, to_port=hi,
                    referenced_security_group_id=groups[peer.name].id,
                    description=f"TCP from spoke {peer.name}'s training group (reference across the TGW)",
                    tags=tags(key, spoke=spoke.name))

    return {
        # Which kind of target the stack's resources live on, in the stack's own outputs, so that a
        # Lab on another machine (a team's shared backend) can refuse to operate it against another.
        "target": (target or {"kind": "aws"})["kind"],
        "region": spec.region,
        "supernet": spec.supernet,
        "transit_gateway_id": tgw.id,
        "transit_gateway_arn": tgw.arn,
        "transit_gateway_existing": bool(spec.transit_gateway.existing_id),
        "transit_gateway_route_tables": {name: t.id for name, t in tgw_tables.items()},
        # Every region's TGW (one entry for a network in one region), and the peerings between them.
        "transit_gateways": {r: {"id": tgws[r].id, "asn": spec.asn_of(r), "summary": spec.summary_of(r),
                                 "route_tables": {name: t.id for name, t in tables[r].items()}}
                             for r in spec.regions},
        "peerings": peerings_out,
        "spokes": spokes_out,
        # Where each Region's flow logs go; "owned" for labnet's bucket, which destroy() keeps.
        "flow_logs": {r: {"destination": d["arn"], "type": d["type"], "bucket": d.get("bucket", ""),
                          "owned": d["owned"], "expiry_days": d.get("expiry_days", 0),
                          "tgw_flow_log_id": d["tgw_flow_log"].id if "tgw_flow_log" in d else ""}
                      for r, d in logs.items() if d},
    }


def _log_destination(spec: NetworkSpec, stack: str, region: str, tgw, tags) -> dict[str, Any]:
    """Where ``region``'s flow logs go ({} when flow logs are off): the user's bucket or log group, or
    labnet's own bucket for this stack and Region, declared here with everything that makes it an
    audit log store (issue 19). The account id comes from the Region's TGW (no extra call)."""
    sec = spec.security
    kind = sec.flow_log_kind
    if kind == "off":
        return {}
    if kind != "labnet-bucket":
        return {"arn": sec.flow_log_destination, "type": kind, "owned": False, "ready": []}
    sfx = _suffix(spec, region)
    account = pulumi.Output.from_input(tgw.owner_id)  # (a plain value for an existing TGW)
    name = account.apply(lambda a: log_bucket_name(stack, region, a))
    bucket = aws.s3.Bucket(f"flow-logs{sfx}", bucket=name, force_destroy=False,
                           tags=tags(f"flow-logs{sfx}", purpose="flow-logs", region=region), opts=RETAINED)
    ready = [
        aws.s3.BucketPublicAccessBlock(f"flow-logs-public-access{sfx}", bucket=bucket.id, block_public_acls=True,
                                       block_public_policy=True, ignore_public_acls=True,
                                       restrict_public_buckets=True, opts=RETAINED),
        # Object ownership "bucket owner enforced": ACLs off, the account owns every log object.
        aws.s3.BucketOwnershipControls(f"flow-logs-ownership{sfx}", bucket=bucket.id,
                                       rule=aws.s3.BucketOwnershipControlsRuleArgs(
                                           object_ownership="BucketOwnerEnforced"), opts=RETAINED),
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"flow-logs-sse{sfx}", bucket=bucket.id,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.
                BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="AES256"), bucket_key_enabled=True)], opts=RETAINED),
        # Versioning keeps a log that is overwritten or deleted; the lifecycle expires old versions too.
        aws.s3.BucketVersioning(f"flow-logs-versioning{sfx}", bucket=bucket.id,
                                versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                                    status="Enabled"), opts=RETAINED),
        aws.s3.BucketLifecycleConfiguration(
            f"flow-logs-expiry{sfx}", bucket=bucket.id,
            rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-flow-logs", status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=sec.flow_log_expiry_days),
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=sec.flow_log_expiry_days),
                abort_incomplete_multipart_upload=aws.s3.
                BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(days_after_initiation=7))],
            opts=RETAINED),
    ]
    policy = aws.s3.BucketPolicy(
        f"flow-logs-policy{sfx}", bucket=bucket.id,
        policy=pulumi.Output.all(bucket.arn, account).apply(lambda a: json.dumps(log_bucket_policy(a[0], a[1], region))),
        opts=pulumi.ResourceOptions.merge(RETAINED, pulumi.ResourceOptions(depends_on=ready[:1])))
    return {"arn": bucket.arn, "type": "s3", "owned": True, "bucket": bucket.id, "ready": [*ready, policy],
            "expiry_days": sec.flow_log_expiry_days}


def log_bucket_policy(bucket_arn: str, account: str, region: str) -> dict[str, Any]:
    """The flow-log bucket's policy: only the log delivery service, only for this account's flow logs
    in this Region (``aws:SourceAccount``, ``aws:SourceArn``), may write, and only under
    ``AWSLogs/<account>/``; it may read the bucket's ACL (AWS's flow-log guide); and every request
    that is not over TLS is refused."""
    source = {"StringEquals": {"aws:SourceAccount": account},
              "ArnLike": {"aws:SourceArn": f"arn:aws:logs:{region}:{account}:*"}}
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "AWSLogDeliveryWrite", "Effect": "Allow", "Principal": {"Service": "delivery.logs.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": f"{bucket_arn}/AWSLogs/{account}/*",
         "Condition": {"StringEquals": {"aws:SourceAccount": account, "s3:x-amz-acl": "bucket-owner-full-control"},
                       "ArnLike": source["ArnLike"]}},
        {"Sid": "AWSLogDeliveryAclCheck", "Effect": "Allow", "Principal": {"Service": "delivery.logs.amazonaws.com"},
         "Action": ["s3:GetBucketAcl", "s3:ListBucket"], "Resource": bucket_arn, "Condition": source},
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [bucket_arn, f"{bucket_arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]}


def s3_endpoint_policy(account: str, buckets: tuple[str, ...] = ()) -> dict[str, Any]:
    """The S3 gateway endpoint's policy (issue 19): principals of the account only, and only buckets
    the account owns (``s3:ResourceAccount``), plus the buckets the spec lists (read and list: a public
    dataset, a partner's bucket), still for the account's principals only. The default policy
    (anyone, any bucket) would let a node copy training data to any bucket in the world."""
    statements: list[dict[str, Any]] = [
        {"Sid": "AccountPrincipalsAccountBuckets", "Effect": "Allow", "Principal": "*", "Action": "s3:*",
         "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalAccount": account,
                                                         "s3:ResourceAccount": account}}}]
    if buckets:
        arns = [a for b in buckets for a in (f"arn:aws:s3:::{b}", f"arn:aws:s3:::{b}/*")]
        statements.append({"Sid": "ListedBuckets", "Effect": "Allow", "Principal": "*",
                           "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:GetBucketLocation"],
                           "Resource": arns, "Condition": {"StringEquals": {"aws:PrincipalAccount": account}}})
    return {"Version": "2012-10-17", "Statement": statements}


def _nacl_args(spec: NetworkSpec, public: bool, cls_in, cls_out) -> tuple[list[Any], list[Any]]:
    """pulumi-aws ingress/egress blocks of the ACL :meth:`NetworkSpec.nacl_rules` describes."""
    ingress, egress = [], []
    for rule in spec.nacl_rules(public):
        cls = cls_out if rule.egress else cls_in
        args = cls(rule_no=rule.rule_number, action="allow", protocol=rule.protocol, cidr_block=rule.cidr,
                   from_port=rule.from_port, to_port=rule.to_port,
                   icmp_type=rule.icmp_type if rule.protocol == "1" else None,
                   icmp_code=rule.icmp_code if rule.protocol == "1" else None)
        (egress if rule.egress else ingress).append(args)
    return ingress, egress


def _peerings(spec: NetworkSpec, regions: _Regions, tgws: dict[str, Any], tables: dict[str, dict[str, Any]],
              tags) -> list[dict[str, Any]]:
    """A full mesh of TGW peerings (peering is not transitive): per pair of regions, the attachment
    requested from the first, accepted in the second, associated with a TGW route table on both
    sides (traffic arriving over a peering is routed by the table associated with it), and in every
    TGW route table of each side a static route for the other region's summary block via the peering
    (peering attachments do not propagate routes). AWS's order: the association before the route."""
    out = []
    for a, b in spec.peerings():
        key = f"peering-{a}-{b}"
        with regions.of(a):
            requested = aws.ec2transitgateway.PeeringAttachment(
                key, transit_gateway_id=tgws[a].id, peer_transit_gateway_id=tgws[b].id, peer_region=b,
                peer_account_id=tgws[b].owner_id, tags=tags(key, region=a, peer_region=b))
        with regions.of(b):
            accepted = aws.ec2transitgateway.PeeringAttachmentAccepter(
                f"{key}-accept", transit_gateway_attachment_id=requested.id,
                tags=tags(f"{key}-accept", region=b, peer_region=a))
        for side, other, attachment in ((a, b, requested), (b, a, accepted)):
            with regions.of(side):
                first = next(iter(tables[side].values()))
                association = aws.ec2transitgateway.RouteTableAssociation(
                    f"{key}-assoc-{side}", transit_gateway_attachment_id=attachment.id,
                    transit_gateway_route_table_id=first.id, opts=pulumi.ResourceOptions(depends_on=[accepted]))
                for name, table in tables[side].items():
                    aws.ec2transitgateway.Route(
                        f"{key}-route-{side}-{name}", destination_cidr_block=spec.summary_of(other),
                        transit_gateway_attachment_id=attachment.id, transit_gateway_route_table_id=table.id,
                        opts=pulumi.ResourceOptions(depends_on=[association]))
        out.append({"requester": a, "accepter": b, "attachment_id": requested.id,
                    "routes": {a: spec.summary_of(b), b: spec.summary_of(a)}})
    return out


def _spoke(spec: NetworkSpec, spoke: Spoke, stack: str, tgw, tgw_tables: dict[str, Any], peers: tuple[str, ...],
           described: dict[str, str], tags, logs: dict[str, Any], groups: dict[str, Any]) -> dict[str, Any]:
    """Declare one spoke (its VPC and everything in it, in the region whose provider is current);
    return its exports."""
    lo, hi = spec.security.cross_spoke_ports
    region = spec.region_of(spoke)
    s = spoke.name
    ex = spoke.existing
    added = None
    if ex is not None:
        # An existing VPC: looked up by id, never declared. labnet declares only what it adds inside it
        # (attachment subnets and their route table, the training group, routes in the tables that
        # serve the VPC's subnets, a secondary block when asked), so destroy removes only those.
        vpc: Any = ExistingResource(ex.vpc_id)
        if ex.added_cidr:
            added = aws.ec2.VpcIpv4CidrBlockAssociation(f"{s}-added-cidr", vpc_id=ex.vpc_id,
                                                        cidr_block=ex.added_cidr)
    else:
        vpc = aws.ec2.Vpc(f"{s}-vpc", cidr_block=spoke.cidr, enable_dns_support=True,
                          enable_dns_hostnames=True, tags=tags(f"{s}-vpc", spoke=s))
    rt = aws.ec2.RouteTable(f"{s}-rt", vpc_id=vpc.id, tags=tags(f"{s}-rt", spoke=s))
    subnets: dict[int, aws.ec2.Subnet] = {}
    subnet_out = []
    public_rt = igw = None
    if spec.public_subnets and ex is None:
        igw = aws.ec2.InternetGateway(f"{s}-igw", vpc_id=vpc.id, tags=tags(f"{s}-igw", spoke=s))
        public_rt = aws.ec2.RouteTable(f"{s}-public-rt", vpc_id=vpc.id, tags=tags(f"{s}-public-rt", spoke=s))
        aws.ec2.Route(f"{s}-public-default", route_table_id=public_rt.id,
                      destination_cidr_block="0.0.0.0/0", gateway_id=igw.id)
    for k, sn in enumerate(spoke.subnets):
        key = subnet_key(spoke, k)
        subnet = aws.ec2.Subnet(
            key, vpc_id=vpc.id, cidr_block=sn.cidr, availability_zone=sn.az,
            map_public_ip_on_launch=False, tags=tags(key, spoke=s, role=sn.role),
            opts=pulumi.ResourceOptions(depends_on=[added]) if added is not None else None)
        subnets[k] = subnet
        table = public_rt if sn.role == "public" else rt
        aws.ec2.RouteTableAssociation(f"{key}-assoc", subnet_id=subnet.id, route_table_id=table.id)
        subnet_out.append({"name": key, "role": sn.role, "az": sn.az, "az_id": sn.az_id, "cidr": sn.cidr,
                           "id": subnet.id})
    for sn in (ex.subnets if ex is not None else ()):  # the VPC's own subnets: where the team's nodes are
        subnet_out.append({"name": sn.id, "role": "existing", "az": sn.az, "az_id": sn.az_id, "cidr": sn.cidr,
                           "id": sn.id, "route_table_id": sn.route_table_id})

    attach_ids = [subnets[k].id for k, sn in enumerate(spoke.subnets) if sn.role == "attachment"]
    attachment = aws.ec2transitgateway.VpcAttachment(
        f"{s}-attachment", transit_gateway_id=tgw.id, vpc_id=vpc.id, subnet_ids=attach_ids,
        dns_support="enable",
        # References across the TGW need it on the TGW and on both attachments (issue 19); appliance mode
        # stays off: references do not work through appliance (inspection) paths.
        security_group_referencing_support="enable", appliance_mode_support="disable",
        transit_gateway_default_route_table_association=False,
        transit_gateway_default_route_table_propagation=False,
        tags=tags(f"{s}-attachment", spoke=s))
    assoc_table = tgw_tables[spoke.route_table]
    association = aws.ec2transitgateway.RouteTableAssociation(
        f"{s}-tgw-assoc", transit_gateway_attachment_id=attachment.id,
        transit_gateway_route_table_id=assoc_table.id)
    # Propagations only after the association: while an attachment is associating, EC2 answers
    # EnableTransitGatewayRouteTablePropagation with IncorrectState, and terraform-provider-aws
    # (so pulumi-aws) does not retry it. Declared in parallel, a real deploy fails part-way.
    for name, table in tgw_tables.items():
        aws.ec2transitgateway.RouteTablePropagation(
            f"{s}-tgw-prop-{name}", transit_gateway_attachment_id=attachment.id,
            transit_gateway_route_table_id=table.id,
            opts=pulumi.ResourceOptions(depends_on=[association]))

    sg = aws.ec2.SecurityGroup(
        f"{s}-training-sg", vpc_id=vpc.id,
        # A prefix of labnet's own: a name derived from the spoke alone could start with "sg-",
        # which CreateSecurityGroup rejects (the emulator accepts it).
        name_prefix=f"{SG_NAME_PREFIX}{s}-training-",
        description="labnet training nodes: all traffic within the group (EFA), TCP from other spokes",
        tags=tags(f"{s}-training-sg", spoke=s))
    groups[s] = sg
    # The VPC's default group: no rules at all (CIS 5.4). Nothing of labnet's uses it; an instance
    # launched without a group would get it and reach nothing.
    # An existing VPC's default group, default ACL and flow logs are the team's: labnet adopts and
    # rewrites none of them (its own subnets there use the VPC's ACL, like the team's).
    if ex is None:
        aws.ec2.DefaultSecurityGroup(f"{s}-default-sg", vpc_id=vpc.id, tags=tags(f"{s}-default-sg", spoke=s))
        # The VPC's default network ACL serves every subnet labnet does not give another one: the private
        # (compute and attachment) subnets. Only what the network needs (NetworkSpec.nacl_rules).
        ingress, egress = _nacl_args(spec, False, aws.ec2.DefaultNetworkAclIngressArgs,
                                     aws.ec2.DefaultNetworkAclEgressArgs)
        aws.ec2.DefaultNetworkAcl(f"{s}-nacl", default_network_acl_id=vpc.default_network_acl_id,
                                  ingress=ingress, egress=egress, tags=tags(f"{s}-nacl", spoke=s))
    flow_log = None
    if logs and ex is None:
        flow_log = aws.ec2.FlowLog(
            f"{s}-flow-log", vpc_id=vpc.id, traffic_type="ALL", log_destination_type=logs["type"],
            log_destination=logs["arn"], iam_role_arn=spec.security.flow_log_role_arn or None,
            max_aggregation_interval=VPC_FLOW_LOG_INTERVAL, tags=tags(f"{s}-flow-log", spoke=s),
            opts=pulumi.ResourceOptions(depends_on=logs["ready"]))
    # EFA's rule is both directions: all inbound AND all outbound traffic to and from the group
    # itself. EFA (SRD) traffic is not addressed by IPv4, so the 0.0.0.0/0 egress below does not
    # carry it; without the self egress rule NCCL fails its handshake over EFA.
    aws.vpc.SecurityGroupIngressRule(
        f"{s}-sg-self", security_group_id=sg.id, ip_protocol="-1", referenced_security_group_id=sg.id,
        description="all traffic from the group itself (EFA requirement)", tags=tags(f"{s}-sg-self", spoke=s))
    aws.vpc.SecurityGroupEgressRule(
        f"{s}-sg-self-egress", security_group_id=sg.id, ip_protocol="-1", referenced_security_group_id=sg.id,
        description="all traffic to the group itself (EFA requirement)",
        tags=tags(f"{s}-sg-self-egress", spoke=s))
    aws.vpc.SecurityGroupEgressRule(
        f"{s}-sg-egress", security_group_id=sg.id, ip_protocol="-1", cidr_ipv4="0.0.0.0/0",
        description="all outbound", tags=tags(f"{s}-sg-egress", spoke=s))

    others = spec.peer_cidrs()[s] if ex is not None or _outside_supernet(spec) else ()
    if len(spec.spokes) > 1 and ex is not None:
        # Routing in a VPC labnet does not own: only added, one route per block that covers exactly the
        # other spokes, in each table that serves the VPC's subnets; never the supernet (it would catch
        # addresses the VPC reaches another way today). A route there for the same destination (or a
        # part of it) is refused by preflight before any change.
        for table_id in ex.serving_tables:
            for block in others:
                aws.ec2.Route(f"{s}-{table_id}-to-{block.replace('/', '-')}", route_table_id=table_id,
                              destination_cidr_block=block, transit_gateway_id=tgw.id,
                              opts=pulumi.ResourceOptions(depends_on=[attachment]))
    if len(spec.spokes) > 1 and ex is None:
        # Existing spokes' blocks outside the supernet: the summary route below does not cover them.
        for block in _outside_supernet(spec):
            aws.ec2.Route(f"{s}-to-{block.replace('/', '-')}", route_table_id=rt.id, destination_cidr_block=block,
                          transit_gateway_id=tgw.id, opts=pulumi.ResourceOptions(depends_on=[attachment]))
    if len(spec.spokes) > 1 and ex is None:
        # Routing: one summary route for the supernet. The VPC's local route is more specific, so
        # traffic inside the VPC stays local; everything else in the supernet goes to the TGW,
        # whose route tables hold only the spokes' propagated CIDRs, so what is not a spoke is
        # dropped there. Constant in N, and untouched when spokes come and go.
        aws.ec2.Route(f"{s}-to-spokes", route_table_id=rt.id, destination_cidr_block=spec.supernet,
                      transit_gateway_id=tgw.id, opts=pulumi.ResourceOptions(depends_on=[attachment]))
    if peers:
        # Admission: the other spokes' CIDRs only, in one prefix list referenced by one rule.
        # AWS counts the list's max entries as rules, so the list holds the fewest blocks that
        # cover exactly the other spokes (NetworkSpec.peer_cidrs), and max entries is that number.
        peer_list = aws.ec2.ManagedPrefixList(
            # Named, not auto-named: a name of labnet's own never starts with "com.amazonaws"
            # (reserved for AWS's lists; a stack could be called that), and need not be unique.
            f"{s}-peers", name=f"{PL_NAME_PREFIX}{stack}-{s}-peers", address_family="IPv4",
            max_entries=len(peers),
            entries=[aws.ec2.ManagedPrefixListEntryArgs(cidr=b, description=described[b])
                     for b in peers],
            tags=tags(f"{s}-peers", spoke=s))
        aws.vpc.SecurityGroupIngressRule(
            f"{s}-sg-from-spokes", security_group_id=sg.id, ip_protocol="tcp",
            from_port=lo, to_port=hi, prefix_list_id=peer_list.id,
            description=("TCP from the other Regions' spokes (NCCL/Gloo across TGW peering)"
                         if spoke.admission == "reference" else "TCP from the other spokes (NCCL/Gloo across the TGW)"),
            tags=tags(f"{s}-sg-from-spokes", spoke=s))

    out: dict[str, Any] = {
        "vpc_id": vpc.id, "cidr": spoke.cidr, "route_table_id": rt.id,
        "attachment_id": attachment.id, "security_group_id": sg.id,
        "tgw_route_table": spoke.route_table, "subnets": subnet_out,
    }
    if peers:
        out["peer_prefix_list_id"] = peer_list.id
    out["admission"] = spoke.admission
    if flow_log is not None:
        out["flow_log_id"] = flow_log.id
    if ex is not None:
        out.update({"existing": True, "route_table_ids": list(ex.serving_tables), "cidrs": list(spoke.cidrs)})
        if ex.added_cidr:
            out["added_cidr"] = ex.added_cidr
    kind = dict(spec.storage).get(s)
    if kind:
        out.update(_storage_group(spoke, kind, vpc.id, sg, peer_list if peers else None, tags))
    if ex is not None:
        return out  # no launch template, endpoint or NAT in a VPC labnet does not own: its nodes are the team's
    if spec.workload is not None:
        out.update(_node_template(spec, spoke, subnets, sg, tags))
    if spec.s3_endpoint:
        endpoint = aws.ec2.VpcEndpoint(
            f"{s}-s3", vpc_id=vpc.id, service_name=f"com.amazonaws.{region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id] + ([public_rt.id] if public_rt is not None else []),
            policy=pulumi.Output.from_input(tgw.owner_id).apply(
                lambda a: json.dumps(s3_endpoint_policy(a, spec.security.s3_buckets))),
            tags=tags(f"{s}-s3", spoke=s))
        out["s3_endpoint_id"] = endpoint.id
    if spec.public_subnets:
        first_public = next(k for k, sn in enumerate(spoke.subnets) if sn.role == "public")
        eip = aws.ec2.Eip(f"{s}-nat-eip", domain="vpc", tags=tags(f"{s}-nat-eip", spoke=s),
                          opts=pulumi.ResourceOptions(depends_on=[igw]))
        nat = aws.ec2.NatGateway(f"{s}-nat", allocation_id=eip.id, subnet_id=subnets[first_public].id,
                                 tags=tags(f"{s}-nat", spoke=s))
        aws.ec2.Route(f"{s}-default-nat", route_table_id=rt.id, destination_cidr_block="0.0.0.0/0",
                      nat_gateway_id=nat.id)
        # The public subnets (the NAT gateway's) get an ACL of their own: the NAT path needs more.
        ingress, egress = _nacl_args(spec, True, aws.ec2.NetworkAclIngressArgs, aws.ec2.NetworkAclEgressArgs)
        public_acl = aws.ec2.NetworkAcl(
            f"{s}-public-nacl", vpc_id=vpc.id, ingress=ingress, egress=egress,
            subnet_ids=[subnets[k].id for k, sn in enumerate(spoke.subnets) if sn.role == "public"],
            tags=tags(f"{s}-public-nacl", spoke=s))
        out["public_network_acl_id"] = public_acl.id
        out["internet_gateway_id"] = igw.id
        out["nat_gateway_id"] = nat.id
        out["public_route_table_id"] = public_rt.id
    return out



def _outside_supernet(spec: NetworkSpec) -> tuple[str, ...]:
    from .preflight import outside_supernet

    return outside_supernet(spec)


def _storage_group(spoke: Spoke, kind: str, vpc_id, sg, peer_list, tags) -> dict[str, Any]:
    """A security group for the spoke's storage (the file system's network interfaces carry it): the
    kind's TCP ports from the network's training groups (the spoke's own group, and the other spokes
    through the spoke's peer prefix list, as the training group admits them) and from itself (FSx
    for Lustre's servers talk to each other on the same ports)."""
    from .spec import STORAGE_PORTS

    s = spoke.name
    group = aws.ec2.SecurityGroup(
        f"{s}-storage-sg", vpc_id=vpc_id, name_prefix=f"{SG_NAME_PREFIX}{s}-storage-",
        description=f"labnet {kind} storage: its ports from the training groups", tags=tags(f"{s}-storage-sg", spoke=s))
    for lo, hi in STORAGE_PORTS[kind]:
        sources = [("self", {"referenced_security_group_id": group.id}),
                   ("training", {"referenced_security_group_id": sg.id})]
        if peer_list is not None:
            sources.append(("spokes", {"prefix_list_id": peer_list.id}))
        for label, source in sources:
            aws.vpc.SecurityGroupIngressRule(
                f"{s}-storage-{lo}-{label}", security_group_id=group.id, ip_protocol="tcp", from_port=lo,
                to_port=hi, description=f"{kind} TCP {lo}-{hi} from {label}", tags=tags(f"{s}-storage-{lo}-{label}", spoke=s),
                **source)
    aws.vpc.SecurityGroupEgressRule(
        f"{s}-storage-egress", security_group_id=group.id, ip_protocol="-1", referenced_security_group_id=group.id,
        description="storage servers to each other", tags=tags(f"{s}-storage-egress", spoke=s))
    return {"storage": kind, "storage_security_group_id": group.id}


def _node_template(spec: NetworkSpec, spoke: Spoke, subnets: dict[int, aws.ec2.Subnet],
                   sg: aws.ec2.SecurityGroup, tags) -> dict[str, Any]:
    """The spoke's node launch template: its compute subnet, its training group, and the network
    interfaces the workload's instance type needs (``Workload.interfaces``), so that nodes launch
    with every EFA interface on the right card. No AMI unless the spec names one."""
    wl = spec.workload
    assert wl is not None
    s = spoke.name
    k, compute = next((k, sn) for k, sn in enumerate(spoke.subnets) if sn.role == "compute")
    subnet = subnets[k]  # an EFA cluster has one; a spread workload's launcher overrides it per AZ
    interfaces = [
        aws.ec2.LaunchTemplateNetworkInterfaceArgs(
            network_card_index=i.network_card, device_index=i.device_index,
            # "interface" (ENA) is EC2's default type: leave it unset, as the provider does.
            interface_type=None if i.interface_type == "interface" else i.interface_type,
            subnet_id=subnet.id, security_groups=[sg.id], delete_on_termination="true",
            # No public address, ever (the primary interface is the one that could get one).
            associate_public_ip_address="false" if (i.network_card, i.device_index) == (0, 0) else None,
            description=f"labnet {s} card {i.network_card} {i.interface_type}")
        for i in wl.interfaces]
    node_tags = tags(f"{s}-node", spoke=s)
    template = aws.ec2.LaunchTemplate(
        f"{s}-node-template",
        name_prefix=f"{LAUNCH_TEMPLATE_PREFIX}{s}-node-",
        description=f"labnet {s}: {wl.instance_type} nodes ({wl.interface_mode}) in {compute.az}",
        instance_type=wl.instance_type,
        image_id=wl.image_id or None,
        network_interfaces=interfaces,
        metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(http_endpoint="enabled", http_tokens="required"),
        tag_specifications=[aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=node_tags)
                            for kind in ("instance", "network-interface", "volume")],
        update_default_version=True,
        tags=tags(f"{s}-node-template", spoke=s))
    return {
        "launch_template_id": template.id,
        # Only values known before the template exists (ids and the spec's own): a preview resolves
        # them too. Launchers ask for version "$Default", which update_default_version keeps current.
        "launch_template": {
            "version": "$Default", "instance_type": wl.instance_type,
            "interface_mode": wl.interface_mode, "image_id": wl.image_id, "nodes": wl.nodes_per_spoke,
            "subnet_id": subnet.id, "az": compute.az, "az_id": compute.az_id, "security_group_id": sg.id,
            "compute_subnet_ids": [subnets[j].id for j, sn in enumerate(spoke.subnets) if sn.role == "compute"],
            "interfaces": [{"network_card": i.network_card, "device_index": i.device_index,
                            "interface_type": i.interface_type} for i in wl.interfaces],
        },
    }


def pulumi_program(spec: NetworkSpec, target: dict[str, Any] | None = None) -> None:
    """The inline program: declare everything and export the outputs, and the spec itself: the spec
    travels with the stack, so a teammate sharing its backend opens it by name alone
    (:func:`labnet.engines.automation.shared_spec`); a file backend keeps stack config on one machine."""
    for key, value in build(spec, target=target).items():
        pulumi.export(key, value)
    pulumi.export("spec", spec.to_dict())


def spec_from_config() -> NetworkSpec:
    """Read the spec from stack config (``labnet:spec``, an object) for ``pulumi up`` at the repo root."""
    config = pulumi.Config(PROJECT)
    return NetworkSpec.from_dict(config.require_object("spec"))
