"""Configs for the launchers people start training nodes with, built from a stack's outputs.

Per spoke, as plain dicts or YAML text to paste:

- :func:`node_launch`: the spoke's node launch template and how to start nodes from it with boto3
  (``run_instances``) and the AWS CLI (``aws ec2 run-instances``);
- :func:`sagemaker_vpc_config`: the ``VpcConfig`` a SageMaker training job takes;
- :func:`parallelcluster_queue`: an AWS ParallelCluster (v3) Slurm queue with its ``Networking`` block;
- :func:`torchrun_env`: the environment a torchrun/NCCL job needs to use the right interfaces.

Everything comes from the outputs (``Lab.exports()``), so it names what was built, not what was
planned. The module loads nothing heavy; PyYAML is imported only when YAML text is asked for.

    >>> launch = labnet.launchers.node_launch(lab.exports(), "spoke-01")
    >>> print(launch.boto3)
    >>> print(labnet.launchers.parallelcluster_yaml(lab.exports(), "spoke-01"))
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import InvalidSpecError, LabnetError
from ..outputs import SpokeOutput, StackOutputs, is_secret

DEFAULT_VERSION = "$Default"  # the template is created with update_default_version: $Default is current
AMI_PLACEHOLDER = "<ami-id>"
# The emulator's URL, asked of labnet when a shell runs the AWS CLI snippet (its port changes per start).
EMULATOR_URL_COMMAND = '"$(python -m labnet emulator url)"'
# NCCL bootstraps (and, without EFA, moves data) over IP sockets; never over loopback or containers'
# bridges, which NCCL may otherwise pick on a node with many interfaces.
NCCL_SOCKET_IFNAME = "^docker,lo,veth"
PC_NAME_RE = re.compile(r"[a-z][a-z0-9-]{0,24}")  # ParallelCluster queue / compute resource names


def _spoke(exports: "StackOutputs | Mapping[str, Any]", spoke: str) -> SpokeOutput:
    """The outputs of one spoke, or an error that says what to do."""
    out = StackOutputs.of(exports)
    if out.empty:
        raise LabnetError("the stack has no outputs yet: run up() first")
    if is_secret(out.spokes):
        raise LabnetError("the stack's spoke outputs are secret: launcher configs need their ids")
    if spoke not in out.spokes:
        raise InvalidSpecError("spoke", spoke, "is not a spoke of this stack",
                               f"choose from {', '.join(out.spokes) or 'none (no spokes in the outputs)'}")
    sp = out.spokes[spoke]
    if sp.secret:
        raise LabnetError(f"the outputs of spoke {spoke!r} are secret: launcher configs need their ids")
    return sp


def _template(exports: "StackOutputs | Mapping[str, Any]", spoke: str) -> tuple[SpokeOutput, dict[str, Any]]:
    sp = _spoke(exports, spoke)
    if sp.launch_template_id is None or not isinstance(sp.launch_template, Mapping):
        raise LabnetError(f"spoke {spoke!r} has no node launch template in the outputs (its spec records no "
                          "workload, or it was deployed before labnet made one): run up() again with a spec from "
                          "labnet.size(...)")
    return sp, dict(sp.launch_template)


@dataclass(frozen=True)
class NodeLaunch:
    """One spoke's node launch template and how to start nodes from it.

    ``interfaces`` is the layout the template gives every node (network card, device index, interface
    type); ``boto3`` and ``aws_cli`` are snippets to paste; :meth:`run_instances_kwargs` is the same
    request as keyword arguments for ``ec2.run_instances``.
    """

    spoke: str
    region: str
    template_id: str
    version: str
    instance_type: str
    interface_mode: str
    nodes: int
    subnet_id: str
    compute_subnet_ids: tuple[str, ...]
    az: str
    az_id: str
    security_group_id: str
    interfaces: tuple[tuple[int, int, str], ...]
    image_id: str = ""
    endpoint: str = ""  # the emulator's URL; empty for AWS

    def run_instances_kwargs(self, count: int | None = None, image_id: str | None = None,
                             subnet_id: str | None = None) -> dict[str, Any]:
        """Keyword arguments for ``ec2.run_instances`` that start ``count`` nodes (default: the
        spoke's nodes) from the template. ``image_id`` is required when the template names no AMI.
        ``subnet_id`` picks another of the spoke's compute subnets (a spread workload has one per AZ):
        the request then carries the primary interface, which replaces the template's."""
        count = self.nodes if count is None else count
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise InvalidSpecError("count", count, "must be a whole number >= 1", "")
        kwargs: dict[str, Any] = {"LaunchTemplate": {"LaunchTemplateId": self.template_id, "Version": self.version},
                                  "MinCount": count, "MaxCount": count}
        image = image_id or self.image_id
        if not image:
            raise InvalidSpecError("image_id", image_id, "the launch template names no AMI",
                                   "pass image_id='ami-…' (for example a Deep Learning AMI of this region)")
        if image_id:
            kwargs["ImageId"] = image_id
        if subnet_id is not None and subnet_id != self.subnet_id:
            if subnet_id not in self.compute_subnet_ids:
                raise InvalidSpecError("subnet_id", subnet_id, f"is not a compute subnet of spoke {self.spoke!r}",
                                       f"choose from {', '.join(self.compute_subnet_ids)}")
            if len(self.interfaces) > 1:
                raise InvalidSpecError("subnet_id", subnet_id, "an EFA cluster has one compute subnet",
                                       f"use {self.subnet_id}")
            kwargs["NetworkInterfaces"] = [{"NetworkCardIndex": 0, "DeviceIndex": 0, "SubnetId": subnet_id,
                                            "Groups": [self.security_group_id], "DeleteOnTermination": True}]
        return kwargs

    @property
    def boto3(self) -> str:
        """Python that starts the spoke's nodes from the template."""
        q = json.dumps  # one quoting style for every string in the snippet
        if self.endpoint:
            client = (f"import labnet\nec2 = labnet.emulator.ensure().client(\"ec2\", {q(self.region)})"
                      "  # the emulator's own test credentials")
        else:
            client = f"import boto3\nec2 = boto3.client(\"ec2\", region_name={q(self.region)})"
        image = "" if self.image_id else f"    ImageId={q(AMI_PLACEHOLDER)},  # the template names no AMI: choose one\n"
        return (f"{client}\n"
                f"resp = ec2.run_instances(\n"
                f"    LaunchTemplate={{\"LaunchTemplateId\": {q(self.template_id)}, \"Version\": {q(self.version)}}},\n"
                f"{image}"
                f"    MinCount={self.nodes}, MaxCount={self.nodes},\n"
                f"    # EFA nodes belong in a cluster placement group: Placement={{\"GroupName\": \"…\"}}\n"
                f")\n"
                f"print([i[\"InstanceId\"] for i in resp[\"Instances\"]])")

    @property
    def aws_cli(self) -> str:
        """The same request as an ``aws ec2 run-instances`` command. On the emulator the endpoint is
        asked of labnet when the command runs (``python -m labnet emulator url``): the emulator's
        port is chosen when it starts, so a port written here would be stale after a restart."""
        parts = ["aws", "ec2", "run-instances", "--region", self.region]
        if self.endpoint:
            parts += ["--endpoint-url", EMULATOR_URL_COMMAND]
        parts += ["--launch-template", f"LaunchTemplateId={self.template_id},Version={self.version}"]
        if not self.image_id:
            parts += ["--image-id", AMI_PLACEHOLDER]
        parts += ["--count", str(self.nodes)]
        return " ".join(p if p == EMULATOR_URL_COMMAND else shlex.quote(p) for p in parts)

    @property
    def layout(self) -> str:
        """The interfaces of one node in a line: runs of cards with the same device index and type
        together ("card 0, device 0: efa; cards 1-31, device 1: efa"), not one entry per card."""
        runs: list[list[int | str]] = []  # [first card, last card, device index, type]
        for card, device, kind in sorted(self.interfaces):
            last = runs[-1] if runs else None
            if last is not None and last[1] == card - 1 and last[2] == device and last[3] == kind:
                last[1] = card
            else:
                runs.append([card, card, device, kind])
        return "; ".join(f"card {a}, device {d}: {k}" if a == b else f"cards {a}-{b}, device {d}: {k}"
                         for a, b, d, k in runs)

    def __str__(self) -> str:
        where = f"{self.az} ({self.az_id})" if self.az_id else self.az
        n = len(self.interfaces)
        return (f"launch template {self.template_id} ({self.version}) for spoke {self.spoke}: {self.nodes} × "
                f"{self.instance_type} in {where}, subnet {self.subnet_id}, group {self.security_group_id}\n"
                f"{n} interface{'s' if n != 1 else ''} per node ({self.interface_mode}): {self.layout}\n\n"
                f"boto3:\n{self.boto3}\n\nAWS CLI:\n{self.aws_cli}")

    def _repr_markdown_(self) -> str:
        head, _, _ = str(self).partition("\n\n")
        return (f"```text\n{head}\n```\n\nboto3:\n```python\n{self.boto3}\n```\n\n"
                f"AWS CLI:\n```bash\n{self.aws_cli}\n```")


def node_launch(exports: "StackOutputs | Mapping[str, Any]", spoke: str, endpoint: str = "") -> NodeLaunch:
    """The spoke's node launch template from the outputs, and how to start nodes from it.
    ``endpoint`` is the emulator's URL when the stack lives there (the snippets then point at it)."""
    sp, lt = _template(exports, spoke)
    return NodeLaunch(
        spoke=spoke, region=sp.region or "", template_id=str(sp.launch_template_id),
        version=str(lt.get("version") or DEFAULT_VERSION), instance_type=str(lt.get("instance_type", "")),
        interface_mode=str(lt.get("interface_mode", "")), nodes=int(lt.get("nodes") or 1),
        subnet_id=str(lt.get("subnet_id", "")), compute_subnet_ids=tuple(lt.get("compute_subnet_ids") or ()),
        az=str(lt.get("az", "")), az_id=str(lt.get("az_id", "")),
        security_group_id=str(lt.get("security_group_id") or sp.security_group_id or ""),
        interfaces=tuple((int(i["network_card"]), int(i["device_index"]), str(i["interface_type"]))
                         for i in lt.get("interfaces") or ()),
        image_id=str(lt.get("image_id") or ""), endpoint=endpoint)


def sagemaker_vpc_config(exports: Mapping[str, Any], spoke: str) -> dict[str, list[str]]:
    """The ``VpcConfig`` of a SageMaker training job (``CreateTrainingJob`` / the Python SDK's
    ``subnets=`` and ``security_group_ids=``): the spoke's compute subnets and its training group,
    which lets the job's instances reach each other (EFA included) and the other spokes."""
    sp = _spoke(exports, spoke)
    return {"SecurityGroupIds": [sp.security_group_id], "Subnets": list(sp.compute_subnet_ids)}


def _pc_name(name: str) -> str:
    """A ParallelCluster queue or compute-resource name: a lowercase letter first, then up to 24
    lowercase letters, digits or '-'."""
    out = re.sub(r"[^a-z0-9-]", "-", name.lower())
    if not out[:1].isalpha():
        out = "q" + out
    out = out[:25].rstrip("-")
    assert PC_NAME_RE.fullmatch(out), out
    return out


def parallelcluster_queue(exports: Mapping[str, Any], spoke: str) -> dict[str, Any]:
    """One ``Scheduling.SlurmQueues`` entry of an AWS ParallelCluster v3 cluster config for the spoke:
    its ``Networking`` block (the compute subnets, the training group as an additional group, and a
    cluster placement group for EFA) and one compute resource of the spoke's instance type (EFA on
    when the network was sized for it, scaling from 0 to the spoke's nodes)."""
    sp, lt = _template(exports, spoke)
    efa = lt.get("interface_mode") in ("efa", "efa-only")
    networking: dict[str, Any] = {"SubnetIds": list(lt.get("compute_subnet_ids") or [lt["subnet_id"]]),
                                  "AdditionalSecurityGroups": [lt.get("security_group_id") or sp.security_group_id]}
    if efa:
        networking["PlacementGroup"] = {"Enabled": True}  # EFA: one AZ, one subnet, nodes close together
    resource: dict[str, Any] = {"Name": _pc_name(str(lt["instance_type"]).replace(".", "-")),
                                "InstanceType": lt["instance_type"], "MinCount": 0, "MaxCount": int(lt.get("nodes") or 1)}
    if efa:
        resource["Efa"] = {"Enabled": True}
    return {"Name": _pc_name(spoke), "CapacityType": "ONDEMAND", "Networking": networking,
            "ComputeResources": [resource]}


def parallelcluster_yaml(exports: Mapping[str, Any], spoke: str) -> str:
    """:func:`parallelcluster_queue` as the YAML of a cluster config's ``Scheduling`` section."""
    import yaml

    doc = {"Scheduling": {"Scheduler": "slurm", "SlurmQueues": [parallelcluster_queue(exports, spoke)]}}
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def torchrun_env(exports: Mapping[str, Any], spoke: str) -> dict[str, str]:
    """Environment for a torchrun/NCCL job on the spoke's nodes.

    EFA layouts: NCCL's network plugin (aws-ofi-nccl) must use libfabric's ``efa`` provider, and fork
    safety is on for data-loader workers. Every layout: NCCL's sockets (its bootstrap, and all
    traffic without EFA, including to other spokes over the Transit Gateway, which EFA never crosses)
    use the node's own interfaces, never loopback or container bridges. libfabric turns on EFA RDMA
    by itself where the instance type has it, so it is not forced here."""
    _, lt = _template(exports, spoke)
    env = {"NCCL_SOCKET_IFNAME": NCCL_SOCKET_IFNAME}
    if lt.get("interface_mode") in ("efa", "efa-only"):
        env.update({"FI_PROVIDER": "efa", "FI_EFA_FORK_SAFE": "1"})
    return env


def configs(exports: Mapping[str, Any], spoke: str, endpoint: str = "") -> dict[str, Any]:
    """Every launcher config of one spoke: the launch template snippets, SageMaker's ``VpcConfig``,
    the ParallelCluster queue (YAML) and the torchrun/NCCL environment."""
    launch = node_launch(exports, spoke, endpoint)
    return {"launch_template_id": launch.template_id, "run_instances_boto3": launch.boto3,
            "run_instances_cli": launch.aws_cli, "sagemaker_vpc_config": sagemaker_vpc_config(exports, spoke),
            "parallelcluster_queue_yaml": parallelcluster_yaml(exports, spoke),
            "torchrun_env": torchrun_env(exports, spoke)}
