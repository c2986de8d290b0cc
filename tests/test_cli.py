"""What a newcomer sees from the command line (issue 22): messages that name the stack and the stacks
there are, near names for a typo, warnings, the demo's progress lines and tables that fit a terminal.
Everything runs against the session's emulator (moto on loopback) through ``labnet.__main__.main``."""

from __future__ import annotations

import re

import pytest

import labnet
from labnet.__main__ import main

TERMINAL = 160  # columns the terminal tables must fit
LINE = re.compile(r"^(up|destroy) (?P<stack>\S+) \[(?P<done>\d+)/(?P<total>\d+)\] (create|delete) \w+ \S+: done$")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- item 1: a stack that is not there, or not deployed ----------------------------------------------
def test_verify_and_destroy_of_an_unknown_stack_say_so_and_list_the_stacks(ec2, capsys):
    code, _, err = run(capsys, "verify", "no-such-stack")
    assert code == 2
    assert "StackNotFoundError" in err and "no stack 'no-such-stack'" in err and "there are no stacks yet" in err
    assert "needs a spec" not in err  # not the Python API's message for a new stack

    spec = labnet.size(spokes=2, nodes_per_spoke=4, supernet="10.0.0.0/16")
    lab = labnet.Lab("cli-known", spec, engine="rehearsal")
    lab.up()
    lab.destroy()
    code, _, err = run(capsys, "destroy", "cli-knwn")
    assert code == 2 and "no stack 'cli-knwn'" in err
    assert "the stacks there are: cli-known (destroyed)" in err and "python -m labnet stacks" in err

    # a destroyed stack exists, but has nothing to verify: the message names it and its state
    code, _, err = run(capsys, "verify", "cli-known")
    assert code == 2 and "stack 'cli-known' is destroyed" in err and "up()" in err, err


# -- item 2: near names, no "or 0 spoke(s)", private address space ---------------------------------
def test_an_instance_type_typo_names_the_near_types_ec2_reports(ec2):
    with pytest.raises(labnet.InvalidSpecError) as caught:
        labnet.size(spokes=2, instance_type="p5.48xlarg")
    message = str(caught.value)
    assert "does not know this instance type" in message
    assert "did you mean 'p5.48xlarge'" in message, message
    with pytest.raises(labnet.InvalidSpecError, match="pick one from labnet.instance_types"):
        labnet.size(spokes=2, instance_type="zz9.huge")  # nothing near it: no guess


def test_a_supernet_too_small_for_one_spoke_offers_no_zero_spokes(ec2):
    with pytest.raises(labnet.SizingError) as caught:
        labnet.size(spokes=2, nodes_per_spoke=64, supernet="10.0.0.0/24")
    message = str(caught.value)
    assert "0 spoke" not in message and "no spoke fits" in message, message
    assert "nearest layout that fits is a /" in message
    with pytest.raises(labnet.SizingError) as caught:  # one fits: fewer spokes is a real way out
        labnet.size(spokes=3, nodes_per_spoke=16, supernet="10.0.0.0/20")
    assert "or 2 spoke(s)" in str(caught.value), str(caught.value)


@pytest.mark.parametrize("supernet, private", [("8.8.0.0/16", False), ("11.0.0.0/8", False),
                                               ("10.0.0.0/8", True), ("172.16.0.0/12", True),
                                               ("192.168.0.0/16", True), ("100.64.0.0/16", True),
                                               ("172.32.0.0/16", False)])
def test_a_public_supernet_is_warned_about(supernet, private):
    from tests.helpers import plan

    spec = plan(spokes=2, nodes_per_spoke=4, supernet=supernet)
    found = [w for w in labnet.spec_warnings(spec) if "not private address space" in w]
    assert (found == []) == private, found
    if not private:
        assert "RFC 1918" in found[0] and "RFC 6598" in found[0] and supernet in found[0]


def test_the_spec_command_prints_the_warning(ec2, capsys):
    code, out, err = run(capsys, "spec", "--spokes", "2", "--nodes-per-spoke", "4", "--supernet", "8.8.0.0/16")
    assert code == 0 and out.startswith("{")
    assert "warning: supernet 8.8.0.0/16 is not private address space" in err


# -- item 3: the demo in a terminal ------------------------------------------------------------------
def test_demo_progress_is_one_line_per_step_in_order_and_tables_fit_160_columns(ec2, capsys):
    code, out, err = run(capsys, "demo", "--stack", "cli-demo", "--spokes", "3", "--nodes-per-spoke", "4",
                         "--supernet", "10.0.0.0/16")
    assert code == 0, err
    wide = [line for line in out.splitlines() if len(line) > TERMINAL]
    assert not wide, f"{len(wide)} line(s) wider than {TERMINAL} columns, e.g. {wide[0]!r}"
    assert "== outputs" in out and "tgw-" in out and "== cost estimate" in out
    progress = [line for line in err.splitlines() if line.startswith(("up ", "destroy "))]
    steps = {"up": [], "destroy": []}
    for line in progress:
        if line.endswith("s)") and ": done (" in line:
            continue  # the closing line of an operation
        m = LINE.match(line)
        assert m, f"a progress line ran together with another or is malformed: {line!r}"
        steps[line.split(" ", 1)[0]].append((int(m["done"]), int(m["total"])))
    for operation, seen in steps.items():
        total = seen[-1][1]
        assert [d for d, _ in seen] == list(range(1, total + 1)), f"{operation} steps out of order: {seen}"


def test_a_progress_line_is_one_write_whatever_the_threads():
    """print() writes a line's text and its newline apart, so two threads could run lines together;
    the log display writes each line whole."""
    from labnet.engines.progress import ProgressEvent
    from labnet.views.display import LogProgress

    class Writes:
        def __init__(self):
            self.calls = []

        def write(self, text):
            self.calls.append(text)

        def flush(self):
            pass

    stream = Writes()
    shown = LogProgress("up demo", stream)
    shown(ProgressEvent("up", "create", "spoke-01-vpc", "aws:ec2/vpc:Vpc", 1, 2, "done"))
    shown.finish("done")
    assert len(stream.calls) == 2 and all(c.endswith("\n") and c.count("\n") == 1 for c in stream.calls), stream.calls
    assert stream.calls[0] == "up demo [1/2] create Vpc spoke-01-vpc: done\n"


# -- item 5: the quota command names the way to file increases ---------------------------------------
def test_quotas_that_do_not_fit_name_how_to_file_the_increases(ec2, capsys):
    code, out, _ = run(capsys, "quotas", "--spokes", "8", "--nodes-per-spoke", "4")
    assert code == 1
    assert "does not fit: VPCs per Region (L-F678F1CE)" in out
    assert "--target aws --request" in out and "labnet.request_quota_increases(spec, target='aws')" in out
    assert "<NA>" not in out and "in_use and adds are blank for a quota per resource" in out
    assert max(len(line) for line in out.splitlines()) <= TERMINAL
    code, _, err = run(capsys, "quotas", "--spokes", "8", "--nodes-per-spoke", "4", "--request")
    assert code == 2 and "TargetError" in err and "emulator enforces no quota" in err  # files nothing there
    code, out, _ = run(capsys, "quotas", "--spokes", "2", "--nodes-per-spoke", "4")
    assert code == 0 and "--request" not in out  # everything fits: nothing to file


def test_quota_table_says_why_a_cell_is_blank(ec2):
    frame = labnet.quotas(labnet.size(spokes=2, nodes_per_spoke=4, supernet="10.0.0.0/16"))
    per_resource = frame[frame.in_use.isna()]
    assert len(per_resource) and all("in_use/adds blank: a quota per" in n for n in per_resource.note)
    assert all("request blank: it fits" in n for n in frame[frame.request.isna()].note)
    shown = labnet.formats.readable(frame)
    assert not shown.isin(["<NA>", "nan"]).any().any() and (shown.in_use == "").sum() == len(per_resource)


# -- item 6: the AWS CLI snippet asks for the emulator's address when it runs ------------------------
def test_the_aws_cli_snippet_finds_the_emulator_when_the_shell_runs_it(ec2, capsys, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from labnet import emulator

    code, out, _ = run(capsys, "emulator", "url")
    assert code == 0 and out.strip() == os.environ[emulator.ENV_URL]
    launch = labnet.launchers.NodeLaunch(
        spoke="a", region="us-east-1", template_id="lt-1", version="$Default", instance_type="p5.48xlarge",
        interface_mode="efa", nodes=2, subnet_id="subnet-1", compute_subnet_ids=("subnet-1",), az="us-east-1a",
        az_id="use1-az6", security_group_id="sg-1", interfaces=((0, 0, "efa"),), endpoint="http://127.0.0.1:1")
    assert "127.0.0.1" not in launch.aws_cli  # no port written into the snippet
    # the shell expands the snippet's arguments; printf stands in for the aws CLI
    args = subprocess.run(["bash", "-c", "printf '%s\\n' " + launch.aws_cli.removeprefix("aws ")],
                          capture_output=True, text=True, timeout=60, check=True, cwd=tmp_path,
                          env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
                          ).stdout.splitlines()
    assert args[args.index("--endpoint-url") + 1] == os.environ[emulator.ENV_URL]
    assert "LaunchTemplateId=lt-1,Version=$Default" in args


def test_the_interface_layout_is_one_short_line():
    cards = ((0, 0, "efa"), *((c, 1, "efa") for c in range(1, 32)))
    launch = labnet.launchers.NodeLaunch(
        spoke="a", region="us-east-1", template_id="lt-1", version="$Default", instance_type="p5.48xlarge",
        interface_mode="efa", nodes=2, subnet_id="subnet-1", compute_subnet_ids=("subnet-1",), az="us-east-1a",
        az_id="use1-az6", security_group_id="sg-1", interfaces=cards)
    assert launch.layout == "card 0, device 0: efa; cards 1-31, device 1: efa"
    assert "32 interfaces per node (efa): card 0, device 0: efa; cards 1-31, device 1: efa" in str(launch)
    gap = ((0, 0, "interface"), (1, 1, "efa"), (2, 1, "efa"), (4, 1, "efa"))  # card 3 takes no EFA
    assert labnet.launchers.NodeLaunch(**{**launch.__dict__, "interfaces": gap}).layout == \
        "card 0, device 0: interface; cards 1-2, device 1: efa; card 4, device 1: efa"


# -- item 9: every command and argument explains itself, and the README lists every command -----------
def test_every_argument_has_help_and_the_readme_lists_every_command():
    import argparse
    from pathlib import Path

    from labnet.__main__ import parser

    top = parser()
    (sub,) = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    listed = readme[readme.index("- `python -m labnet --help`"):readme.index("**The deploy form as a web page.**")]
    for name, command in sub.choices.items():
        assert f"`{name}" in listed or f"`{name} " in listed or f", `{name}" in listed, f"README misses {name}"
        for action in command._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"`python -m labnet {name} --help` has no help for {action.dest}"
    assert {a.dest for a in sub.choices["verify"]._actions} >= {"stack", "target", "probe"}
