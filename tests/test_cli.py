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
