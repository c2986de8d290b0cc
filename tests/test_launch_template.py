"""The node launch template per spoke and the launcher configs (issue 13).

The interface layout is checked against what an independent boto3 client reads from EC2's own
describe_instance_types (network cards and the interface types each takes), on the declared program
(SDK mocks) and, after a real rehearsal ``up`` on the emulator, on each template version."""

from __future__ import annotations

import re

import pytest
import yaml
from botocore.validate import ParamValidator

import labnet
from labnet import program, sizing
from labnet.facts import instances
from labnet.engines import handlers
from labnet.spec import interface_layout
from tests.helpers import M5, declared, plan
from tests.inspect_ec2 import inventory, total

LT = "aws:ec2/launchTemplate:LaunchTemplate"
LT_NAME_RE = re.compile(r"[A-Za-z0-9().\-/_]{3,128}")  # AWS's rule for launch template names


def expected_layout(ec2, itype: str, mode: str) -> list[tuple[int, int, str]]:
    """AWS's layout, stated from the independent client's describe_instance_types: the primary
    interface on card 0 device 0 (EFA if that card takes EFA, never EFA-only), then one interface on
    device 1 of every other card that takes EFA, up to the EFA maximum."""
    (it,) = ec2.describe_instance_types(InstanceTypes=[itype])["InstanceTypes"]
    net = it["NetworkInfo"]
    if mode == "ena":
        return [(0, 0, "interface")]
    efa_cards = sorted(c["NetworkCardIndex"] for c in net["NetworkCards"] if "efa" in c["InterfaceTypes"])
    efa_cards = efa_cards[:net["EfaInfo"]["MaximumEfaInterfaces"]]
    out = [(0, 0, "efa" if 0 in efa_cards else "interface")]
    out += [(c, 1, "efa" if mode == "efa" else "efa-only") for c in efa_cards if c != 0]
    return out


def template_layout(version: dict) -> list[tuple[int, int, str]]:
    return sorted((n.get("NetworkCardIndex", 0), n["DeviceIndex"], n.get("InterfaceType", "interface"))
                  for n in version["LaunchTemplateData"]["NetworkInterfaces"])


# -- the rule, for every EFA type EC2 reports ----------------------------------------------------
def test_layout_rule_holds_for_every_efa_instance_type(ec2):
    """Every EFA type on the emulator (AWS's data): one interface per EFA card, primary on card 0
    device 0 and never EFA-only, the rest on device 1; within the type's interface limits; and the
    IPs sizing plans per node are exactly the interfaces that carry one."""
    checked = 0
    for page in ec2.get_paginator("describe_instance_types").paginate(
            Filters=[{"Name": "network-info.efa-supported", "Values": ["true"]}]):
        for it in page["InstanceTypes"]:
            facts = instances.InstanceFacts.from_ec2(it)
            per_card = {c["NetworkCardIndex"]: c["MaximumNetworkInterfaces"] for c in it["NetworkInfo"]["NetworkCards"]}
            for mode in ("efa", "efa-only"):
                layout = interface_layout(mode, facts.efa_card_indexes)
                got = sorted((i.network_card, i.device_index, i.interface_type) for i in layout)
                assert got == sorted(expected_layout(ec2, it["InstanceType"], mode)), it["InstanceType"]
                assert (layout[0].network_card, layout[0].device_index) == (0, 0)
                assert layout[0].interface_type != "efa-only"
                assert len(layout) <= it["NetworkInfo"]["MaximumNetworkInterfaces"]
                assert all(sum(1 for i in layout if i.network_card == c) <= n for c, n in per_card.items())
                assert facts.ips_per_node(mode) == sum(1 for i in layout if i.carries_ip)
            checked += 1
    assert checked > 100


# -- the declared program ------------------------------------------------------------------------
def test_one_template_per_spoke_with_the_compute_subnet_group_and_layout():
    spec = plan(spokes=3, azs=2)
    rows, exports = declared(spec)
    # The mock monitor registers resources as their inputs resolve, in no fixed order: sort by spoke.
    templates = sorted(((n, i) for t, n, i in rows if t == LT), key=lambda t: t[0])
    assert [n for n, _ in templates] == [f"{s.name}-node-template" for s in spec.spokes]
    for (name, inputs), sp in zip(templates, spec.spokes):
        (compute,) = [k for k, s in enumerate(sp.subnets) if s.role == "compute"]
        subnet = f"{program.subnet_key(sp, compute)}-id"
        assert inputs["instanceType"] == "p5.48xlarge" and "imageId" not in inputs  # no AMI unless given
        nis = inputs["networkInterfaces"]
        assert len(nis) == 32
        assert {ni["subnetId"] for ni in nis} == {subnet}
        assert all(ni["securityGroups"] == [f"{sp.name}-training-sg-id"] for ni in nis)
        assert sorted((int(ni["networkCardIndex"]), int(ni["deviceIndex"])) for ni in nis) == \
            [(0, 0)] + [(c, 1) for c in range(1, 32)]
        assert {ni["interfaceType"] for ni in nis} == {"efa"}
        assert inputs["namePrefix"] == f"labnet-{sp.name}-node-"
        assert inputs["tags"]["stack"] == "test" and inputs["tags"]["spoke"] == sp.name
        assert {t["resourceType"] for t in inputs["tagSpecifications"]} == {"instance", "network-interface", "volume"}
        assert inputs["metadataOptions"]["httpTokens"] == "required"
        out = exports["spokes"][sp.name]
        assert out["launch_template_id"] == f"{name}-id"
        assert out["launch_template"]["subnet_id"] == subnet and out["launch_template"]["az_id"] == ""


def test_spread_ena_template_has_one_interface_and_an_ami_when_given():
    spec = plan(spokes=1, instance=M5, interface_mode="ena", azs=2, image_id="ami-0123456789abcdef0")
    rows, _ = declared(spec)
    ((_, inputs),) = [(n, i) for t, n, i in rows if t == LT]
    (ni,) = inputs["networkInterfaces"]
    assert "interfaceType" not in ni  # ENA: EC2's default type
    assert inputs["imageId"] == "ami-0123456789abcdef0"


def test_no_workload_no_template():
    import dataclasses

    spec = dataclasses.replace(plan(spokes=2), workload=None)
    rows, exports = declared(spec)
    assert not [r for r in rows if r[0] == LT]
    assert "launch_template_id" not in exports["spokes"]["spoke-01"]


def test_image_id_must_be_an_ami_id():
    with pytest.raises(labnet.InvalidSpecError) as err:
        plan(image_id="ubuntu")
    assert err.value.field == "image_id"


def test_auto_names_are_names_aws_accepts():
    longest = "s" * 32  # spoke names are at most 32 characters
    for _ in range(20):
        name = handlers.physical_name(f"{longest}-node-template",
                                       {"namePrefix": f"{program.LAUNCH_TEMPLATE_PREFIX}{longest}-node-"})
        assert LT_NAME_RE.fullmatch(name), name
    with pytest.raises(ValueError):  # refused before any call, whatever the emulator would accept
        handlers.LaunchTemplate().create(None, "x", {"name": "a b"})


# -- on the emulator -----------------------------------------------------------------------------
@pytest.mark.e2e
@pytest.mark.parametrize("itype, mode", [("trn1.32xlarge", "efa"), ("p5.48xlarge", "efa-only"),
                                         ("p6-b300.48xlarge", "efa"), ("g5.48xlarge", "ena")])
def test_templates_on_the_emulator_carry_subnet_group_and_layout_and_destroy_removes_them(ec2, itype, mode):
    spec = labnet.size(spokes=2, nodes_per_spoke=4, instance_type=itype, azs=2, interface_mode=mode,
                       supernet="10.0.0.0/16")
    lab = labnet.Lab("lt-e2e", spec, engine="rehearsal", progress=lambda e: None)
    out = lab.up()
    want = expected_layout(ec2, itype, mode)
    templates = ec2.describe_launch_templates(Filters=[{"Name": "tag:stack", "Values": ["lt-e2e"]}])["LaunchTemplates"]
    assert len(templates) == len(spec.spokes)
    for sp in spec.spokes:
        (tpl,) = [t for t in templates if {"Key": "spoke", "Value": sp.name} in t["Tags"]]
        assert LT_NAME_RE.fullmatch(tpl["LaunchTemplateName"])
        (version,) = ec2.describe_launch_template_versions(LaunchTemplateId=tpl["LaunchTemplateId"])["LaunchTemplateVersions"]
        data = version["LaunchTemplateData"]
        assert data["InstanceType"] == itype and "ImageId" not in data
        assert template_layout(version) == want
        # the subnet and group, found independently: the spoke's VPC by CIDR, its compute subnet, its group
        (vpc,) = ec2.describe_vpcs(Filters=[{"Name": "cidr-block", "Values": [sp.cidr]}])["Vpcs"]
        subnets = {s["SubnetId"]: s for s in ec2.describe_subnets(
            Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]}
        compute = [i for i, s in subnets.items() if s["CidrBlock"] == sp.subnets_by_role("compute")[0].cidr]
        (group,) = [g["GroupId"] for g in ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["SecurityGroups"]
            if g["GroupName"].startswith(f"labnet-{sp.name}-training-")]
        nis = data["NetworkInterfaces"]
        assert {n["SubnetId"] for n in nis} == set(compute)
        assert subnets[compute[0]]["AvailabilityZone"] in [s.az for s in sp.subnets_by_role("compute")]
        assert all(n["Groups"] == [group] for n in nis)
        row = out[(out.spoke == sp.name) & (out.resource == "launch_template")]
        assert row.id.item() == tpl["LaunchTemplateId"]
        zones = {z["ZoneName"]: z["ZoneId"] for z in ec2.describe_availability_zones()["AvailabilityZones"]}
        assert row.az_id.item() == zones[row.az.item()]
    lab.destroy()
    assert ec2.describe_launch_templates()["LaunchTemplates"] == []
    assert total(inventory(ec2)) == 0


@pytest.mark.e2e
def test_launcher_configs_name_what_an_independent_client_finds(ec2):
    spec = labnet.size(spokes=2, nodes_per_spoke=16, instance_type="trn1.32xlarge", azs=2, supernet="10.0.0.0/16")
    lab = labnet.Lab("lt-launch", spec, engine="rehearsal", progress=lambda e: None)
    lab.up()
    try:
        for sp in spec.spokes:
            launch = lab.launch_template(sp.name)
            (tpl,) = ec2.describe_launch_templates(LaunchTemplateIds=[launch.template_id])["LaunchTemplates"]
            (subnet,) = ec2.describe_subnets(SubnetIds=[launch.subnet_id])["Subnets"]
            (group,) = ec2.describe_security_groups(GroupIds=[launch.security_group_id])["SecurityGroups"]
            assert subnet["VpcId"] == group["VpcId"] and subnet["AvailabilityZone"] == launch.az
            assert launch.az_id == subnet["AvailabilityZoneId"]
            assert len(launch.interfaces) == 8 and launch.nodes == 16
            # the request the snippets show is a valid RunInstances request, naming the template
            kwargs = launch.run_instances_kwargs(image_id="ami-0123456789abcdef0")
            shape = ec2.meta.service_model.operation_model("RunInstances").input_shape
            assert not ParamValidator().validate(kwargs, shape).has_errors()
            assert launch.template_id in launch.boto3 and launch.template_id in launch.aws_cli
            assert "--endpoint-url" in launch.aws_cli and "testing" not in launch.boto3 + launch.aws_cli
            with pytest.raises(labnet.InvalidSpecError):
                launch.run_instances_kwargs()  # the template names no AMI

            configs = lab.launcher_configs(sp.name)
            vpc_config = configs["sagemaker_vpc_config"]
            assert vpc_config["Subnets"] == [launch.subnet_id]
            found = ec2.describe_security_groups(GroupIds=vpc_config["SecurityGroupIds"])["SecurityGroups"]
            assert [g["VpcId"] for g in found] == [subnet["VpcId"]]
            queue = yaml.safe_load(configs["parallelcluster_queue_yaml"])["Scheduling"]["SlurmQueues"][0]
            net = queue["Networking"]
            assert len(ec2.describe_subnets(SubnetIds=net["SubnetIds"])["Subnets"]) == 1
            assert ec2.describe_security_groups(GroupIds=net["AdditionalSecurityGroups"])["SecurityGroups"]
            assert net["PlacementGroup"] == {"Enabled": True}
            (resource,) = queue["ComputeResources"]
            assert resource["InstanceType"] == "trn1.32xlarge" and resource["Efa"] == {"Enabled": True}
            assert resource["MaxCount"] == 16 and re.fullmatch(r"[a-z][a-z0-9-]{0,24}", resource["Name"])
            assert configs["torchrun_env"]["FI_PROVIDER"] == "efa"
        with pytest.raises(labnet.InvalidSpecError):
            lab.launch_template("nope")
    finally:
        lab.destroy()
    with pytest.raises(labnet.LabnetError):
        lab.launch_template(spec.spokes[0].name)  # nothing deployed: says to run up()


@pytest.mark.e2e
def test_a_killed_create_is_found_by_its_tags_and_gone_once_deleted(ec2):
    handler = handlers.LaunchTemplate()
    inputs = {"namePrefix": "labnet-x-node-", "instanceType": "m5.large",
              "networkInterfaces": [{"deviceIndex": 0.0, "networkCardIndex": 0.0, "deleteOnTermination": "true"}],
              "tags": {"Name": "kill-x-node-template", "stack": "kill"}}
    rid, outputs = handler.create(ec2, "x-node-template", inputs)
    assert outputs["name"].startswith("labnet-x-node-") and outputs["latestVersion"] == 1
    assert handler.find(ec2, inputs) == rid
    assert handler.find(ec2, {**inputs, "tags": {"Name": "kill-x-node-template", "stack": "other"}}) is None
    assert handler.adopt(ec2, rid, inputs)["name"] == outputs["name"]
    handler.delete(ec2, rid, inputs, outputs)
    assert handler.find(ec2, inputs) is None and not handler.find_by_id(ec2, rid, inputs)
    with pytest.raises(Exception) as err:
        handler.delete(ec2, rid, inputs, outputs)
    assert handlers.is_not_found(err.value)  # a second delete is "already gone"


def test_snippets_for_aws_use_plain_boto3_and_no_endpoint():
    launch = labnet.launchers.NodeLaunch(
        spoke="a", region="us-east-1", template_id="lt-1", version="$Default", instance_type="p5.48xlarge",
        interface_mode="efa", nodes=2, subnet_id="subnet-1", compute_subnet_ids=("subnet-1",), az="us-east-1a",
        az_id="use1-az6", security_group_id="sg-1", interfaces=((0, 0, "efa"),))
    assert "boto3.client(\"ec2\", region_name=\"us-east-1\")" in launch.boto3
    assert "--endpoint-url" not in launch.aws_cli and "'LaunchTemplateId=lt-1,Version=$Default'" in launch.aws_cli
    assert "us-east-1a (use1-az6)" in str(launch)
