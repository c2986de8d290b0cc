import dataclasses
import json
import subprocess
import sys

import pytest

import labnet
from labnet.spec import NetworkSpec
from tests.helpers import plan


def test_round_trip_through_plain_dicts_and_json():
    spec = plan(spokes=4, public_subnets=True)
    data = spec.to_dict()
    assert json.loads(json.dumps(data)) == data  # plain JSON types only
    again = NetworkSpec.from_dict(json.loads(json.dumps(data)))
    assert again == spec
    assert again.to_dict() == data


def test_spec_is_immutable():
    spec = plan()
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.region = "eu-west-1"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.spokes[0].cidr = "10.9.0.0/16"  # type: ignore[misc]


def test_from_dict_accepts_float_integers_from_papermill():
    data = plan().to_dict()
    data["transit_gateway"]["amazon_side_asn"] = 64512.0
    data["workload"]["nodes_per_spoke"] = 16.0
    spec = NetworkSpec.from_dict(data)
    assert spec.transit_gateway.amazon_side_asn == 64512
    assert isinstance(spec.workload.nodes_per_spoke, int)


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d.pop("region"), "spec.region"),
    (lambda d: d.__setitem__("spokes", "a,b"), "spec.spokes"),
    (lambda d: d["spokes"][0].__setitem__("cidr", 10), "spokes[0].cidr"),
    (lambda d: d["transit_gateway"].__setitem__("amazon_side_asn", True), "transit_gateway.amazon_side_asn"),
    (lambda d: d["security"].__setitem__("cross_spoke_ports", [1]), "security.cross_spoke_ports"),
])
def test_from_dict_names_the_bad_field(mutate, field):
    data = plan().to_dict()
    mutate(data)
    with pytest.raises(labnet.InvalidSpecError) as err:
        NetworkSpec.from_dict(data)
    assert err.value.field == field
    assert field in str(err.value)


def test_table_has_one_row_per_subnet_with_headroom():
    spec = plan(spokes=2, nodes_per_spoke=16, azs=2)
    table = spec.table()
    assert list(table.columns) == ["spoke", "vpc_cidr", "role", "az", "az_id", "cidr", "usable_ips", "ips_needed",
                                   "headroom"]
    assert len(table) == sum(len(s.subnets) for s in spec.spokes)
    compute = table[table.role == "compute"].iloc[0]
    assert compute.ips_needed == 16 * 32 * 1.25
    assert compute.headroom == compute.usable_ips - compute.ips_needed


def test_import_labnet_is_light():
    code = ("import sys, time; t=time.perf_counter(); import labnet; dt=time.perf_counter()-t; "
            "heavy=[m for m in ('pulumi_aws','pulumi','pandas','boto3','moto') if m in sys.modules]; "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_repr_is_short_and_safe():
    spec = plan(spokes=40)
    assert len(repr(spec)) < 200
    assert "40 spoke(s)" in repr(spec)
