"""The real engine on the emulator: the `pulumi` CLI (built by `make pulumi`) drives labnet's program
through the Automation API, and labnet's emulator provider (a gRPC ResourceProvider over the same EC2
handlers as the rehearsal engine) stands in for pulumi-aws, installed as the aws plugin in labnet's
own PULUMI_HOME. An independent boto3 client inspects the emulator.

Tests marked ``pulumi_cli`` need the CLI: the one on PATH, else the one `make pulumi` built into
.tools/. Without it they skip with the reason, except in CI (``CI=true``), where they fail: there the
CLI is built first and a missing one is a broken build, not a reason to pass. The provider's own
tests (gRPC against the emulator, no CLI) and its plan rules run everywhere.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

import labnet
from tests.helpers import by_cidr  # the peer prefix list (references: test_security)
from labnet.engines import plugin, provider
from labnet.engines import automation
from labnet.engines.automation import aws_plugin_version
from tests.inspect_ec2 import inventory, total

ROOT = Path(__file__).resolve().parent.parent


def find_cli() -> Path | None:
    """The CLI labnet's engine drives: on PATH, else the one `make pulumi` built into .tools/."""
    return automation.cli_path()


@pytest.fixture
def pulumi_cli(monkeypatch, tmp_path) -> Path:
    """The `pulumi` CLI, put first on PATH for this test (labnet's engine finds it there).

    Behind it on PATH, a `pulumi-language-python` that records any start: the Automation API runs
    labnet's inline program in this process (the SDK's own language server, passed to the CLI as
    ``--client``), so no real-engine test may need the Python language host, which cannot be built
    here (its Go module is not served by the proxy). Checked after every test."""
    cli = find_cli()
    if cli is None:
        why = ("the `pulumi` CLI is neither on PATH nor built in .tools/ (run `make pulumi`: it builds it from "
               "its Go module)")
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"CI: {why}; the real-engine tests must run in CI, not skip")
        pytest.skip(why)
    trap_dir = tmp_path / "language-host-trap"
    trap_dir.mkdir()
    calls = tmp_path / "language-host-calls"
    trap = trap_dir / "pulumi-language-python"
    trap.write_text(f"#!/bin/sh\necho \"$@\" >> {calls}\nexit 1\n")
    trap.chmod(0o755)
    # The trap first: a language host installed beside a CLI on PATH must not hide a start.
    monkeypatch.setenv("PATH", os.pathsep.join([str(trap_dir), str(cli.parent), os.environ.get("PATH", "")]))
    monkeypatch.setenv("PULUMI_SKIP_UPDATE_CHECK", "true")
    yield cli
    assert not calls.exists(), f"the CLI started the Python language host: {calls.read_text()}"


@pytest.fixture
def user_home(tmp_path, monkeypatch) -> Path:
    """A HOME of the user's own with no PULUMI_HOME set: the emulator target must leave it alone."""
    home = tmp_path / "user"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("PULUMI_HOME", raising=False)
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    return home


def _events():
    seen = []
    return seen, seen.append


# -- the plan rules (no CLI) ---------------------------------------------------------------------
def test_every_type_the_program_declares_has_handlers_and_replace_rules():
    from labnet.engines.handlers import HANDLERS

    assert set(provider.REPLACE_ON_CHANGES) == set(HANDLERS)


@pytest.mark.parametrize("typ, old, new, replaces", [
    # pulumi-aws's willReplaceOnChanges: a VPC's CIDR replaces it, its DNS flags do not.
    ("aws:ec2/vpc:Vpc", {"cidrBlock": "10.0.0.0/16", "enableDnsHostnames": True},
     {"cidrBlock": "10.1.0.0/16", "enableDnsHostnames": False}, ["cidrBlock"]),
    ("aws:ec2/vpc:Vpc", {"cidrBlock": "10.0.0.0/16"}, {"cidrBlock": "10.0.0.0/16", "tags": {"a": "b"}}, []),
    # A prefix list's entries and size update in place (adding a spoke); its address family does not.
    ("aws:ec2/managedPrefixList:ManagedPrefixList", {"maxEntries": 1.0, "entries": [{"cidr": "10.0.0.0/21"}]},
     {"maxEntries": 2.0, "entries": [{"cidr": "10.0.0.0/21"}, {"cidr": "10.0.8.0/21"}]}, []),
    # Terraform's CustomizeDiff: a TGW's default association turned on replaces it, turned off does not.
    ("aws:ec2transitgateway/transitGateway:TransitGateway", {"defaultRouteTableAssociation": "disable"},
     {"defaultRouteTableAssociation": "enable"}, ["defaultRouteTableAssociation"]),
    ("aws:ec2transitgateway/transitGateway:TransitGateway", {"defaultRouteTableAssociation": "enable"},
     {"defaultRouteTableAssociation": "disable"}, []),
    # A rule's source type cannot change in place; its CIDR can.
    ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", {"cidrIpv4": "10.0.0.0/8"},
     {"prefixListId": "pl-1"}, ["cidrIpv4", "prefixListId"]),
    ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", {"cidrIpv4": "10.0.0.0/8"},
     {"cidrIpv4": "10.0.0.0/16"}, []),
    # An unknown value (preview) of a replacing property plans a replacement.
    ("aws:ec2/subnet:Subnet", {"vpcId": "vpc-1"}, {"vpcId": provider.UNKNOWN}, ["vpcId"]),
])
def test_diff_plans_replace_or_update_as_pulumi_aws_declares(typ, old, new, replaces):
    changed, replacing = provider.EmulatorProvider().diff(typ, old, new)
    assert replacing == replaces
    assert set(replacing) <= set(changed)


def test_provider_values_from_the_wire_are_plain():
    from google.protobuf import struct_pb2

    s = struct_pb2.Struct()
    s.update({"secretKey": {provider._SIG: provider._SECRET, "value": "testing"}, "n": 3,
              "endpoints": json.dumps([{"ec2": "http://127.0.0.1:1"}]), "__defaults": []})
    values = provider.from_struct(s)
    assert values["secretKey"] == "testing" and values["n"] == 3.0
    settings = provider.EmulatorProvider.settings(values)
    assert provider.EmulatorProvider.ec2_endpoint(settings) == "http://127.0.0.1:1"


def test_a_provider_for_real_aws_is_refused():
    failures = provider.EmulatorProvider().check_config({"region": "us-east-1"})
    assert [p for p, _ in failures] == ["endpoints"]
    assert "real pulumi-aws" in failures[0][1]


# -- the provider over gRPC against the emulator (no CLI) ----------------------------------------
@pytest.mark.e2e
def test_the_provider_serves_the_resource_protocol_over_grpc(ec2, fresh_emulator):
    """Configure, Check, Diff, Create, Read, Update and Delete through the provider's own gRPC server,
    as the engine calls them; boto3 sees each step."""
    import grpc
    from google.protobuf import empty_pb2
    from pulumi.runtime.proto import provider_pb2 as pb
    from pulumi.runtime.proto import provider_pb2_grpc

    import io

    out = io.StringIO()
    server = provider.serve(out=out)
    port = int(out.getvalue().strip())
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    stub = provider_pb2_grpc.ResourceProviderStub(channel)
    try:
        info = stub.GetPluginInfo(empty_pb2.Empty())
        assert info.version == aws_plugin_version()
        settings = {"region": "us-east-1", "accessKey": "testing", "secretKey": "testing",
                    "endpoints": json.dumps([{"ec2": fresh_emulator}])}
        stub.Configure(pb.ConfigureRequest(args=provider.to_struct(settings)))

        vpc_type = "aws:ec2/vpc:Vpc"
        urn = f"urn:pulumi:s::labnet::{vpc_type}::grpc-vpc"
        inputs = {"cidrBlock": "10.9.0.0/16", "enableDnsSupport": True, "enableDnsHostnames": True,
                  "tags": {"Name": "s-grpc-vpc", "stack": "s"}}
        checked = stub.Check(pb.CheckRequest(urn=urn, news=provider.to_struct(inputs)))
        assert not checked.failures
        made = stub.Create(pb.CreateRequest(urn=urn, properties=checked.inputs))
        (vpc,) = ec2.describe_vpcs(VpcIds=[made.id])["Vpcs"]
        assert vpc["CidrBlock"] == "10.9.0.0/16"

        replace = stub.Diff(pb.DiffRequest(id=made.id, urn=urn, olds=made.properties, old_inputs=checked.inputs,
                                           news=provider.to_struct({**inputs, "cidrBlock": "10.8.0.0/16"})))
        assert replace.changes == pb.DiffResponse.DIFF_SOME and list(replace.replaces) == ["cidrBlock"]
        same = stub.Diff(pb.DiffRequest(id=made.id, urn=urn, olds=made.properties, old_inputs=checked.inputs,
                                        news=checked.inputs))
        assert same.changes == pb.DiffResponse.DIFF_NONE

        # An in-place update the handler cannot make fails before any call, naming the property.
        with pytest.raises(grpc.RpcError) as err:
            stub.Update(pb.UpdateRequest(id=made.id, urn=urn, olds=made.properties, old_inputs=checked.inputs,
                                         news=provider.to_struct({**inputs, "enableDnsHostnames": False})))
        assert "enableDnsHostnames" in err.value.details()

        # A managed prefix list grows in place.
        pl_type = "aws:ec2/managedPrefixList:ManagedPrefixList"
        pl_urn = f"urn:pulumi:s::labnet::{pl_type}::grpc-peers"
        one = {"name": "labnet-s-grpc-peers", "addressFamily": "IPv4", "maxEntries": 1,
               "entries": [{"cidr": "10.1.0.0/16", "description": "a"}], "tags": {"Name": "s-grpc-peers"}}
        pl = stub.Create(pb.CreateRequest(urn=pl_urn, properties=provider.to_struct(one)))
        two = {**one, "maxEntries": 2, "entries": one["entries"] + [{"cidr": "10.2.0.0/16", "description": "b"}]}
        diff = stub.Diff(pb.DiffRequest(id=pl.id, urn=pl_urn, olds=pl.properties,
                                        old_inputs=provider.to_struct(one), news=provider.to_struct(two)))
        assert diff.changes == pb.DiffResponse.DIFF_SOME and not diff.replaces
        stub.Update(pb.UpdateRequest(id=pl.id, urn=pl_urn, olds=pl.properties, old_inputs=provider.to_struct(one),
                                     news=provider.to_struct(two)))
        entries = ec2.get_managed_prefix_list_entries(PrefixListId=pl.id)["Entries"]
        assert sorted(e["Cidr"] for e in entries) == ["10.1.0.0/16", "10.2.0.0/16"]

        # Read (refresh): present keeps the id; deleted out of band answers an empty id.
        read = stub.Read(pb.ReadRequest(id=made.id, urn=urn, properties=made.properties, inputs=checked.inputs))
        assert read.id == made.id
        for rid, u, props in ((pl.id, pl_urn, pl.properties), (made.id, urn, made.properties)):
            stub.Delete(pb.DeleteRequest(id=rid, urn=u, properties=props))
        assert not ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [made.id]}])["Vpcs"]
        gone = stub.Read(pb.ReadRequest(id=made.id, urn=urn, properties=made.properties, inputs=checked.inputs))
        assert gone.id == ""
        # Deleting what is already gone is done, as pulumi-aws treats it.
        stub.Delete(pb.DeleteRequest(id=made.id, urn=urn, properties=made.properties))
        assert total(inventory(ec2)) == 0
    finally:
        channel.close()
        server.stop(0)


# -- the real engine ------------------------------------------------------------------------------
@pytest.mark.pulumi_cli
def test_the_plugin_is_the_aws_plugin_of_labnets_own_pulumi_home(pulumi_cli, labnet_home, user_home):
    version = aws_plugin_version()
    home = plugin.install(labnet_home)
    exe = home / "plugins" / f"resource-aws-v{version}" / plugin.EXECUTABLE
    assert exe.is_file() and os.access(exe, os.X_OK)
    assert home == labnet_home / "pulumi" / "emulator-home"
    listed = json.loads(subprocess.run([str(pulumi_cli), "plugin", "ls", "--json"], check=True, text=True,
                                       capture_output=True, env={**os.environ, "PULUMI_HOME": str(home)}).stdout)
    assert [(p["name"], p["kind"], p["version"]) for p in listed] == [("aws", "resource", version)]

    # The plugin starts as the engine starts it: it writes its port, then answers GetPluginInfo.
    import grpc
    from google.protobuf import empty_pb2
    from pulumi.runtime.proto import provider_pb2_grpc

    proc = subprocess.Popen([str(exe), "127.0.0.1:1"], stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            info = provider_pb2_grpc.ResourceProviderStub(channel).GetPluginInfo(empty_pb2.Empty(), timeout=30)
        assert info.version == version
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert not (user_home / ".pulumi").exists()


@pytest.mark.pulumi_cli
@pytest.mark.e2e
def test_a_preview_through_the_automation_api_states_the_provider(pulumi_cli, fresh_emulator, labnet_home,
                                                                  user_home):
    """labnet's program as an inline program (local file backend, passphrase), labnet's PULUMI_HOME:
    the preview's diagnostics say which provider serves the emulator. (No language host is started:
    the ``pulumi_cli`` fixture checks.)"""
    from pulumi import automation as auto

    from labnet import program
    from labnet.emulator import targets
    from labnet.engines.automation import workspace_options

    spec = labnet.size(spokes=2, nodes_per_spoke=2, azs=2)
    target = targets.Target("emulator", "us-east-1", fresh_emulator)
    stack = auto.create_or_select_stack(
        "inline", project_name="labnet",
        program=lambda: program.pulumi_program(spec, target.program_target()),
        opts=workspace_options(labnet_home, pulumi_home=plugin.install(labnet_home)))
    text: list[str] = []
    result = stack.preview(on_output=text.append)
    assert result.change_summary.get("create", 0) > 40
    assert "labnet emulator provider (labnet's EC2 handlers, not pulumi-aws)" in "\n".join(text)
    assert not (user_home / ".pulumi").exists()


def test_the_language_host_trap_catches_a_program_that_needs_one(tmp_path):
    """The check above can fail: a CLI run on a project directory (runtime: python, not inline) does
    start `pulumi-language-python` from PATH, and the trap records it."""
    cli = find_cli()
    if cli is None:
        pytest.skip("no pulumi CLI (see pulumi_cli)")
    trap_dir, project = tmp_path / "trap", tmp_path / "project"
    trap_dir.mkdir(), project.mkdir()
    calls = tmp_path / "calls"
    (trap_dir / "pulumi-language-python").write_text(f"#!/bin/sh\necho \"$@\" >> {calls}\nexit 1\n")
    (trap_dir / "pulumi-language-python").chmod(0o755)
    (project / "Pulumi.yaml").write_text("name: trapcheck\nruntime: python\n")
    env = {**os.environ, "PATH": f"{cli.parent}:{trap_dir}:{os.environ['PATH']}",
           "PULUMI_HOME": str(tmp_path / "ph"), "PULUMI_CONFIG_PASSPHRASE": "x",
           "PULUMI_BACKEND_URL": f"file://{tmp_path}", "PULUMI_SKIP_UPDATE_CHECK": "true"}
    subprocess.run([str(cli), "stack", "init", "s"], cwd=project, env=env, capture_output=True, timeout=120)
    run = subprocess.run([str(cli), "preview"], cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0 and calls.exists()


@pytest.mark.pulumi_cli
@pytest.mark.e2e
def test_the_real_engine_deploys_keeps_grows_shrinks_and_destroys_a_network(pulumi_cli, ec2, user_home):
    spec = by_cidr(labnet.size(spokes=2, nodes_per_spoke=8, azs=2))
    events, record = _events()
    lab = labnet.Lab("real-engine", spec, engine="pulumi", progress=record)

    planned = lab.preview()
    assert set(planned.action) == {"create"}
    assert (planned.resource == "Vpc").sum() == 2 and (planned.resource == "TransitGateway").sum() == 1
    assert total(inventory(ec2)) == 0  # a preview creates nothing

    out = lab.up()
    inv = inventory(ec2)
    assert set(out[out.resource == "vpc"].id) == set(inv["vpcs"]) and len(inv["vpcs"]) == 2
    (tgw,) = ec2.describe_transit_gateways(TransitGatewayIds=inv["transit_gateways"])["TransitGateways"]
    assert tgw["Options"]["DefaultRouteTableAssociation"] == "disable"
    exports = lab.exports()
    assert exports["transit_gateway_id"] == tgw["TransitGatewayId"] and exports["target"] == "emulator"
    for sp in spec.spokes:
        got = exports["spokes"][sp.name]
        (att,) = ec2.describe_transit_gateway_vpc_attachments(
            TransitGatewayAttachmentIds=[got["attachment_id"]])["TransitGatewayVpcAttachments"]
        want = {s["id"] for s in got["subnets"] if s["role"] == "attachment"}
        assert att["VpcId"] == got["vpc_id"] and set(att["SubnetIds"]) == want
        entries = ec2.get_managed_prefix_list_entries(PrefixListId=got["peer_prefix_list_id"])["Entries"]
        assert {e["Cidr"] for e in entries} == set(spec.peer_cidrs()[sp.name])
    assert {e.action for e in events} == {"create"}

    # An unchanged up changes nothing.
    events.clear()
    again = lab.up()
    assert {e.action for e in events} <= {"same"} and inventory(ec2) == inv
    assert list(again.id) == list(out.id)

    # A spoke added: the new spoke is created, the others' prefix lists updated in place, nothing replaced.
    bigger = by_cidr(labnet.size(spokes=3, nodes_per_spoke=8, azs=2))
    assert [s.cidr for s in bigger.spokes[:2]] == [s.cidr for s in spec.spokes]
    lab3 = labnet.Lab("real-engine", bigger, engine="pulumi", progress=record)
    planned = lab3.preview()
    assert set(planned.action) == {"same", "create", "update"}
    assert set(planned[planned.action == "update"].resource) == {"ManagedPrefixList"}
    events.clear()
    lab3.up()
    after = inventory(ec2)
    for kind, ids in inv.items():
        assert set(ids) <= set(after[kind]), kind  # every resource of the first two spokes kept
    assert len(after["vpcs"]) == 3 and len(after["prefix_lists"]) == 3
    assert {e.action for e in events} == {"create", "update"}
    grown = lab3.exports()
    for sp in bigger.spokes:
        entries = ec2.get_managed_prefix_list_entries(
            PrefixListId=grown["spokes"][sp.name]["peer_prefix_list_id"])["Entries"]
        assert {e["Cidr"] for e in entries} == set(bigger.peer_cidrs()[sp.name])

    # The spoke removed again: its resources deleted, the others' prefix lists updated back in place.
    events.clear()
    lab2 = labnet.Lab("real-engine", spec, engine="pulumi", progress=record)
    lab2.up()
    assert inventory(ec2) == inv
    assert {e.action for e in events} == {"delete", "update"}
    for sp in spec.spokes:
        entries = ec2.get_managed_prefix_list_entries(PrefixListId=exports["spokes"][sp.name]["peer_prefix_list_id"])
        assert {e["Cidr"] for e in entries["Entries"]} == set(spec.peer_cidrs()[sp.name])

    lab2.destroy()
    assert total(inventory(ec2)) == 0
    assert not (user_home / ".pulumi").exists()


@pytest.mark.pulumi_cli
@pytest.mark.e2e
def test_two_regions_run_one_provider_each_and_peer(pulumi_cli, fresh_emulator, user_home):
    """One provider per Region config: the engine starts a plugin per explicit provider, each
    configured with its own region, and the peering is requested in one region and accepted in the other."""
    import boto3

    from tests.test_regions import TWO, peering_attachments

    regional = {r: boto3.client("ec2", region_name=r, endpoint_url=fresh_emulator, aws_access_key_id="testing",
                                aws_secret_access_key="testing") for r in TWO}
    spec = labnet.size(regions=TWO, nodes_per_spoke=4, azs=1)
    lab = labnet.Lab("real-regions", spec, engine="pulumi", progress=lambda e: None)
    lab.up()
    ex = lab.exports()
    (peering,) = ex["peerings"]
    for r, ec2 in regional.items():
        vpcs = {v["CidrBlock"] for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")}
        assert vpcs == {s.cidr for s in spec.spokes if spec.region_of(s) == r}
        (att,) = [a for a in peering_attachments(ec2) if a["TransitGatewayAttachmentId"] == peering["attachment_id"]]
        assert att["State"] == "available"
    lab.destroy()
    assert {r: total(inventory(c)) + len(peering_attachments(c)) for r, c in regional.items()} == {r: 0 for r in TWO}


def _tagged(ec2) -> list[tuple[str, str]]:
    """Every resource the stack tagged, as (kind, its tags), ids left out: what two deploys can share."""
    rows = []
    for kind, items in (
            ("vpc", ec2.describe_vpcs()["Vpcs"]), ("subnet", ec2.describe_subnets()["Subnets"]),
            ("route-table", ec2.describe_route_tables()["RouteTables"]),
            ("security-group", ec2.describe_security_groups()["SecurityGroups"]),
            ("security-group-rule", ec2.describe_security_group_rules()["SecurityGroupRules"]),
            ("tgw", [t for t in ec2.describe_transit_gateways()["TransitGateways"] if t["State"] == "available"]),
            ("tgw-route-table", ec2.describe_transit_gateway_route_tables()["TransitGatewayRouteTables"]),
            ("attachment", [a for a in ec2.describe_transit_gateway_vpc_attachments()["TransitGatewayVpcAttachments"]
                            if a["State"] == "available"]),
            ("endpoint", ec2.describe_vpc_endpoints()["VpcEndpoints"]),
            ("launch-template", ec2.describe_launch_templates()["LaunchTemplates"]),
            ("prefix-list", ec2.describe_managed_prefix_lists()["PrefixLists"])):
        for item in items:
            tags = {t["Key"]: t["Value"] for t in item.get("Tags") or []}
            if "stack" in tags:
                rows.append((kind, json.dumps(tags, sort_keys=True)))
    return sorted(rows)


@pytest.mark.pulumi_cli
@pytest.mark.e2e
def test_both_engines_build_the_same_network(pulumi_cli, ec2, fresh_emulator, user_home):
    """The same spec through the rehearsal engine and the real engine: the same resources with the same
    tags, and the same connectivity matrix."""
    spec = labnet.size(spokes=3, nodes_per_spoke=8, azs=2)
    built = {}
    for engine in ("rehearsal", "pulumi"):
        urllib.request.urlopen(urllib.request.Request(fresh_emulator + "/moto-api/reset", method="POST", data=b""),
                               timeout=30).read()
        lab = labnet.Lab(f"same-{engine}", spec, engine=engine, progress=lambda e: None)
        lab.up()
        matrix = lab.connectivity()
        built[engine] = ([(kind, tags.replace(f"same-{engine}", "<stack>")) for kind, tags in _tagged(ec2)],
                         matrix[["src_spoke", "dst_spoke", "probe", "reachable", "reason"]].reset_index(drop=True))
        lab.destroy()
        assert total(inventory(ec2)) == 0
    (rehearsed, rehearsed_matrix), (real, real_matrix) = built["rehearsal"], built["pulumi"]
    assert len(real) > 40 and real == rehearsed
    assert real_matrix.equals(rehearsed_matrix) and bool(real_matrix.reachable.dropna().all())


@pytest.mark.pulumi_cli
@pytest.mark.e2e
def test_refresh_forgets_an_out_of_band_deletion_and_up_repairs_it(pulumi_cli, ec2, user_home):
    spec = labnet.size(spokes=2, nodes_per_spoke=4, azs=1)
    lab = labnet.Lab("real-refresh", spec, engine="pulumi")
    lab.up()
    endpoint = lab.exports()["spokes"][spec.spokes[0].name]["s3_endpoint_id"]
    ec2.delete_vpc_endpoints(VpcEndpointIds=[endpoint])
    table = lab.refresh()
    assert endpoint not in set(table.id)  # Read answered "gone": Pulumi's state forgot it
    lab.up()
    repaired = lab.exports()["spokes"][spec.spokes[0].name]["s3_endpoint_id"]
    assert repaired != endpoint and len(inventory(ec2)["endpoints"]) == 2
    lab.destroy()
    assert total(inventory(ec2)) == 0


@pytest.mark.pulumi_cli
@pytest.mark.e2e
def test_a_change_aws_would_replace_is_planned_as_a_replacement(pulumi_cli, ec2, user_home):
    """Bigger subnets change their CIDRs, which pulumi-aws cannot update in place: the real engine plans
    a replacement, as it would on AWS (the rehearsal engine refuses such a change)."""
    lab = labnet.Lab("real-replace", labnet.size(spokes=2, nodes_per_spoke=4, azs=1), engine="pulumi")
    lab.up()
    planned = labnet.Lab("real-replace", labnet.size(spokes=2, nodes_per_spoke=200, azs=1),
                         engine="pulumi").preview()
    replaced = set(planned[planned.action == "replace"].resource)
    assert "Subnet" in replaced
    assert "TransitGateway" not in replaced
    lab.destroy()
    assert total(inventory(ec2)) == 0


def test_make_pulumi_prints_the_cli_path_last(tmp_path):
    """`make pulumi`'s script: with a `pulumi` on PATH it prints that path as its last line (no build)."""
    fake = tmp_path / "bin" / "pulumi"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho v3.0.0-test\n")
    fake.chmod(0o755)
    run = subprocess.run(["sh", str(ROOT / "tools" / "pulumi" / "build.sh")], capture_output=True, text=True,
                         env={"PATH": f"{fake.parent}:/usr/bin:/bin", "HOME": str(tmp_path)}, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == str(fake)


def test_make_pulumi_without_go_says_how_to_install_the_cli(tmp_path):
    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in ("sh", "awk", "head", "dirname", "cat"):
        found = shutil.which(tool)
        if found:
            (bare / tool).symlink_to(found)
    run = subprocess.run(["sh", str(ROOT / "tools" / "pulumi" / "build.sh")], capture_output=True, text=True,
                         env={"PATH": str(bare), "HOME": str(tmp_path), "LABNET_PULUMI_BUILD": "1",
                              "LABNET_TOOLS_DIR": str(tmp_path / "tools")}, timeout=60)
    assert run.returncode == 1
    assert "get.pulumi.com" in run.stderr and "install Go" in run.stderr


# -- a team on one stack (issue 23 item 4) --------------------------------------------------------
@pytest.mark.pulumi_cli
@pytest.mark.e2e
def test_a_team_shares_one_stack_on_the_emulators_s3(pulumi_cli, ec2, fresh_emulator, tmp_path, monkeypatch,
                                                       user_home):
    """Alice deploys into an s3:// backend on the emulator's own S3; Bob, with another LABNET_HOME and
    no record of the stack, opens it by name alone (the spec travels with the stack), reads its
    outputs, adds a spoke; Alice, opening it by name again, sees Bob's spoke and destroys it all."""
    import boto3

    from labnet import emulator

    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=fresh_emulator, aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "PULUMI_CONFIG_PASSPHRASE_FILE"):
        monkeypatch.delenv(var, raising=False)  # the CLI reaches the emulator's S3 with labnet's test keys
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "the-team-shares-this")
    url = emulator.s3_backend("team-state")
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    two = labnet.size(spokes=2, nodes_per_spoke=4, azs=1)
    three = labnet.size(spokes=3, nodes_per_spoke=4, azs=1)

    monkeypatch.setenv("LABNET_HOME", str(alice))
    lab = labnet.Lab("team-net", two, engine="pulumi", backend=url, progress=lambda e: None)
    assert lab.backend == url and f"backend={url!r}" in repr(lab)
    lab.up()
    first = inventory(ec2)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="team-state").get("Contents", [])]
    assert any(k.endswith("team-net.json") for k in keys), keys  # the state is in the bucket
    assert not (alice / "pulumi" / "backend").exists()  # and not in a local file backend

    monkeypatch.setenv("LABNET_HOME", str(bob))
    assert labnet.stacks().empty  # Bob's machine knows nothing of it
    theirs = labnet.Lab("team-net", engine="pulumi", backend=url, progress=lambda e: None)
    assert theirs.spec == two
    out = theirs.outputs()
    assert set(out[out.resource == "vpc"].id) == set(first["vpcs"])
    grown = labnet.Lab("team-net", three, engine="pulumi", backend=url, progress=lambda e: None)
    grown.up()
    after = inventory(ec2)
    assert len(after["vpcs"]) == 3 and set(first["vpcs"]) <= set(after["vpcs"])

    monkeypatch.setenv("LABNET_HOME", str(alice))  # Alice's record says two spokes; the stack says three
    again = labnet.Lab("team-net", engine="pulumi", backend=url, progress=lambda e: None)
    assert again.spec == three and len(again.exports()["spokes"]) == 3
    again.destroy()
    assert total(inventory(ec2)) == 0


def test_a_shared_backend_refuses_labnets_per_machine_passphrase(labnet_home):
    """Before any CLI runs: a teammate could never decrypt with a passphrase generated on this machine."""
    from labnet.engines.automation import workspace_env

    url = "s3://team-state?region=us-east-1"
    with pytest.raises(labnet.InvalidSpecError) as err:
        workspace_env(labnet_home, user_env={}, url=url)
    assert "backend=" in str(err.value) and "PULUMI_CONFIG_PASSPHRASE" in str(err.value)
    own = str(labnet_home / "pulumi" / "passphrase")
    with pytest.raises(labnet.InvalidSpecError):
        workspace_env(labnet_home, user_env={"PULUMI_CONFIG_PASSPHRASE_FILE": own}, url=url)
    # The team's passphrase (even an empty one: the CLI uses it), or a key service, is accepted.
    assert "PULUMI_CONFIG_PASSPHRASE_FILE" not in workspace_env(labnet_home, {"PULUMI_CONFIG_PASSPHRASE": ""}, url)
    workspace_env(labnet_home, {}, url, secrets_provider="awskms://alias/team")
    # A local file backend keeps the generated passphrase.
    local = workspace_env(labnet_home, {})
    assert local["PULUMI_CONFIG_PASSPHRASE_FILE"] == own


def test_pulumi_backend_url_is_honoured_and_named(labnet_home, monkeypatch):
    from labnet.engines.automation import backend_url, workspace_env

    env = {"PULUMI_BACKEND_URL": "file:///srv/team-state", "PULUMI_CONFIG_PASSPHRASE": "x"}
    assert backend_url(labnet_home, None, env) == "file:///srv/team-state"
    assert backend_url(labnet_home, "s3://given", env) == "s3://given"  # Lab(backend=) wins
    assert workspace_env(labnet_home, env)["PULUMI_BACKEND_URL"] == "file:///srv/team-state"
    assert workspace_env(labnet_home, {})["PULUMI_BACKEND_URL"] == f"file://{labnet_home / 'pulumi' / 'backend'}"
    monkeypatch.setenv("PULUMI_BACKEND_URL", "file:///srv/team-state")
    from tests.helpers import plan

    lab = labnet.Lab("named", plan(), engine="pulumi")
    assert lab.backend == "file:///srv/team-state" and "backend='file:///srv/team-state'" in repr(lab)


# -- Ctrl-C and the lock through the real engine (issue 23 item 3) --------------------------------
HOLD_HOOK = '''
# Loaded by every Python started with this folder on PYTHONPATH (the emulator provider plugin too):
# the provider's security-group creates wait, with the group's VPC made, until the engine cancels
# (Cancel reaches the provider after Ctrl-C) or the test writes RELEASE. A test device only.
import os, sys, time
HOLD = os.environ.get("LABNET_TEST_HOLD")
if HOLD:
    try:
        from labnet.engines import handlers
    except Exception:
        handlers = None
    if handlers is not None:
        handler = handlers.HANDLERS["aws:ec2/securityGroup:SecurityGroup"]
        real = handler.create

        def create(ec2, name, inputs):
            provider = sys._getframe(1).f_locals.get("self")  # EmulatorProvider.create calls us
            cancelled = getattr(provider, "cancelled", None)
            with open(os.path.join(HOLD, "reached"), "a") as fh:
                fh.write(name + "\\n")
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and not os.path.exists(os.path.join(HOLD, "release")) \\
                    and not (cancelled is not None and cancelled.is_set()):
                time.sleep(0.05)
            return real(ec2, name, inputs)

        handler.create = create
'''


def _held_up(tmp_path, stack: str, spec, home: Path, backend: str | None = None):
    """A process running ``Lab(stack).up()`` through the real engine whose provider holds at the first
    security group; returns (process, hold folder)."""
    import sys

    from tests.reliability.util import spec_json

    hold = tmp_path / f"hold-{stack}"
    hold.mkdir()
    hook = tmp_path / f"hook-{stack}"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOLD_HOOK)
    code = (f"import json, labnet\n"
            f"spec = labnet.NetworkSpec.from_dict(json.loads({spec_json(spec)!r}))\n"
            f"labnet.Lab({stack!r}, spec, engine='pulumi', backend={backend!r}, progress=lambda e: None).up()\n"
            f"print('finished')\n")
    env = {**os.environ, "LABNET_HOME": str(home), "LABNET_TEST_HOLD": str(hold),
           "PYTHONPATH": os.pathsep.join([str(hook), str(ROOT)])}
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    return proc, hold


def _wait_reached(proc, hold: Path) -> None:
    from tests.reliability.conftest import wait_for

    wait_for(lambda: (hold / "reached").exists(), timeout=300, what="the provider to reach a security group",
             proc=proc)


@pytest.mark.pulumi_cli
@pytest.mark.e2e
def test_ctrl_c_during_a_real_up_then_resume_finishes_it(pulumi_cli, ec2, tmp_path, labnet_home, user_home):
    """SIGINT to the Python process alone (a notebook's interrupt button; the CLI is not signalled): labnet
    has the CLI cancel, waits for it (operations in flight finish, checkpoint written, lock released),
    and records the up as interrupted; the next up asks for resume=True, which completes the network."""
    import signal

    spec = labnet.size(spokes=2, nodes_per_spoke=4, azs=1)
    proc, hold = _held_up(tmp_path, "real-ctrl-c", spec, labnet_home)
    try:
        _wait_reached(proc, hold)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            (hold / "release").touch()
            proc.kill()
            proc.wait()
    assert proc.returncode != 0 and "InterruptedByUserError" in stderr, stderr[-2000:]
    assert not (hold / "release").exists()  # the engine's Cancel, not the test, let the held create go
    # Cancelled where it was held: the groups' creates finished, nothing that needs a group started.
    groups = {g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"] if g["GroupName"] != "default"}
    assert groups and not [r for r in ec2.describe_security_group_rules()["SecurityGroupRules"]
                           if r["GroupId"] in groups]
    locks = labnet_home / "pulumi" / "backend" / ".pulumi" / "locks"
    assert not [p for p in locks.rglob("*.json")]  # the CLI ended cleanly and released its lock

    lab = labnet.Lab("real-ctrl-c", spec, engine="pulumi", progress=lambda e: None)
    assert lab.status().startswith("interrupted")
    with pytest.raises(labnet.InterruptedOperationError) as err:
        lab.up()
    assert "resume=True" in str(err.value)
    lab.up(resume=True)
    assert lab.status() == "deployed"
    full = inventory(ec2)
    assert len(full["vpcs"]) == 2 and len(full["attachments"]) == 2
    groups = [g for g in ec2.describe_security_groups()["SecurityGroups"] if g["GroupName"] != "default"]
    assert len(groups) == 2  # the held creates finished once; resume made none twice
    lab.destroy()
    assert total(inventory(ec2)) == 0


@pytest.mark.pulumi_cli
@pytest.mark.e2e
def test_a_second_process_meets_the_pulumi_lock(pulumi_cli, ec2, tmp_path, monkeypatch, user_home):
    """Two machines (two LABNET_HOMEs, no shared labnet lock) on one backend: while one's up runs, the
    other's up meets Pulumi's own stack lock as labnet.StackLockedError naming the backend, and changes
    nothing; once the first finishes, the second operates normally."""
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "shared")
    backend = f"file://{tmp_path / 'shared-backend'}"
    (tmp_path / "shared-backend").mkdir()
    spec = labnet.size(spokes=2, nodes_per_spoke=4, azs=1)
    proc, hold = _held_up(tmp_path, "real-lock", spec, tmp_path / "first", backend)
    try:
        _wait_reached(proc, hold)
        monkeypatch.setenv("LABNET_HOME", str(tmp_path / "second"))
        other = labnet.Lab("real-lock", spec, engine="pulumi", backend=backend, progress=lambda e: None)
        with pytest.raises(labnet.StackLockedError) as err:
            other.up()
        assert backend in str(err.value) and "is locked by another Pulumi update" in str(err.value)
        assert other.status() == "up failed"
    finally:
        (hold / "release").touch()
        out, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "finished" in out, stderr[-2000:]
    other = labnet.Lab("real-lock", spec, engine="pulumi", backend=backend, progress=lambda e: None)
    other.destroy()
    assert total(inventory(ec2)) == 0
