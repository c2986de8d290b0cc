"""Issue 19: secure by an auditor's standard.

Flow logs on every spoke VPC and TGW into a retained bucket per stack and Region, the VPC's default
group and ACL locked down, scoped S3 endpoint policies, group references across the TGW within a
Region (prefix lists across Regions), launch templates without public addresses, the posture table,
and preflight of AWS's rules for all of it. The program under the SDK's mock monitor, then end to
end on the emulator inspected with independent boto3 clients.
"""

from __future__ import annotations

import dataclasses
import json

import boto3
import pytest

import labnet
from labnet import preflight, sizing
from labnet.errors import InvalidSpecError
from labnet.preflight import RegionFacts
from tests.helpers import P5, US_EAST_1, record_api_calls
from tests.inspect_ec2 import inventory, total

US_WEST_2 = RegionFacts("us-west-2", tuple(f"us-west-2{c}" for c in "abcd"))
FACTS = {"us-east-1": US_EAST_1, "us-west-2": US_WEST_2}
ACCOUNT = "123456789012"  # the emulator's account


def plan(**kw):
    args = dict(spokes=3, nodes_per_spoke=4, instance=P5, region=US_EAST_1, azs=2)
    args.update(kw)
    return sizing.plan(**args)


def with_security(spec, **changes):
    return dataclasses.replace(spec, security=dataclasses.replace(spec.security, **changes))


def clients(url, region="us-east-1"):
    kw = dict(region_name=region, endpoint_url=url, aws_access_key_id="testing", aws_secret_access_key="testing")
    return boto3.client("ec2", **kw), boto3.client("s3", **kw)


# -- spec, sizing, preflight -------------------------------------------------------------------------
def test_security_options_round_trip_and_default_to_on():
    spec = plan()
    assert spec.security.flow_logs and spec.security.flow_log_kind == "labnet-bucket"
    custom = with_security(spec, flow_log_destination="arn:aws:s3:::team-logs/net", flow_log_expiry_days=30,
                           s3_buckets=("open-datasets",))
    assert labnet.NetworkSpec.from_dict(json.loads(json.dumps(custom.to_dict()))) == custom
    assert custom.security.flow_log_kind == "s3"
    assert with_security(spec, flow_logs=False).security.flow_log_kind == "off"
    # A spec saved before issue 19 reads as before: admission by CIDR, flow logs on.
    old = spec.to_dict()
    for sp in old["spokes"]:
        del sp["admission"]
    assert {sp.admission for sp in labnet.NetworkSpec.from_dict(old).spokes} == {"prefix-list"}


def test_sizing_admits_same_region_peers_by_reference_and_says_so_in_the_table():
    spec = plan()
    assert {sp.admission for sp in spec.spokes} == {"reference"}
    assert spec.prefix_list_cidrs() == {sp.name: () for sp in spec.spokes}  # one Region: no list at all
    from labnet.analysis import quota_report

    counted = quota_report.counts(spec).inbound_rules_per_security_group  # from the declared program, AWS's way
    assert counted == {f"{sp.name}-training-sg": 3 for sp in spec.spokes}  # self + 2 references
    assert set(spec.table()["admission"]) == {"group references (2 peers)"}
    two = sizing.plan(regions={"us-east-1": 2, "us-west-2": 2}, nodes_per_spoke=4, instance=P5, region=FACTS, azs=2)
    for sp in two.spokes:
        other = next(r for r in two.regions if r != two.region_of(sp))
        assert sp.admission == "reference"
        assert two.prefix_list_cidrs()[sp.name] == (two.summary_of(other),)  # the other Region, by CIDR
        assert [p.name for p in two.referenced_peers(sp)] == [p.name for p in two.spokes_in(two.region_of(sp))
                                                             if p is not sp]


def test_references_past_the_rules_quota_or_in_use1_az3_keep_the_prefix_list():
    many = plan(spokes=61)
    assert {sp.admission for sp in many.spokes} == {"prefix-list"}  # 60 references + self > 60 rules
    # and the prefix list keeps each group within the quota: 1 + about 2·log2(N) entries
    assert all(1 + len(b) <= preflight.DEFAULT_INBOUND_RULES_PER_SG for b in many.prefix_list_cidrs().values())
    facts = RegionFacts("us-east-1", ("us-east-1a", "us-east-1b"), ("use1-az3", "use1-az1"))
    spec = plan(region=facts)
    assert {sp.admission for sp in spec.spokes} == {"prefix-list"}
    forced = dataclasses.replace(spec, spokes=tuple(dataclasses.replace(sp, admission="reference") for sp in spec.spokes))
    with pytest.raises(InvalidSpecError) as err:
        preflight.check(forced)
    assert "use1-az3" in str(err.value) and "admission" in str(err.value)


@pytest.mark.parametrize("changes, field, words", [
    ({"flow_log_destination": "s3://my-logs"}, "security.flow_log_destination", "S3 bucket ARN"),
    ({"flow_log_destination": "arn:aws:s3:::My_Logs"}, "security.flow_log_destination", "bucket name"),
    ({"flow_log_destination": "arn:aws:s3:::logs/AWSLogs"}, "security.flow_log_destination", "AWSLogs"),
    ({"flow_log_destination": "arn:aws:logs:us-east-1:123456789012:log-group:flows"}, "security.flow_log_role_arn",
     "IAM role"),
    ({"flow_log_expiry_days": 0}, "security.flow_log_expiry_days", "1 or more"),
    ({"s3_buckets": ("arn:aws:s3:::datasets",)}, "security.s3_buckets[0]", "bucket name"),
    ({"s3_buckets": ("ok-bucket", "192.168.1.1")}, "security.s3_buckets[1]", "IP address"),
])
def test_bad_security_input_is_refused_naming_field_value_rule_and_fix(changes, field, words):
    spec = with_security(plan(), **changes)
    with pytest.raises(InvalidSpecError) as err:
        preflight.check(spec)
    assert err.value.field == field and words in str(err.value)


def test_a_cloudwatch_destination_with_a_role_passes():
    spec = with_security(plan(), flow_log_destination="arn:aws:logs:us-east-1:123456789012:log-group:flows",
                         flow_log_role_arn="arn:aws:iam::123456789012:role/flow-logs")
    assert preflight.check(spec) == [] and spec.security.flow_log_kind == "cloud-watch-logs"


def test_nacl_rules_stay_within_twenty_and_preflight_enforces_the_quota():
    spec = plan(public_subnets=True)
    for public in (False, True):
        rules = spec.nacl_rules(public)
        assert all(sum(r.egress == eg for r in rules) <= 20 for eg in (False, True))
        assert {(r.protocol, r.icmp_type, r.icmp_code) for r in rules if r.protocol == "1"} == {("1", 3, 4)}
        # stateless both ways: every ingress rule from outside is a reply range, never a service port
        outside = [r for r in rules if not r.egress and r.cidr == "0.0.0.0/0" and r.protocol == "6"]
        assert outside and all(r.from_port >= 1024 for r in outside)
    assert min(r.from_port for r in spec.nacl_rules(False) if r.protocol == "6" and not r.egress) == 32768
    # 19 Regions: 21 inbound rules (one per Region's block, the return rule, ICMP): more than AWS's 20
    regions = [f"{p}-{d}-{n}" for p in ("us", "eu", "ap", "ca", "sa") for d in ("east", "west") for n in (1, 2)][:19]
    base = spec.spokes[0]
    spokes = tuple(dataclasses.replace(base, name=f"s{k}", cidr=f"10.{k}.0.0/16", region=r,
                                       subnets=tuple(dataclasses.replace(sn, cidr=sn.cidr.replace("10.0.", f"10.{k}."),
                                                                         az=r + "a", az_id="")
                                                     for sn in base.subnets))
                   for k, r in enumerate(regions))
    wide = dataclasses.replace(spec, region=regions[0], spokes=spokes, public_subnets=False,
                               region_blocks=tuple((r, f"10.{k}.0.0/16") for k, r in enumerate(regions)))
    assert sum(not r.egress for r in wide.nacl_rules(False)) == 21
    with pytest.raises(InvalidSpecError) as err:
        preflight.check(wide)
    assert "20" in str(err.value) and "network ACL" in str(err.value)


def test_bad_input_is_refused_before_any_aws_call(fresh_emulator, monkeypatch):
    calls: list[str] = []
    record_api_calls(monkeypatch, calls)
    with pytest.raises(InvalidSpecError):
        labnet.Lab("sec-bad", with_security(plan(), flow_log_expiry_days=0)).up()
    assert calls == []


# -- the program -------------------------------------------------------------------------------------
def test_the_program_declares_flow_logs_locked_defaults_and_retains_only_the_log_store():
    from labnet.declare import declare

    spec = plan(public_subnets=True)
    found = declare(spec, "sec")
    by_type: dict[str, list] = {}
    for r in found.resources:
        by_type.setdefault(r.type.rsplit(":", 1)[-1], []).append(r)
    assert len(by_type["FlowLog"]) == len(spec.spokes) + 1  # every VPC and the TGW
    assert sum(bool(r.inputs.get("transitGatewayId")) for r in by_type["FlowLog"]) == 1
    assert len(by_type["DefaultSecurityGroup"]) == len(spec.spokes)
    assert all(not r.inputs.get("ingress") and not r.inputs.get("egress") for r in by_type["DefaultSecurityGroup"])
    acl = by_type["DefaultNetworkAcl"][0].inputs
    assert len(acl["ingress"]) == sum(not r.egress for r in spec.nacl_rules(False))
    assert len(by_type["NetworkAcl"]) == len(spec.spokes)  # the public subnets' own ACL
    retained = {r.type.split("/")[0] for r in found.resources if r.retain}
    assert retained == {"aws:s3"} and len([r for r in found.resources if r.retain]) == 7
    tgw = by_type["TransitGateway"][0].inputs
    assert tgw["securityGroupReferencingSupport"] == "enable" and tgw["autoAcceptSharedAttachments"] == "disable"
    assert all(a.inputs["securityGroupReferencingSupport"] == "enable" for a in by_type["VpcAttachment"])
    refs = [r for r in by_type["SecurityGroupIngressRule"] if r.inputs.get("referencedSecurityGroupId")
            and r.inputs["referencedSecurityGroupId"] != r.inputs["securityGroupId"]]
    assert len(refs) == 6  # 3 spokes × 2 same-Region peers
    lt = by_type["LaunchTemplate"][0].inputs
    primary = next(i for i in lt["networkInterfaces"] if i["deviceIndex"] == 0 and i.get("networkCardIndex", 0) == 0)
    assert primary["associatePublicIpAddress"] == "false"
    assert lt["metadataOptions"]["httpTokens"] == "required"


def test_flow_logs_off_or_to_the_users_destination_make_no_bucket():
    from labnet.declare import declare

    off = declare(with_security(plan(), flow_logs=False), "sec").resources
    assert not [r for r in off if "FlowLog" in r.type or r.type.startswith("aws:s3")]
    arn = "arn:aws:s3:::team-logs"
    mine = declare(with_security(plan(), flow_log_destination=arn), "sec").resources
    assert not [r for r in mine if r.type.startswith("aws:s3")]
    assert {r.inputs["logDestination"] for r in mine if "FlowLog" in r.type} == {arn}


def test_the_log_bucket_name_is_the_stacks_in_every_case():
    from labnet.program import log_bucket_name

    assert log_bucket_name("ml-net", "us-east-1", ACCOUNT) == "labnet-123456789012-us-east-1-ml-net"
    odd, long = log_bucket_name("ML_Net", "us-east-1", ACCOUNT), log_bucket_name("x" * 100, "ap-southeast-2", ACCOUNT)
    assert odd != log_bucket_name("ml-net", "us-east-1", ACCOUNT)  # changed names carry the stack's hash
    for name in (odd, long):
        assert preflight.check_bucket_name("bucket", name) == name and len(name) <= 63


def test_cost_gains_flow_log_delivery_with_its_source():
    est = labnet.cost.estimate(plan(), flow_log_gb_per_month=40)
    row = est[est["item"].str.startswith("Flow-log delivery")].iloc[0]
    assert row.quantity == 40 and row.unit_price_usd == 0.25 and row.per_month_usd == 10
    assert "cloudwatch/pricing" in row.source
    assert "flow_log_delivery_s3_gb" in est.attrs["item_notes"]
    off = labnet.cost.estimate(with_security(plan(), flow_logs=False))
    assert not off["item"].str.startswith("Flow-log").any()


# -- end to end on the emulator ----------------------------------------------------------------------
def _bucket(s3, name):
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
    return {
        "sse": s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
        ["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"],
        "block": s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"],
        "policy": json.loads(s3.get_bucket_policy(Bucket=name)["Policy"]),
        "expiry": s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"][0]["Expiration"]["Days"],
        "tags": tags,
    }


@pytest.mark.e2e
def test_one_region_end_to_end_flow_logs_defaults_endpoints_references_and_a_retained_bucket(fresh_emulator):
    ec2, s3 = clients(fresh_emulator)
    spec = with_security(plan(), flow_log_expiry_days=90, s3_buckets=("open-datasets",))
    lab = labnet.Lab("sec-one", spec, engine="rehearsal")
    out = lab.up()
    assert len(out)
    exports = lab.exports()
    vpcs = [sp["vpc_id"] for sp in exports["spokes"].values()]
    tgw = exports["transit_gateway_id"]
    bucket = exports["flow_logs"]["us-east-1"]["bucket"]
    assert bucket == f"labnet-{ACCOUNT}-us-east-1-sec-one"
    logs = ec2.describe_flow_logs()["FlowLogs"]
    assert {f["ResourceId"] for f in logs} == {*vpcs, tgw}
    assert {f["LogDestination"] for f in logs} == {f"arn:aws:s3:::{bucket}"}
    b = _bucket(s3, bucket)
    assert b["sse"] == "AES256" and all(b["block"].values()) and b["expiry"] == 90
    assert b["tags"]["stack"] == "sec-one"
    writes = [st for st in b["policy"]["Statement"] if st["Effect"] == "Allow"]
    assert writes and all(st["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT for st in writes)
    assert {st["Principal"]["Service"] for st in writes} == {"delivery.logs.amazonaws.com"}
    for vpc in vpcs:
        (default,) = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                           {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
        assert default["IpPermissions"] == [] and default["IpPermissionsEgress"] == []
        (acl,) = ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                    {"Name": "default", "Values": ["true"]}])["NetworkAcls"]
        entries = {(e["RuleNumber"], e["Egress"]): e for e in acl["Entries"]}
        assert len(entries) == len(spec.nacl_rules(False)) + 2  # and the two final deny-all entries
        assert entries[(300, False)]["IcmpTypeCode"] == {"Type": 3, "Code": 4}
        assert entries[(200, False)]["PortRange"] == {"From": 32768, "To": 65535}
        (endpoint,) = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["VpcEndpoints"]
        policy = json.loads(endpoint["PolicyDocument"])
        assert policy["Statement"][0]["Condition"]["StringEquals"] == {"aws:PrincipalAccount": ACCOUNT,
                                                                       "s3:ResourceAccount": ACCOUNT}
        assert "arn:aws:s3:::open-datasets" in policy["Statement"][1]["Resource"]
    (t,) = ec2.describe_transit_gateways(TransitGatewayIds=[tgw])["TransitGateways"]
    assert t["Options"]["SecurityGroupReferencingSupport"] == "enable"
    assert t["Options"]["AutoAcceptSharedAttachments"] == "disable"
    atts = ec2.describe_transit_gateway_vpc_attachments(Filters=[{"Name": "transit-gateway-id", "Values": [tgw]}])
    assert {a["Options"]["SecurityGroupReferencingSupport"] for a in atts["TransitGatewayVpcAttachments"]} == {"enable"}
    groups = {sp["security_group_id"]: name for name, sp in exports["spokes"].items()}
    for gid, name in groups.items():
        (g,) = ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"]
        referenced = {p["GroupId"] for perm in g["IpPermissions"] for p in perm.get("UserIdGroupPairs", [])}
        assert referenced == set(groups)  # itself (EFA) and both same-Region peers
        assert not any(perm.get("PrefixListIds") for perm in g["IpPermissions"])
    frame = lab.connectivity()
    assert frame.reachable.dropna().all() and len(frame.dropna(subset=["reachable"])) == 9 * 2 + 3  # and EFA within each
    assert lab.exposure().empty
    posture = lab.posture()
    assert not (posture.status == "fail").any()
    assert {"vpc-flow-logs", "tgw-flow-logs", "default-sg-no-rules", "nacl-no-admin-ports",
            "s3-endpoint-policy-scoped", "tgw-group-references", "log-bucket-policy-source-account"} <= set(posture.control)

    # destroy keeps the bucket (and says so), nothing else
    gone = lab.destroy()
    kept = gone[gone.outcome == "kept"]
    assert "flow-logs" in set(kept.resource) and kept.note.str.contains("delete_logs=True").all()
    assert total(inventory(ec2)) == 0 and ec2.describe_flow_logs()["FlowLogs"] == []
    assert [x["Name"] for x in s3.list_buckets()["Buckets"]] == [bucket]
    assert _bucket(s3, bucket)["tags"]["stack"] == "sec-one" and all(_bucket(s3, bucket)["block"].values())
    # a later up of the same stack reuses it
    lab.up()
    assert [x["Name"] for x in s3.list_buckets()["Buckets"]] == [bucket]
    assert len(ec2.describe_flow_logs()["FlowLogs"]) == len(spec.spokes) + 1
    # asked to, destroy deletes the logs as well
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError):  # the policy refuses a request without TLS (the emulator enforces it)
        s3.put_object(Bucket=bucket, Key=f"AWSLogs/{ACCOUNT}/x.log.gz", Body=b"log")
    s3.delete_bucket_policy(Bucket=bucket)  # (only so this test can write over plain HTTP: two versions)
    for body in (b"log", b"log again"):
        s3.put_object(Bucket=bucket, Key=f"AWSLogs/{ACCOUNT}/x.log.gz", Body=body)
    gone = lab.destroy(delete_logs=True)
    assert set(gone.outcome) == {"removed"} and s3.list_buckets()["Buckets"] == []


@pytest.mark.e2e
def test_a_bucket_of_the_same_name_that_is_not_the_stacks_is_refused(fresh_emulator):
    ec2, s3 = clients(fresh_emulator)
    s3.create_bucket(Bucket=f"labnet-{ACCOUNT}-us-east-1-sec-clash")
    lab = labnet.Lab("sec-clash", plan(spokes=1), engine="rehearsal")
    with pytest.raises(labnet.LabnetError) as err:
        lab.up()
    assert "not this stack's" in str(err.value)
    lab.destroy()


@pytest.mark.e2e
def test_two_regions_with_public_subnets_references_within_prefix_lists_across(fresh_emulator):
    spec = sizing.plan(regions={"us-east-1": 2, "us-west-2": 1}, nodes_per_spoke=4, instance=P5, region=FACTS, azs=2,
                       public_subnets=True)
    lab = labnet.Lab("sec-two", spec, engine="rehearsal")
    lab.up()
    exports = lab.exports()
    frame = lab.connectivity()
    assert frame.reachable.dropna().all()
    assert lab.exposure().empty
    posture = lab.posture()
    assert not (posture.status == "fail").any()
    assert set(posture[posture.status == "by design"].control) == {"nacl-no-admin-ports"}  # the NAT subnets
    for region in spec.regions:
        ec2, s3 = clients(fresh_emulator, region)
        vpcs = [sp["vpc_id"] for sp in exports["spokes"].values() if sp["region"] == region]
        logged = {f["ResourceId"] for f in ec2.describe_flow_logs()["FlowLogs"]}
        assert set(vpcs) | {exports["transit_gateways"][region]["id"]} <= logged
    east, _ = clients(fresh_emulator, "us-east-1")
    sp1 = exports["spokes"]["spoke-01"]
    (g,) = east.describe_security_groups(GroupIds=[sp1["security_group_id"]])["SecurityGroups"]
    referenced = {p["GroupId"] for perm in g["IpPermissions"] for p in perm.get("UserIdGroupPairs", [])}
    assert exports["spokes"]["spoke-02"]["security_group_id"] in referenced
    lists = [p["PrefixListId"] for perm in g["IpPermissions"] for p in perm.get("PrefixListIds", [])]
    (pl,) = lists
    cidrs = {e["Cidr"] for e in east.get_managed_prefix_list_entries(PrefixListId=pl)["Entries"]}
    assert cidrs == {spec.summary_of("us-west-2")}  # the other Region only
    gone = lab.destroy()
    assert set(gone[gone.outcome == "kept"].resource) >= {"flow-logs", "flow-logs-us-west-2"}
    for region in spec.regions:
        ec2, s3 = clients(fresh_emulator, region)
        assert total(inventory(ec2)) == 0
        names = [x["Name"] for x in s3.list_buckets()["Buckets"]]
        assert f"labnet-{ACCOUNT}-{region}-sec-two" in names
        for name in names:
            assert _bucket(s3, name)["tags"]["stack"] == "sec-two"
