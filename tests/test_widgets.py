"""The forms' handlers called from plain Python against the session's emulator (no browser, no kernel).

The forms hold no logic of their own, so these tests check the wiring: values reach labnet, labnet's
answers (tables, picture, cost, progress, errors) reach the widgets, buttons are off while an operation
runs, a second operation is refused by labnet's stack lock, and destroy asks for the stack name.
"""

from __future__ import annotations

import threading

import pytest

import labnet
from labnet.widgets import DeployForm, SizingForm, app

SMALL = {"spokes": 2, "nodes_per_spoke": 4, "azs": 2, "supernet": "10.0.0.0/16"}


def vpcs(ec2):
    return [v for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")]


def live_tgws(ec2):
    return [t for t in ec2.describe_transit_gateways()["TransitGateways"] if t["State"] not in ("deleted", "deleting")]


@pytest.fixture
def sizing(fresh_emulator):
    return SizingForm(**SMALL)


# -- sizing form ------------------------------------------------------------------------------------
def test_sizing_form_shows_table_picture_and_cost(sizing):
    assert sizing.spec is not None and len(sizing.spec.spokes) == 2
    assert "10.0.0.0/" in sizing.table.value and "usable_ips" in sizing.table.value
    assert bytes(sizing.picture.value).startswith(b"\x89PNG")
    assert sizing.cost.value.strip().startswith("<table")
    # instance choices come from EC2's facts, accelerated types first
    first = sizing.instance_type.options[0]
    assert "×" in first[0] and first[1] in {r.instance_type for r in labnet.instance_types().itertuples()}


def test_sizing_form_follows_the_sliders(sizing):
    before_table, before_png = sizing.table.value, sizing.picture.value
    sizing.spokes.value = 4  # observe('value') → update()
    assert len(sizing.spec.spokes) == 4
    assert sizing.table.value != before_table and bytes(sizing.picture.value) != bytes(before_png)
    assert sizing.table.value.count("<tr>") > before_table.count("<tr>")
    sizing.interface_mode.value = "ena"
    assert sizing.spec.workload.interface_mode == "ena" and sizing.spec.workload.ips_per_node == 1


@pytest.mark.parametrize("control, value, field", [
    ("supernet", "10.0.0.0/33", "supernet"),
    ("supernet", "not a cidr", "supernet"),
    ("nodes_per_spoke", 0, "nodes_per_spoke"),
])
def test_sizing_form_shows_the_preflight_message(sizing, ec2, control, value, field):
    getattr(sizing, control).value = value
    assert sizing.spec is None and isinstance(sizing.error, labnet.InvalidSpecError)
    assert sizing.error.field == field
    assert f"{field}=" in sizing.message.value and "labnet-msg-error" in sizing.message.value
    assert bytes(sizing.picture.value) == b"" and sizing.cost.value == ""  # nothing stale left on screen
    assert vpcs(ec2) == []


def test_deploy_form_with_bad_sizing_creates_nothing(sizing, ec2):
    form = DeployForm("w-bad", sizing=sizing, engine="rehearsal")
    sizing.supernet.value = "10.0.0.0/33"
    form.on_deploy()
    kind, text = form.history[-1]
    assert kind == "error" and "supernet=" in text
    assert vpcs(ec2) == [] and live_tgws(ec2) == []
    assert not any(b.disabled for b in form.buttons)


# -- deploy form ------------------------------------------------------------------------------------
def test_preview_deploy_destroy(sizing, ec2):
    form = DeployForm("w-stack", sizing=sizing, engine="rehearsal")
    seen_disabled = []
    feed = form.on_progress

    def spy(event):  # what a user would see during the operation
        seen_disabled.append(all(b.disabled for b in form.buttons) and "labnet-busy" in form._dom_classes)
        feed(event)

    form.on_progress = spy

    form.preview_button.click()
    assert "create" in form.preview_table.value and vpcs(ec2) == []

    form.deploy_button.click()
    assert form.history[-1][0] == "ok", form.history
    assert seen_disabled and all(seen_disabled)
    assert form.progress.value == form.progress.max > 1
    ids = {v["VpcId"] for v in vpcs(ec2)}
    assert len(ids) == 2 and all(i in form.outputs_table.value for i in ids)
    assert bytes(form.picture.value).startswith(b"\x89PNG")
    # verified after deploy: the spoke x spoke matrix and its heatmap
    assert "connectivity: 4 of 4 spoke pairs reachable" in form.history[-1][1]
    assert form.matrix_table.value.count(">ok<") == 4
    assert bytes(form.matrix_picture.value).startswith(b"\x89PNG")
    assert not any(b.disabled for b in form.buttons) and "labnet-busy" not in form._dom_classes

    # destroy asks for the stack name first
    form.destroy_button.click()
    assert form.history[-1][0] == "refused" and len(vpcs(ec2)) == 2
    form.confirm.value = "w-stac"
    form.on_destroy()
    assert form.history[-1][0] == "refused" and len(vpcs(ec2)) == 2
    form.confirm.value = "w-stack"
    form.on_destroy()
    assert form.history[-1][0] == "ok", form.history
    assert vpcs(ec2) == [] and live_tgws(ec2) == []
    assert form.confirm.value == ""
    assert form.matrix_table.value == "" and form.matrix_picture.layout.display == "none"


def test_two_deploys_at_once_exactly_one_proceeds(sizing, ec2):
    """Two threads call the deploy handler together: labnet's stack lock lets one through and the other
    gets StackLockedError, shown in the message area; buttons stay off until the last one ends."""
    form = DeployForm("w-race", sizing=sizing, engine="rehearsal")
    start = threading.Barrier(2)
    errors = []

    def click():
        start.wait()
        try:
            form.on_deploy()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    results = [(k, t) for k, t in form.history if k != "info"]
    assert sorted(k for k, _ in results) == ["ok", "refused"], form.history
    refused = next(t for k, t in results if k == "refused")
    assert "is locked by up" in refused and "w-race" in refused
    assert "StackLockedError" not in refused  # a sentence for a person, not a traceback
    assert len(vpcs(ec2)) == 2 and len(live_tgws(ec2)) == 1  # built once, not twice
    assert not any(b.disabled for b in form.buttons)


def test_a_second_click_during_an_operation_is_refused(sizing, ec2):
    form = DeployForm("w-click", sizing=sizing, engine="rehearsal")
    feed = form.on_progress
    second = []

    def click_again_midway(event):
        feed(event)
        if not second and event.done >= 2:
            assert form.deploy_button.disabled and form.destroy_button.disabled
            second.append(True)
            form.deploy_button.click()  # what a queued click would do: refused by the stack lock
            form.confirm.value = "w-click"
            form.destroy_button.click()
            form.preview_button.click()  # refused by the form: preview takes no lock

    form.on_progress = click_again_midway
    form.on_deploy()
    refusals = [t for k, t in form.history if k == "refused"]
    assert len(refusals) == 3, form.history
    assert all("is locked by up" in t for t in refusals[:2]) and refusals[2].startswith("preview: an operation")
    assert form.history[-1][0] == "ok"
    assert len(vpcs(ec2)) == 2  # the destroy that came in midway deleted nothing
    form.confirm.value = "w-click"
    form.on_destroy()
    assert vpcs(ec2) == []


def test_destroy_of_an_unknown_stack_says_so(fresh_emulator):
    form = DeployForm("never-deployed", labnet.size(**SMALL), engine="rehearsal")
    form.confirm.value = "never-deployed"
    form.on_destroy()
    kind, text = form.history[-1]
    assert kind == "error" and "never-deployed" in text


def test_forms_use_no_output_widget(fresh_emulator):
    """No ipywidgets.Output anywhere in the forms: nbclient (papermill, Voilà) writes back to the kernel
    for Output widgets while it waits for a cell's reply, the cause of jupyter/nbclient#312 stalls."""
    import ipywidgets as W

    def walk(w):
        yield w
        for child in getattr(w, "children", ()):
            yield from walk(child)

    box = app("w-tree", engine="rehearsal", **SMALL)
    found = [w for w in walk(box) if isinstance(w, W.Output)]
    assert found == []


def test_dom_classes_are_stable(fresh_emulator):
    box = app("w-dom", engine="rehearsal", **SMALL)
    sizing, deploy = box.sizing, box.deploy
    assert "labnet-app" in box._dom_classes
    expected = {
        sizing: "labnet-sizing-form", sizing.spokes: "labnet-spokes", sizing.nodes_per_spoke: "labnet-nodes-per-spoke",
        sizing.instance_type: "labnet-instance-type", sizing.azs: "labnet-azs", sizing.supernet: "labnet-supernet",
        sizing.compute_az: "labnet-compute-az",
        sizing.interface_mode: "labnet-interface-mode", sizing.headroom: "labnet-headroom",
        sizing.message: "labnet-sizing-message", sizing.table: "labnet-sizing-table",
        sizing.picture: "labnet-sizing-picture", sizing.cost: "labnet-sizing-cost",
        deploy: "labnet-deploy-form", deploy.stack_name: "labnet-stack-name",
        deploy.preview_button: "labnet-preview-button", deploy.deploy_button: "labnet-deploy-button",
        deploy.confirm: "labnet-destroy-confirm", deploy.destroy_button: "labnet-destroy-button",
        deploy.progress: "labnet-progress", deploy.message: "labnet-deploy-message",
        deploy.preview_table: "labnet-preview-table", deploy.outputs_table: "labnet-outputs-table",
        deploy.picture: "labnet-deploy-picture", deploy.matrix_table: "labnet-matrix-table",
        deploy.matrix_picture: "labnet-matrix-picture",
    }
    for widget, cls in expected.items():
        assert cls in widget._dom_classes
    import labnet.widgets as mod
    for cls in expected.values():
        assert f"``{cls}``" in mod.__doc__  # documented for the browser tests


def test_progress_only_moves_forward_and_ends_full(sizing):
    """The rehearsal engine reports from several threads; a late event must not move the bar back."""
    from labnet.engines.progress import ProgressEvent

    form = DeployForm("progress-order", sizing=sizing)
    form._progress_start()
    for done in (1, 3, 2, 5, 4):
        form.on_progress(ProgressEvent("up", "create", f"r{done}", "aws:ec2/vpc:Vpc", done, 6, "done"))
    assert form.progress.value == 5 and form.progress.description == "5/6"
    form._progress_finish()
    assert form.progress.value == 6 and form.progress.description == "6/6"


def test_empty_pictures_are_hidden_not_broken(sizing):
    assert sizing.picture.layout.display == ""  # a valid spec: the picture shows
    sizing.nodes_per_spoke.value = 0
    assert sizing.picture.layout.display == "none" and sizing.picture.value == b""
    form = DeployForm("hidden-picture", sizing=sizing)
    assert form.picture.layout.display == "none"


def test_compute_az_choices_are_the_offering_azs_with_their_ids(fresh_emulator):
    import boto3

    ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=fresh_emulator,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    ids = {z["ZoneName"]: z["ZoneId"] for z in ec2.describe_availability_zones()["AvailabilityZones"]}
    offered = sorted(o["Location"] for o in ec2.describe_instance_type_offerings(
        LocationType="availability-zone", Filters=[{"Name": "instance-type", "Values": ["trn1.32xlarge"]}]
    )["InstanceTypeOfferings"])
    form = SizingForm(instance_type="trn1.32xlarge", **SMALL)
    assert [v for _, v in form.compute_az.options] == ["", *offered]
    assert [label for label, v in form.compute_az.options if v] == [f"{az} ({ids[az]})" for az in offered]
    form.compute_az.value = offered[-1]
    (compute,) = form.spec.spokes[0].subnets_by_role("compute")
    assert (compute.az, compute.az_id) == (offered[-1], ids[offered[-1]])
    assert ids[offered[-1]] in form.table.value  # the table shows the AZ ID next to the name
    form.interface_mode.value = "ena"  # a spread workload has no single compute AZ
    assert form.compute_az.disabled and form.compute_az.value == "" and form.spec is not None


def test_deploy_form_shows_the_quotas_real_aws_would_refuse(ec2):
    """Six spokes fit the emulator but not a fresh account's 5 VPCs per Region (its default VPC
    included): preview says so in the message area, as a warning after the result."""
    form = DeployForm("w-quotas", labnet.size(spokes=6, nodes_per_spoke=4, azs=1), engine="rehearsal")
    form.on_preview()
    kinds = [k for k, _ in form.history]
    assert kinds[-2:] == ["ok", "warning"], form.history
    assert "VPCs per Region (L-F678F1CE)" in form.history[-1][1] and "request 7" in form.history[-1][1]
    assert "labnet-msg-warning" in form.message.value and vpcs(ec2) == []


def test_the_sizing_form_sizes_a_network_across_regions(fresh_emulator):
    """The Regions field ("region:spokes, ...") gives a spec across regions (Spokes and Compute AZ
    step aside); a bad text shows labnet's message and no stale table; emptied, one region again."""
    form = SizingForm(**SMALL)
    form.regions.value = "us-east-1:2, us-west-2:1"
    assert form.spec is not None and form.spec.regions == ("us-east-1", "us-west-2")
    assert len(form.spec.spokes) == 3 and form.spokes.disabled and form.compute_az.disabled
    assert "us-west-2" in form.table.value
    form.regions.value = "us-east-1:two"
    assert form.spec is None and form.history[-1][0] == "error" and "REGION:SPOKES" in form.history[-1][1]
    form.regions.value = ""
    assert form.spec is not None and form.spec.regions == ("us-east-1",) and not form.spokes.disabled
