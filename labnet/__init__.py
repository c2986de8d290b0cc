"""labnet: size, deploy, read and tear down a hub-and-spoke AWS network for distributed ML training.

    import labnet
    spec = labnet.size(spokes=3, nodes_per_spoke=64, instance_type="p5.48xlarge", azs=2)
    lab = labnet.Lab("ml-net", spec)
    lab.preview(); lab.up(); lab.outputs(); lab.destroy()

``import labnet`` is cheap: pandas, boto3 and Pulumi load only when a function that needs them runs.
"""

from __future__ import annotations

from typing import Any

from .errors import (DeployError, EmulatorError, EngineUnavailableError, FactsError, InterruptedByUserError,
                     InterruptedOperationError, InvalidSpecError, LabnetError, QuotaExceededError, SizingError,
                     SpecChangedError, StackLockedError, StackNotFoundError, StateCorruptError, StateError,
                     TargetError, TeardownIncompleteError)
from .spec import NetworkSpec, Security, Spoke, Subnet, Tags, TransitGateway, Workload

__version__ = "0.1.0"

_LAZY = {
    "Lab": "lab", "size": "lab", "stacks": "lab", "instance_types": "lab", "spec_warnings": "lab",
    "offerings": "lab", "launchers": "views.launchers",
    "diagram": "views.diagram", "cost": "analysis.cost", "tables": "views.tables", "emulator": "emulator",
    "widgets": "widgets",
    "traffic": "analysis.traffic",
    "quotas": "analysis.quota_report", "request_quota_increases": "analysis.quota_report",
    "heatmap": "views.heatmap", "Probe": "analysis.reachability", "StackOutputs": "outputs",
    "formats": "views.formats",
}

__all__ = ["Lab", "size", "stacks", "instance_types", "spec_warnings", "offerings", "NetworkSpec", "Spoke", "Subnet",
           "TransitGateway", "Security", "Tags", "Workload", "LabnetError", "InvalidSpecError", "SizingError",
           "FactsError", "TargetError", "EmulatorError", "EngineUnavailableError", "StackLockedError",
           "StackNotFoundError", "StateError", "StateCorruptError", "InterruptedOperationError", "InterruptedByUserError",
           "SpecChangedError", "DeployError", "TeardownIncompleteError", "QuotaExceededError", "quotas",
           "request_quota_increases", "Probe", "StackOutputs"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'labnet' has no attribute {name!r}")
    import importlib

    mod = importlib.import_module(f".{module}", __name__)
    # A name that is the module's own last part is the module (labnet.cost, labnet.traffic); any
    # other name is an attribute of it (labnet.size, labnet.quotas).
    value = mod if name == module.rsplit(".", 1)[-1] else getattr(mod, name)
    globals()[name] = value
    return value
