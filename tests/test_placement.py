"""Offering-aware placement and AZ IDs (issue 13), against the emulator's offering data.

Every expectation is read back with an independent boto3 client (describe_instance_type_offerings by
AZ name, describe_availability_zones for the name-to-ID mapping), never from labnet's own facts."""

from __future__ import annotations

import json

import boto3
import pytest

import labnet
from labnet import preflight, sizing
from labnet.facts import instances
from labnet.spec import NetworkSpec
from tests.conftest import ARTIFACTS
from tests.inspect_ec2 import inventory, total

# (instance type, region, interface mode, azs): types whose offerings cover only some AZs of the
# region on the emulator (its data is AWS's), EFA and spread, GPU, Trainium and CPU-HPC types.
CASES = [
    ("trn1.32xlarge", "us-east-1", "efa", 2),       # offered in 1b, 1c, 1f only: the example
    ("trn1.32xlarge", "us-west-2", "efa", 2),
    ("p4d.24xlarge", "eu-west-1", "efa", 2),        # one AZ of three
    ("p5.48xlarge", "ap-northeast-1", "efa-only", 3),
    ("p5en.48xlarge", "us-east-1", "efa", 2),
    ("hpc7a.96xlarge", "eu-west-1", "efa", 1),
    ("p6-b300.48xlarge", "us-west-2", "efa", 2),    # card 0 has no EFA
    ("g5.48xlarge", "us-west-2", "ena", 3),         # spread over every offering AZ
    ("g4dn.12xlarge", "us-east-1", "ena", 5),       # skips us-east-1e
    ("g6.48xlarge", "ap-northeast-1", "ena", 2),
]
PLACEMENTS: list[dict] = []


def client(url: str, region: str):
    return boto3.client("ec2", region_name=region, endpoint_url=url, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def offered_by_name(ec2, instance_type: str) -> list[str]:
    resp = ec2.describe_instance_type_offerings(LocationType="availability-zone",
                                                Filters=[{"Name": "instance-type", "Values": [instance_type]}])
    return sorted(o["Location"] for o in resp["InstanceTypeOfferings"])


def zone_ids(ec2) -> dict[str, str]:
    return {z["ZoneName"]: z["ZoneId"] for z in ec2.describe_availability_zones()["AvailabilityZones"]}


@pytest.mark.parametrize("itype, region, mode, azs", CASES)
def test_compute_goes_only_where_the_type_is_offered(emulator_url, itype, region, mode, azs):
    ec2 = client(emulator_url, region)
    offered = offered_by_name(ec2, itype)
    ids = zone_ids(ec2)
    assert 0 < len(offered) < len(ids), "a case must have offerings in only some AZs"
    spec = labnet.size(spokes=2, nodes_per_spoke=8, instance_type=itype, azs=azs, region=region,
                       interface_mode=mode, supernet="10.0.0.0/16")
    for sp in spec.spokes:
        compute = [s.az for s in sp.subnets_by_role("compute")]
        attach = [s.az for s in sp.subnets_by_role("attachment")]
        assert set(compute) <= set(offered), (compute, offered)
        assert set(compute) <= set(attach)  # every AZ with compute reaches the TGW
        assert len(attach) == len(set(attach))
        if mode == "ena":
            assert compute == offered[:azs]  # the first offering AZs in name order
        else:
            assert compute == [offered[0]] and len(attach) == azs  # one compute AZ, plus the AZs asked for
        for sn in sp.subnets:
            assert sn.az_id == ids[sn.az]  # the spec records the physical AZ as EC2 maps it
    PLACEMENTS.append({"instance_type": itype, "region": region, "mode": mode, "azs": azs, "offered": offered,
                       "compute": [spec.az_label(s.az) for s in spec.spokes[0].subnets_by_role("compute")],
                       "attachment": [spec.az_label(s.az) for s in spec.spokes[0].subnets_by_role("attachment")]})
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "placements.json").write_text(json.dumps(PLACEMENTS, indent=1))


def test_offerings_table_matches_an_independent_client(emulator_url):
    for itype, region in (("trn1.32xlarge", "us-east-1"), ("p4d.24xlarge", "eu-west-1")):
        ec2 = client(emulator_url, region)
        frame = labnet.offerings(itype, region=region)
        ids = zone_ids(ec2)
        assert dict(zip(frame.az, frame.az_id)) == ids
        assert sorted(frame[frame.offered].az) == offered_by_name(ec2, itype)


@pytest.mark.parametrize("kwargs, field, named", [
    # an EFA cluster's compute goes in the first AZ listed: us-east-1a does not offer trn1
    ({"azs": ["us-east-1a", "us-east-1b"]}, "azs[0]", "us-east-1a"),
    ({"compute_az": "us-east-1d"}, "compute_az", "us-east-1d"),
    ({"compute_az": "use1-az6"}, "compute_az", "us-east-1a (use1-az6)"),  # by AZ ID
    ({"azs": ["use1-az6"]}, "azs[0]", "us-east-1a (use1-az6)"),
    ({"azs": 4, "interface_mode": "ena"}, "azs", "3 AZ(s)"),  # a spread needs compute in each AZ
    ({"azs": ["us-east-1b", "us-east-1e"], "interface_mode": "ena"}, "azs[1]", "us-east-1e"),
])
def test_a_requested_unoffered_az_is_refused_naming_the_offered_ones(ec2, kwargs, field, named):
    args = {"spokes": 2, "nodes_per_spoke": 8, "instance_type": "trn1.32xlarge", **kwargs}
    with pytest.raises(labnet.InvalidSpecError) as err:
        labnet.size(**args)
    assert err.value.field == field
    ids = zone_ids(ec2)
    for az in offered_by_name(ec2, "trn1.32xlarge"):  # us-east-1b, 1c, 1f with their IDs
        assert f"{az} ({ids[az]})" in str(err.value)
    assert named in str(err.value)
    assert total(inventory(ec2)) == 0  # refused before anything was made


def test_a_type_offered_nowhere_in_the_region_is_refused(emulator_url):
    assert offered_by_name(client(emulator_url, "eu-west-1"), "trn1.32xlarge") == []
    with pytest.raises(labnet.InvalidSpecError) as err:
        labnet.size(instance_type="trn1.32xlarge", region="eu-west-1")
    assert err.value.field == "instance_type" and "no AZ of eu-west-1" in str(err.value)


def test_az_ids_and_names_round_trip(ec2):
    ids = zone_ids(ec2)
    names = {v: k for k, v in ids.items()}
    spec = labnet.size(spokes=2, nodes_per_spoke=8, instance_type="trn1.32xlarge", azs=["use1-az5", "use1-az2"])
    (compute,) = spec.spokes[0].subnets_by_role("compute")
    assert (compute.az, compute.az_id) == (names["use1-az5"], "use1-az5")
    assert [s.az for s in spec.spokes[0].subnets_by_role("attachment")] == [names["use1-az5"], names["use1-az2"]]
    # names and IDs mixed, and compute_az by ID, place the same way
    same = labnet.size(spokes=2, nodes_per_spoke=8, instance_type="trn1.32xlarge",
                       azs=[names["use1-az2"], "use1-az5"], compute_az="use1-az5")
    assert same == spec
    again = NetworkSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec and again.az_id(compute.az) == "use1-az5"
    table = spec.table()
    assert dict(zip(table.az, table.az_id)) == {az: ids[az] for az in table.az}
    assert f"{compute.az} (use1-az5)" in repr(spec)
    with pytest.raises(labnet.InvalidSpecError) as err:  # one AZ given by name and by ID
        labnet.size(instance_type="trn1.32xlarge", azs=[names["use1-az5"], "use1-az5"])
    assert err.value.field == "azs" and "distinct" in str(err.value)
    with pytest.raises(labnet.InvalidSpecError) as err:
        labnet.size(instance_type="trn1.32xlarge", azs=["use1-az9"])
    assert err.value.field == "azs[0]" and "use1-az1" in str(err.value)


def test_compute_az_is_for_efa_clusters_only():
    with pytest.raises(labnet.InvalidSpecError) as err:
        labnet.size(instance_type="g5.48xlarge", interface_mode="ena", compute_az="us-east-1b")
    assert err.value.field == "compute_az"


def _facts(url: str, region: str, itype: str):
    return instances.region_facts(client(url, region), [itype])


def test_preflight_refuses_a_hand_built_spec_with_compute_where_the_type_is_not_offered(ec2, emulator_url):
    spec = labnet.size(spokes=2, nodes_per_spoke=8, instance_type="trn1.32xlarge", azs=2)
    data = spec.to_dict()
    for sn in data["spokes"][1]["subnets"]:
        if sn["role"] == "compute":
            sn["az"], sn["az_id"] = "us-east-1a", ""  # moved by hand to an AZ without trn1 (and its attachment)
        elif sn["az"] == "us-east-1c":
            sn["az"], sn["az_id"] = "us-east-1a", ""
    moved = NetworkSpec.from_dict(data)
    preflight.check(moved)  # without facts the format is all it can check
    with pytest.raises(labnet.InvalidSpecError) as err:
        preflight.check(moved, _facts(emulator_url, "us-east-1", "trn1.32xlarge"))
    assert err.value.field.startswith("spokes[1].subnets[") and err.value.field.endswith("].az")
    assert "us-east-1b (use1-az1)" in str(err.value) and "would never launch" in str(err.value)
    lab = labnet.Lab("moved", moved, engine="rehearsal")  # a loaded spec goes through the same rule
    for op in (lab.preview, lab.up):
        with pytest.raises(labnet.InvalidSpecError):
            op()
    assert total(inventory(ec2)) == 0


def test_preflight_refuses_an_az_id_that_is_another_physical_az_here(emulator_url):
    spec = labnet.size(spokes=1, nodes_per_spoke=8, instance_type="p5.48xlarge", azs=2)
    data = spec.to_dict()
    data["spokes"][0]["subnets"][0]["az_id"] = "use1-az4"  # saved where us-east-1a was use1-az4
    with pytest.raises(labnet.InvalidSpecError) as err:
        preflight.check(NetworkSpec.from_dict(data), _facts(emulator_url, "us-east-1", "p5.48xlarge"))
    assert err.value.field == "spokes[0].subnets[0].az_id"
    assert "use1-az6" in str(err.value) and "AZ names map to different physical AZs" in str(err.value)
    data["spokes"][0]["subnets"][0]["az_id"] = "az6"
    with pytest.raises(labnet.InvalidSpecError) as err:
        preflight.check(NetworkSpec.from_dict(data))
    assert "is not an AZ ID" in str(err.value)


def test_a_spec_saved_before_placement_still_loads_and_preflights(emulator_url):
    """Specs saved before issue 13 have no AZ IDs and no network-card facts."""
    for mode in ("efa", "efa-only", "ena"):
        itype = "m5.large" if mode == "ena" else "p5.48xlarge"
        spec = labnet.size(spokes=2, nodes_per_spoke=8, instance_type=itype, interface_mode=mode)
        data = spec.to_dict()
        for sp in data["spokes"]:
            for sn in sp["subnets"]:
                del sn["az_id"]
        for key in ("network_cards", "max_efa_interfaces", "efa_cards", "image_id"):
            del data["workload"][key]
        old = NetworkSpec.from_dict(data)
        assert not old.workload.facts_recorded and old.az_id("us-east-1a") == ""
        warnings = preflight.check(old, _facts(emulator_url, "us-east-1", itype))
        assert any("no network-card facts" in w for w in warnings) == (mode == "efa-only")
        # the old sizing rule is what the template falls back on: one EFA interface per planned IP
        assert len(old.workload.interfaces) == {"efa": 32, "efa-only": 1, "ena": 1}[mode]
        assert old.workload.interfaces == spec.workload.interfaces or mode == "efa-only"
