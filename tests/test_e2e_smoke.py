import labnet


def test_up_and_destroy_smoke(ec2):
    spec = labnet.size(spokes=2, nodes_per_spoke=4)
    lab = labnet.Lab("smoke", spec, engine="rehearsal")
    out = lab.up()
    vpcs = [v for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")]
    assert len(vpcs) == 2
    assert set(out[out.resource == "vpc"].id) == {v["VpcId"] for v in vpcs}
    lab.destroy()
    assert [v for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")] == []
