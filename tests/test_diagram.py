"""The hub-and-spoke picture: what it shows, that its labels do not collide from 1 to 20 spokes,
PNG/SVG output, notebook display, and clear errors. Specs come from sizing.plan (pure, no emulator);
one test draws the real outputs of a rehearsal deploy on the emulator."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest
from matplotlib.figure import Figure

import labnet
from labnet import diagram
from labnet.errors import InvalidSpecError
from labnet.preflight import RegionFacts
from labnet.facts.instances import InstanceFacts
from labnet.sizing import plan

P5 = InstanceFacts("p5.48xlarge", network_cards=32, max_interfaces=64, ipv4_per_interface=50,
                   efa_supported=True, max_efa_interfaces=32, accelerators=8, accelerator_name="NVIDIA H100")
REGION = RegionFacts("us-east-1", ("us-east-1a", "us-east-1b", "us-east-1c"))


def make_spec(spokes: int, azs: int = 2, public: bool = False, mode: str = "efa") -> labnet.NetworkSpec:
    return plan(spokes=spokes, nodes_per_spoke=64, instance=P5, region=REGION, azs=azs,
                public_subnets=public, interface_mode=mode)


def fake_exports(spec: labnet.NetworkSpec) -> dict:
    """Outputs shaped like program.build()'s, with ids that name their spoke."""
    return {
        "region": spec.region, "supernet": spec.supernet,
        "transit_gateway_id": "tgw-0123456789abcdef0",
        "transit_gateway_arn": "arn:aws:ec2:us-east-1:123456789012:transit-gateway/tgw-0123456789abcdef0",
        "transit_gateway_route_tables": {"spokes": "tgw-rtb-0123456789abcdef0"},
        "spokes": {s.name: {"vpc_id": f"vpc-{k:017d}", "attachment_id": f"tgw-attach-{k:017d}",
                            "cidr": s.cidr, "subnets": []}
                   for k, s in enumerate(spec.spokes)},
    }


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def assert_labels_clear(fig: Figure) -> None:
    """No two labels overlap (beyond a pixel of antialiasing) and every label is inside the figure."""
    renderer = fig.canvas.get_renderer()
    frame = fig.bbox
    boxes = []
    for ax in fig.axes:
        for t in ax.texts:
            bb = t.get_window_extent(renderer)
            assert frame.x0 - 1 <= bb.x0 and bb.x1 <= frame.x1 + 1 and frame.y0 - 1 <= bb.y0 \
                and bb.y1 <= frame.y1 + 1, f"label {t.get_text()!r} leaves the figure"
            boxes.append((t.get_text(), bb.expanded(1.0, 1.0).padded(-1.0)))
    for (a, ba), (b, bb) in itertools.combinations(boxes, 2):
        assert not ba.overlaps(bb), f"labels {a!r} and {b!r} overlap"


def spoke_boxes(fig: Figure) -> list:
    renderer = fig.canvas.get_renderer()
    return [p.get_window_extent(renderer) for p in fig.axes[0].patches
            if p.get_facecolor()[:3] == pytest.approx(_rgb(diagram.SPOKE_FACE))]


def _rgb(hex_color: str) -> tuple[float, float, float]:
    return tuple(int(hex_color[i:i + 2], 16) / 255 for i in (1, 3, 5))


# -- what the picture shows ----------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 20])
def test_planned_picture_shows_every_spoke_and_subnet(n):
    spec = make_spec(n)
    fig = diagram.draw(spec)
    assert isinstance(fig, Figure)
    shown = "\n".join(texts(fig))
    for spoke in spec.spokes:
        assert f"{spoke.name}  {spoke.cidr}" in shown
        for sn in spoke.subnets:
            assert sn.cidr in shown
    assert "Transit Gateway" in shown and "planned" in shown
    assert "vpc-" not in shown  # a plan has no ids yet


@pytest.mark.parametrize("n", [2, 20])
def test_built_picture_is_labelled_with_the_real_ids(n):
    spec = make_spec(n)
    exports = fake_exports(spec)
    shown = texts(diagram.draw(spec, exports))
    assert "tgw-0123456789abcdef0" in shown
    assert any("tgw-rtb-0123456789abcdef0" in t for t in shown)
    for ids in exports["spokes"].values():
        assert ids["vpc_id"] in shown and ids["attachment_id"] in shown
    assert any("as built" in t for t in shown)


def test_every_spoke_is_linked_to_the_hub():
    spec = make_spec(5)
    fig = diagram.draw(spec)
    links = [line for line in fig.axes[0].lines if tuple(line.get_xydata()[-1]) == (0.0, 0.0)]
    assert len(links) == len(spec.spokes)


def test_roles_are_visually_distinct_and_the_legend_lists_only_roles_present():
    styles = {(s["face"], s["edge"], s["linestyle"]) for s in diagram.ROLE_STYLE.values()}
    assert len(styles) == len(diagram.ROLE_STYLE)
    without = "\n".join(texts(diagram.draw(make_spec(2))))
    with_public = "\n".join(texts(diagram.draw(make_spec(2, public=True))))
    assert diagram.ROLE_STYLE["public"]["legend"] not in without
    assert diagram.ROLE_STYLE["public"]["legend"] in with_public


def test_secret_and_missing_outputs_are_said_not_invented():
    spec = make_spec(3)
    exports = fake_exports(spec)
    exports["transit_gateway_id"] = "[secret]"  # how a secret output arrives (labnet.outputs.SECRET)
    exports["spokes"]["spoke-02"] = "[secret]"
    del exports["spokes"]["spoke-03"]
    shown = texts(diagram.draw(spec, exports))
    assert "[secret]" in shown
    assert shown.count("[secret]") >= 3  # the TGW id, and spoke-02's VPC and attachment ids
    assert "not in outputs" in shown


# -- readability: 1 to 20 spokes -----------------------------------------------------------------
@pytest.mark.parametrize("n,azs,public,mode,built", [
    (1, 1, False, "efa", False),
    (2, 2, False, "efa", False),
    (2, 2, False, "efa", True),
    (8, 2, False, "efa", True),
    (20, 2, False, "efa", False),
    (20, 2, False, "efa", True),
    (20, 3, True, "ena", True),
])
def test_labels_and_boxes_do_not_collide(n, azs, public, mode, built):
    spec = make_spec(n, azs=azs, public=public, mode=mode)
    fig = diagram.draw(spec, fake_exports(spec) if built else None)
    assert_labels_clear(fig)
    boxes = spoke_boxes(fig)
    assert len(boxes) == n
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)
    fonts = [t.get_fontsize() for t in fig.axes[0].texts]
    assert min(fonts) >= diagram.MIN_FONT_PT * 0.9  # the smallest label (a subnet role) stays legible


def test_picture_grows_with_the_network_but_stays_bounded():
    small = diagram.draw(make_spec(2)).get_size_inches()
    large = diagram.draw(make_spec(20, azs=3, public=True, mode="ena")).get_size_inches()
    assert large[0] > small[0] and large[1] > small[1]
    assert large[0] <= diagram.MAX_WIDTH_IN + 0.01


def test_draws_into_an_axes_the_caller_owns():
    fig = Figure(figsize=(12, 5))
    left, right = fig.subplots(1, 2)
    spec = make_spec(4)
    assert diagram.draw(spec, ax=right) is fig
    assert any(spec.spokes[0].cidr in t.get_text() for t in right.texts)
    assert not left.texts


# -- notebook display ----------------------------------------------------------------------------
def test_figure_shows_once_in_a_notebook_and_is_not_left_with_pyplot():
    from matplotlib import _pylab_helpers

    before = _pylab_helpers.Gcf.get_num_fig_managers()
    fig = diagram.draw(make_spec(2))
    # pyplot's inline backend shows every figure it manages when a cell ends; this one is not managed,
    # so only the cell's value shows it, through _repr_png_.
    assert _pylab_helpers.Gcf.get_num_fig_managers() == before
    assert fig._repr_png_().startswith(b"\x89PNG\r\n\x1a\n")


def test_importing_labnet_diagram_and_cost_does_not_load_matplotlib_or_pandas():
    code = ("import sys, labnet, labnet.views.diagram, labnet.analysis.cost; "
            "loaded = [m for m in ('matplotlib', 'pandas') if m in sys.modules]; "
            "assert not loaded, loaded")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- files ---------------------------------------------------------------------------------------
def test_save_png(tmp_path):
    spec = make_spec(2)
    out = diagram.save(spec, tmp_path / "net.png", exports=fake_exports(spec))
    assert out == tmp_path / "net.png"
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize("n", [2, 20])
def test_save_svg_keeps_text_searchable(tmp_path, n):
    spec = make_spec(n)
    exports = fake_exports(spec)
    out = diagram.save(spec, str(tmp_path / "net.SVG"), exports=exports)
    svg = out.read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for spoke in spec.spokes:
        assert spoke.cidr in svg
        assert exports["spokes"][spoke.name]["vpc_id"] in svg
        for sn in spoke.subnets:
            assert sn.cidr in svg


def test_same_network_gives_the_same_svg(tmp_path):
    spec = make_spec(3)
    a = diagram.save(spec, tmp_path / "a.svg").read_bytes()
    b = diagram.save(spec, tmp_path / "b.svg").read_bytes()
    assert a == b


@pytest.mark.parametrize("name", ["net.pdf", "net.jpg", "net", "net.png.txt"])
def test_save_refuses_other_formats(tmp_path, name):
    with pytest.raises(InvalidSpecError) as err:
        diagram.save(make_spec(2), tmp_path / name)
    assert err.value.field == "path"
    assert ".png or .svg" in str(err.value)
    assert not (tmp_path / name).exists()


# -- bad input -----------------------------------------------------------------------------------
def test_rejects_what_is_not_a_spec():
    with pytest.raises(InvalidSpecError) as err:
        diagram.draw(make_spec(2).to_dict())
    assert err.value.field == "spec"


def test_rejects_exports_that_are_not_a_dict():
    with pytest.raises(InvalidSpecError) as err:
        diagram.draw(make_spec(2), exports=["vpc-1"])
    assert err.value.field == "exports"


def test_refuses_a_network_too_large_to_read():
    spec = plan(spokes=diagram.MAX_SPOKES + 1, nodes_per_spoke=1, instance=P5, region=REGION, azs=1,
                supernet="10.0.0.0/8")
    with pytest.raises(InvalidSpecError) as err:
        diagram.draw(spec)
    assert err.value.field == "spokes" and "spec.table()" in str(err.value)


# -- what was actually built ---------------------------------------------------------------------
@pytest.mark.e2e
def test_draws_the_outputs_of_a_real_rehearsal_deploy(ec2, tmp_path):
    spec = labnet.size(spokes=3, nodes_per_spoke=8, azs=2)
    lab = labnet.Lab("diagram-e2e", spec, engine="rehearsal")
    lab.up()
    try:
        exports = lab.exports()
        out = diagram.save(spec, tmp_path / "built.svg", exports=exports)
        svg = out.read_text(encoding="utf-8")
        vpcs = {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")}
        attachments = {a["TransitGatewayAttachmentId"]
                       for a in ec2.describe_transit_gateway_vpc_attachments()["TransitGatewayVpcAttachments"]}
        assert len(vpcs) == 3 and len(attachments) == 3
        for rid in vpcs | attachments | {exports["transit_gateway_id"]}:
            assert rid in svg
        assert_labels_clear(diagram.draw(spec, exports))
    finally:
        lab.destroy()


# -- across regions ------------------------------------------------------------------------------
FACTS = {r: RegionFacts(r, (f"{r}a", f"{r}b", f"{r}c")) for r in ("us-east-1", "us-west-2", "eu-west-1")}


def make_regions(counts: dict, azs: int = 2, public: bool = False) -> labnet.NetworkSpec:
    return plan(regions=counts, nodes_per_spoke=16, instance=P5, region={r: FACTS[r] for r in counts}, azs=azs,
                public_subnets=public)


def fake_region_exports(spec: labnet.NetworkSpec) -> dict:
    """Outputs shaped like program.build()'s for a network across regions."""
    exports = fake_exports(spec)
    hubs = {r: {"id": f"tgw-{k:017d}", "asn": spec.asn_of(r), "summary": spec.summary_of(r),
                "route_tables": {"spokes": f"tgw-rtb-{k:017d}"}} for k, r in enumerate(spec.regions)}
    exports["transit_gateway_id"] = hubs[spec.region]["id"]
    exports["transit_gateway_route_tables"] = hubs[spec.region]["route_tables"]
    exports["transit_gateways"] = hubs
    exports["peerings"] = [{"requester": a, "accepter": b, "attachment_id": f"tgw-attach-p{k:016d}",
                            "routes": {a: spec.summary_of(b), b: spec.summary_of(a)}}
                           for k, (a, b) in enumerate(spec.peerings())]
    for s in spec.spokes:
        exports["spokes"][s.name]["region"] = spec.region_of(s)
    return exports


def peering_lines(fig: Figure) -> list:
    return [line for line in fig.axes[0].lines if (line.get_gid() or "").startswith("peering-")]


@pytest.mark.parametrize("counts", [{"us-east-1": 2, "us-west-2": 2},
                                    {"us-east-1": 1, "us-west-2": 8},
                                    {"us-east-1": 8, "us-west-2": 8, "eu-west-1": 8},
                                    {"us-east-1": 3, "us-west-2": 1, "eu-west-1": 5}])
@pytest.mark.parametrize("built", [False, True])
def test_regions_labels_boxes_and_peering_links_do_not_collide(counts, built):
    spec = make_regions(counts)
    fig = diagram.draw(spec, fake_region_exports(spec) if built else None)
    assert_labels_clear(fig)
    boxes = spoke_boxes(fig)
    assert len(boxes) == len(spec.spokes)
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)
    fonts = [t.get_fontsize() for t in fig.axes[0].texts]
    assert min(fonts) >= diagram.MIN_FONT_PT * 0.9
    # A peering link never runs under a spoke box, nor under another link's label.
    renderer = fig.canvas.get_renderer()
    texts_ = [t.get_window_extent(renderer) for t in fig.axes[0].texts]
    links = peering_lines(fig)
    assert len(links) == len(spec.peerings())
    from matplotlib.transforms import Bbox

    for line in links:
        pts = line.get_transform().transform(line.get_xydata())
        for p, q in zip(pts, pts[1:]):
            seg = Bbox([[min(p[0], q[0]), min(p[1], q[1])], [max(p[0], q[0]), max(p[1], q[1])]]).padded(0.5)
            for b in boxes:
                assert not seg.overlaps(b), (line.get_gid(), "crosses a spoke box")
            for t in texts_:
                assert not seg.overlaps(t), (line.get_gid(), "crosses a label")


def test_regions_picture_shows_a_hub_per_region_and_each_peering_with_its_routes():
    spec = make_regions({"us-east-1": 2, "us-west-2": 2, "eu-west-1": 1})
    exports = fake_region_exports(spec)
    fig = diagram.draw(spec, exports)
    shown = texts(fig)
    joined = "\n".join(shown)
    assert shown.count("Transit Gateway") == 3
    for r, hub in exports["transit_gateways"].items():
        assert hub["id"] in shown and f"{r} · {spec.summary_of(r)}" in shown
        assert f"ASN {spec.asn_of(r)} · MTU 8500" in shown
        assert f"rt spokes: {hub['route_tables']['spokes']}" in shown
    for p in exports["peerings"]:
        assert f"TGW peering {p['attachment_id']}" in shown
        a, b = p["requester"], p["accepter"]
        assert f"{a}: static route {spec.summary_of(b)}" in shown and f"{b}: static route {spec.summary_of(a)}" in shown
    assert "3 regions" in joined and "as built" in joined
    for spoke in spec.spokes:
        assert f"{spoke.name}  {spoke.cidr}" in shown
        assert exports["spokes"][spoke.name]["vpc_id"] in shown
    # each spoke is linked to its own region's hub, every hub level at y = 0
    hubs = {r: None for r in spec.regions}
    links = [line for line in fig.axes[0].lines if not (line.get_gid() or "").startswith("peering-")]
    assert len(links) == len(spec.spokes)
    assert {round(float(line.get_xydata()[-1][1]), 6) for line in links} == {0.0}
    assert len({round(float(line.get_xydata()[-1][0]), 6) for line in links}) == len(hubs)
    planned = "\n".join(texts(diagram.draw(spec)))
    assert "TGW peering (planned)" in planned and "tgw-" not in planned.replace("tgw-rt", "")


def test_regions_secret_and_missing_outputs_are_said_not_invented():
    spec = make_regions({"us-east-1": 1, "us-west-2": 1})
    exports = fake_region_exports(spec)
    exports["peerings"] = "[secret]"  # how a secret output arrives (labnet.outputs.SECRET)
    exports["transit_gateways"]["us-west-2"] = "[secret]"
    shown = texts(diagram.draw(spec, exports))
    assert "TGW peering [secret]" in shown
    assert sum("[secret]" in t for t in shown) == 3  # the peering, the us-west-2 TGW id and its route table
    del exports["transit_gateways"]
    exports["peerings"] = []
    shown = texts(diagram.draw(spec, exports))
    assert "TGW peering not in outputs" in shown and "not in outputs" in shown
    assert exports["transit_gateway_id"] in shown  # the spec's own region from the top-level outputs


def test_one_region_picture_is_unchanged_by_regions():
    """A network in one region takes the one-hub layout (its tests above pin it), never the panels."""
    spec = make_spec(3)
    fig = diagram.draw(spec)
    assert not peering_lines(fig)
    assert not any("regions" in t for t in texts(fig))


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_save_regions_picture(tmp_path, suffix):
    spec = make_regions({"us-east-1": 2, "us-west-2": 2})
    exports = fake_region_exports(spec)
    out = diagram.save(spec, tmp_path / f"regions{suffix}", exports=exports)
    if suffix == ".png":
        assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    else:
        svg = out.read_text(encoding="utf-8")
        for p in exports["peerings"]:
            assert p["attachment_id"] in svg
        for hub in exports["transit_gateways"].values():
            assert hub["id"] in svg and hub["summary"] in svg
        assert diagram.save(spec, tmp_path / "again.svg", exports=exports).read_bytes() == out.read_bytes()


@pytest.mark.e2e
def test_draws_the_outputs_of_a_real_two_region_deploy(fresh_emulator, tmp_path):
    import boto3

    spec = labnet.size(regions={"us-east-1": 2, "us-west-2": 2}, nodes_per_spoke=4, azs=1)
    lab = labnet.Lab("diagram-regions", spec, engine="rehearsal")
    lab.up(check_quotas=False)
    try:
        exports = lab.exports()
        svg = diagram.save(spec, tmp_path / "built.svg", exports=exports).read_text(encoding="utf-8")
        for region in spec.regions:
            ec2 = boto3.client("ec2", region_name=region, endpoint_url=fresh_emulator,
                               aws_access_key_id="testing", aws_secret_access_key="testing")
            for t in ec2.describe_transit_gateways()["TransitGateways"]:
                assert t["TransitGatewayId"] in svg
            for v in ec2.describe_vpcs(Filters=[{"Name": "tag:stack", "Values": ["diagram-regions"]}])["Vpcs"]:
                assert v["VpcId"] in svg
            for a in ec2.describe_transit_gateway_peering_attachments()["TransitGatewayPeeringAttachments"]:
                assert a["TransitGatewayAttachmentId"] in svg
        assert_labels_clear(diagram.draw(spec, exports))
    finally:
        lab.destroy()


# -- issue 22: the same order in every spoke, what the nodes are, the TGW's lines inside its box ------
def _inside(inner, outer) -> bool:
    return outer.x0 <= inner.x0 and inner.x1 <= outer.x1 and outer.y0 <= inner.y0 and inner.y1 <= outer.y1


@pytest.mark.parametrize("n", [2, 3, 5])
def test_every_spoke_draws_compute_above_its_attachments(n):
    fig = diagram.draw(make_spec(n))
    renderer = fig.canvas.get_renderer()
    patches = [(p.get_facecolor()[:3], p.get_window_extent(renderer)) for p in fig.axes[0].patches]
    face = {role: pytest.approx(_rgb(diagram.ROLE_STYLE[role]["face"])) for role in ("compute", "attachment")}
    for box in spoke_boxes(fig):
        compute = [bb for c, bb in patches if c == face["compute"] and _inside(bb, box)]
        attachment = [bb for c, bb in patches if c == face["attachment"] and _inside(bb, box)]
        assert compute and attachment
        assert min(bb.y0 for bb in compute) > max(bb.y1 for bb in attachment), "attachments drawn above compute"


def test_the_launch_template_line_says_how_many_nodes_of_which_type():
    spec = make_spec(2)
    exports = fake_exports(spec)
    for k, sp in enumerate(exports["spokes"].values()):
        sp["launch_template_id"] = f"lt-{k:017d}"
        sp["launch_template"] = {"nodes": 64, "instance_type": "p5.48xlarge"}
    shown = texts(diagram.draw(spec, exports))
    assert "nodes: 64 × p5.48xlarge, lt-00000000000000000" in shown, [t for t in shown if "nodes" in t]


@pytest.mark.parametrize("n, built", [(1, False), (2, False), (2, True), (3, True), (5, True)])
def test_the_transit_gateway_lines_stay_clear_of_their_box_edge(n, built):
    import matplotlib

    spec = make_spec(n)
    # As the figure draws itself (no hinting): the padding the layout gives. With matplotlib's default
    # hinting (someone else's savefig at 100 dpi widens text 4-5 %): still clear of the rounded edge.
    # A fresh figure each time: a text caches its measured size.
    for hinting, least in (("none", 0.9 * diagram.HUB_PAD_X), ("default", 0.4)):
        with matplotlib.rc_context({"text.hinting": hinting}):
            fig = diagram.draw(spec, fake_exports(spec) if built else None)
            ax = fig.axes[0]
            em = ax.transData.transform((1, 0))[0] - ax.transData.transform((0, 0))[0]  # pixels per em
            hub = [p for p in ax.patches if p.get_facecolor()[:3] == pytest.approx(_rgb(diagram.TGW_FACE))]
            lines = [t for t in ax.texts if t.get_color() == "white"]
            assert len(hub) == 1 and lines[0].get_text() == "Transit Gateway"
            renderer = fig.canvas.get_renderer()
            box = hub[0].get_window_extent(renderer)
            for t in lines:
                bb = t.get_window_extent(renderer)
                gap = min(bb.x0 - box.x0, box.x1 - bb.x1) / em
                assert gap >= least, f"{t.get_text()!r} is {gap:.2f} em from its box's edge ({hinting} hinting)"
