"""The notebooks are the batch interface and a test suite: each runs under papermill against the
session's emulator (moto on loopback), in its own kernel process, with small parameters.

02 (deploy) and 03 (teardown) run as two separate papermill runs, and an independent boto3 client (the
``ec2`` fixture, not labnet's) checks what 02 wrote against what the emulator holds, and that 03 left
nothing behind. Kernels inherit ``LABNET_EMULATOR_URL`` and this test's ``LABNET_HOME`` from the
environment.

Each run has a watchdog (``execution_timeout``) far above a normal run, so a stall fails the test
instead of hanging CI; see bench/notebook_stalls.py for the stall measurement.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import papermill
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
WATCHDOG = 300  # seconds per cell; a normal cell takes well under 30
SMALL = {"spokes": 2, "nodes_per_spoke": 4, "azs": 2, "supernet": "10.0.0.0/16"}


def run(name: str, out_dir: Path, **parameters) -> nbformat.NotebookNode:
    out_dir.mkdir(parents=True, exist_ok=True)
    return papermill.execute_notebook(
        str(NOTEBOOKS / name), str(out_dir / name), parameters=parameters, kernel_name="python3",
        cwd=str(out_dir), progress_bar=False, execution_timeout=WATCHDOG)


def non_default_vpcs(ec2) -> list[dict]:
    return [v for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")]


def live_tgws(ec2) -> list[dict]:
    return [t for t in ec2.describe_transit_gateways()["TransitGateways"] if t["State"] not in ("deleted", "deleting")]


def live_attachments(ec2) -> list[dict]:
    return [a for a in ec2.describe_transit_gateway_attachments()["TransitGatewayAttachments"]
            if a["State"] not in ("deleted", "deleting")]


def outputs_of(nb, mime: str) -> list:
    return [o["data"][mime] for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            if o.get("output_type") in ("display_data", "execute_result") and mime in o.get("data", {})]


def assert_no_output_widgets(nb) -> None:
    """labnet's notebooks and forms never use ipywidgets.Output: nbclient answers Output widgets on the
    shell channel while it awaits the cell's reply, which can lose the reply's wake-up and stall the
    run forever (jupyter/nbclient#312; bench/notebook_stalls.py --control reproduces it)."""
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    assert state, "no widget state recorded: the form was not displayed"
    models = {m.get("model_name") for m in state.values()}
    assert "OutputModel" not in models, models


# -- the committed notebooks are documents ----------------------------------------------------------
@pytest.mark.parametrize("name", ["01_size_network.ipynb", "02_deploy_network.ipynb", "03_teardown_network.ipynb",
                                  "04_training_traffic.ipynb"])
def test_committed_notebook_is_a_clean_document(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{name}: committed outputs"
    assert "widgets" not in nb.metadata, f"{name}: committed widget state"
    # a few sentences of why before each step: every code cell after the parameters follows prose
    code_idx = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    steps = [i for i in code_idx if i > nb.cells.index(tagged[0]) + 1]
    assert sum(nb.cells[i - 1].cell_type == "markdown" for i in steps) >= len(steps) // 2


# -- 01: sizing creates nothing --------------------------------------------------------------------
def test_01_size_network(ec2, tmp_path):
    nb = run("01_size_network.ipynb", tmp_path, diagram_path=str(tmp_path / "topology.png"), **SMALL)
    html = "\n".join(outputs_of(nb, "text/html"))
    assert "p5.48xlarge" in html  # instance choices, accelerated types first
    assert "usable_ips" in html and "10.0.0.0/" in html  # the sizing table
    zones = {z["ZoneName"]: z["ZoneId"] for z in ec2.describe_availability_zones()["AvailabilityZones"]}
    assert "offered_by_az_id" in html and all(i in html for i in zones.values())  # the offerings, by AZ ID
    assert "VPCs per Region" in html and "L-F678F1CE" in html  # the quota table
    assert outputs_of(nb, "image/png"), "the picture was not shown"
    assert (tmp_path / "topology.png").stat().st_size > 0
    assert "application/vnd.jupyter.widget-view+json" in json.dumps([c.get("outputs") for c in nb.cells])
    assert_no_output_widgets(nb)
    assert non_default_vpcs(ec2) == [] and live_tgws(ec2) == []


# -- 04: the traffic plan is arithmetic; it creates nothing -----------------------------------------
def test_04_training_traffic(ec2, tmp_path):
    nb = run("04_training_traffic.ipynb", tmp_path, spokes=2, nodes_per_spoke=4, max_spokes=3, max_sync_every=4,
             max_nodes_per_spoke=8, model_params=1e9, steps=100, step_seconds=0.5,
             plot_path=str(tmp_path / "traffic.png"))
    html = "\n".join(outputs_of(nb, "text/html"))
    for column in ("bytes_per_attachment", "binding_limit", "nccl_socket_nthreads", "cost_usd", "sending_nodes",
                   "node_gbps", "sync_seconds_burst"):
        assert column in html, column
    text = json.dumps([c.get("outputs") for c in nb.cells])
    # the comparison: 2 + 2 spokes of 4 g5.xlarge in two Regions, 2 GB gradient: each attachment sends
    # 2 × 3/4 × 2e9 = 3e9 bytes, 0.75e9 from each node: 0.75e9 × 8 / 2.5 Gbps = 2.4 s at baseline (the nodes
    # bind), 0.75e9 × 8 / 5 Gbps = 1.2 s at burst (EC2's inter-Region cap), next to the p5s' 0.16 s
    assert "4 \u00d7 p5.48xlarge, 1 region(s)" in html and "4 \u00d7 g5.xlarge, 2 region(s)" in html
    assert "node_bandwidth" in html and "inter_region_cap" in html
    assert "hierarchical: 2.4 s per synchronisation, bound by the nodes: 4 nodes per spoke send 0.75 GB each at " \
           "2.5 Gbps" in text and "at burst bandwidth (10 Gbps per node) 1.2 s (inter_region_cap)" in text
    assert "hierarchical: 0.16 s per synchronisation, bound by the attachment" in text
    # 1e9 bf16 parameters over 2 spokes: each attachment sends 2 GB per sync, 0.16 s at 100 Gbps;
    # 100 syncs × 4 GB = 400 GB through the TGW, $8.00
    assert "hierarchical: 100 synchronisations \\u00d7 4.000 GB = 400.000 GB through the TGW, $8.00" in text
    assert "Transit Gateway data processed" in html and "transit-gateway-quotas" in html  # bill and sources
    assert len(outputs_of(nb, "image/png")) == 1, "the plot is shown once"
    assert (tmp_path / "traffic.png").stat().st_size > 0
    assert non_default_vpcs(ec2) == [] and live_tgws(ec2) == []


# -- 02 then 03, as two papermill runs --------------------------------------------------------------
def test_02_deploy_then_03_teardown(ec2, tmp_path):
    csv = tmp_path / "outputs.csv"
    nb = run("02_deploy_network.ipynb", tmp_path / "deploy", stack_name="nb-e2e", outputs_csv=str(csv),
             engine="rehearsal", show_form=True, **SMALL)
    assert outputs_of(nb, "image/png"), "the picture of what was built was not shown"
    assert len(outputs_of(nb, "image/png")) >= 2, "the connectivity heatmap was not shown"
    assert "4 of 4 spoke pairs reachable" in json.dumps([c.get("outputs") for c in nb.cells])
    assert_no_output_widgets(nb)
    quota_html = [h for h in outputs_of(nb, "text/html") if "Routes per route table" in h]
    assert quota_html, "the quota table was not shown"
    # no <NA>: blank cells, and a note that says why they are blank
    assert "&lt;NA&gt;" not in quota_html[0] and "<NA>" not in quota_html[0]
    assert "in_use/adds blank: a quota per route table" in quota_html[0] and "request blank: it fits" in quota_html[0]
    table = pd.read_csv(csv, keep_default_na=False)

    # VPC ids and CIDRs
    vpcs = {v["VpcId"]: v for v in non_default_vpcs(ec2)}
    rows = table[table.resource == "vpc"]
    assert len(rows) == SMALL["spokes"] == len(vpcs)
    assert {r.id: r.cidr for r in rows.itertuples()} == {i: v["CidrBlock"] for i, v in vpcs.items()}
    # subnets: id, CIDR, AZ, VPC
    subnets = {s["SubnetId"]: s for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": list(vpcs)}])["Subnets"]}
    rows = table[table.resource == "subnet"]
    assert set(rows.id) == set(subnets)
    for r in rows.itertuples():
        assert (r.cidr, r.az) == (subnets[r.id]["CidrBlock"], subnets[r.id]["AvailabilityZone"])
        assert r.az_id == subnets[r.id]["AvailabilityZoneId"]
        vpc_of_spoke = table[(table.resource == "vpc") & (table.spoke == r.spoke)].id.item()
        assert subnets[r.id]["VpcId"] == vpc_of_spoke
    # the TGW and its attachments
    tgws = live_tgws(ec2)
    assert [t["TransitGatewayId"] for t in tgws] == list(table[table.resource == "transit_gateway"].id)
    atts = {a["TransitGatewayAttachmentId"]: a for a in live_attachments(ec2)}
    rows = table[table.resource == "tgw_attachment"]
    assert set(rows.id) == set(atts)
    for r in rows.itertuples():
        assert atts[r.id]["TransitGatewayId"] == tgws[0]["TransitGatewayId"]
        assert atts[r.id]["ResourceId"] == table[(table.resource == "vpc") & (table.spoke == r.spoke)].id.item()

    # the node launch templates, and the cells that show how to start nodes from them
    templates = {t["LaunchTemplateId"]: t for t in ec2.describe_launch_templates()["LaunchTemplates"]}
    rows = table[table.resource == "launch_template"]
    assert set(rows.id) == set(templates) and len(rows) == SMALL["spokes"]
    printed = json.dumps([c.get("outputs") for c in nb.cells])
    first = rows[rows.spoke == "spoke-01"].id.item()
    assert f"LaunchTemplateId={first},Version=$Default" in printed  # the AWS CLI line
    # ... which asks labnet for the emulator's address when it runs, rather than naming today's port
    assert '--endpoint-url \\"$(python -m labnet emulator url)\\"' in printed and "--endpoint-url http" not in printed
    assert "cards 1-31, device 1: efa" in printed  # the 32 interfaces, in one short line
    assert "SageMaker VpcConfig" in printed and "SlurmQueues" in printed and "FI_PROVIDER=efa" in printed

    # a second kernel, a second process: tear it down by name
    nb = run("03_teardown_network.ipynb", tmp_path / "teardown", stack_name="nb-e2e")
    assert "nothing is left" in json.dumps([c.get("outputs") for c in nb.cells])
    assert non_default_vpcs(ec2) == []
    assert live_tgws(ec2) == []
    assert live_attachments(ec2) == []
    assert [s for s in ec2.describe_subnets()["Subnets"] if not s.get("DefaultForAz")] == []


def test_02_with_teardown_leaves_nothing(ec2, tmp_path):
    nb = run("02_deploy_network.ipynb", tmp_path, stack_name="nb-teardown", teardown=True, show_form=False,
             engine="rehearsal", verify=False, **SMALL)
    assert "connectivity not checked" in json.dumps([c.get("outputs") for c in nb.cells])
    assert non_default_vpcs(ec2) == [] and live_tgws(ec2) == [] and live_attachments(ec2) == []


def test_02_and_03_deploy_and_tear_down_a_two_region_network(ec2, fresh_emulator, tmp_path):
    """The same notebooks, a network across two regions: one TGW per region, peered; checked with an
    independent client per region, and torn down from 03 in a second process."""
    import boto3

    west = boto3.client("ec2", region_name="us-west-2", endpoint_url=fresh_emulator,
                        aws_access_key_id="testing", aws_secret_access_key="testing")
    nb = run("02_deploy_network.ipynb", tmp_path, stack_name="nb-regions", show_form=False, engine="rehearsal",
             regions={"us-east-1": 1, "us-west-2": 1}, nodes_per_spoke=4, azs=1, supernet="10.0.0.0/16")
    shown = json.dumps([c.get("outputs") for c in nb.cells])
    assert "across regions 2 of 2" in shown, "the matrix spans both regions, every pair reachable"
    for client in (ec2, west):
        assert len(non_default_vpcs(client)) == 1 and len(live_tgws(client)) == 1
        peerings = [a for a in live_attachments(client) if a["ResourceType"] == "peering"]
        assert [a["State"] for a in peerings] == ["available"]
    nb = run("03_teardown_network.ipynb", tmp_path / "teardown", stack_name="nb-regions")
    assert "in us-east-1, us-west-2: nothing is left" in json.dumps([c.get("outputs") for c in nb.cells])
    for client in (ec2, west):
        assert non_default_vpcs(client) == [] and live_tgws(client) == [] and live_attachments(client) == []


def test_02_shows_quota_warnings_in_the_notebook(ec2, tmp_path):
    """2 spokes × 80 p5.48xlarge with 32 EFA interfaces each need 5,124 network interfaces, over a
    fresh account's 5,000: preview and up say so in a highlighted box (the deploy itself goes on)."""
    nb = run("02_deploy_network.ipynb", tmp_path, stack_name="nb-quota", teardown=True, show_form=False,
             engine="rehearsal", **{**SMALL, "nodes_per_spoke": 80})
    boxes = [h for h in outputs_of(nb, "text/html") if "labnet-notice" in h]
    assert len(boxes) == 2, boxes  # preview, then up
    assert all("Network interfaces per Region (L-DF5E4CA3)" in b and "request 5,124" in b for b in boxes)
    assert non_default_vpcs(ec2) == [] and live_tgws(ec2) == []


# -- a parameter that fails preflight stops the run where it is first used, and creates nothing ------
@pytest.mark.parametrize("bad, field", [
    ({"supernet": "10.0.0.0/33"}, "supernet"),
    ({"nodes_per_spoke": 0}, "nodes_per_spoke"),
    ({"stack_name": "no spaces please"}, "stack_name"),
    ({"engine": "warp-drive"}, "engine"),
    ({"outputs_csv": "outputs.xlsx"}, "outputs_csv"),
])
def test_02_bad_parameter_stops_before_anything_is_created(ec2, tmp_path, labnet_home, bad, field):
    params = {**SMALL, "stack_name": "nb-bad", "engine": "rehearsal", **bad}
    with pytest.raises(papermill.PapermillExecutionError) as info:
        run("02_deploy_network.ipynb", tmp_path, **params)
    err = info.value
    assert err.ename == "InvalidSpecError"
    assert err.evalue.startswith(f"{field}=")
    assert "labnet.size(" in err.source or "labnet.Lab(" in err.source  # the first cell that uses it
    assert non_default_vpcs(ec2) == [] and live_tgws(ec2) == []
    assert not (labnet_home / "stacks").exists() or not any((labnet_home / "stacks").iterdir())
