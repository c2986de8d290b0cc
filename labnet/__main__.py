"""labnet's command line, a thin caller of the Python API.

    python -m labnet demo [--spokes 3 --nodes-per-spoke 16 --instance-type p5.48xlarge --azs 2]
    python -m labnet spec [--spokes 3 ... --target emulator|aws --region R]   # the sized spec as JSON
    python -m labnet quotas [--spokes 8 ... --target emulator|aws --request]   # the quota preflight table
    python -m labnet emulator start|status|stop|url
    python -m labnet stacks
    python -m labnet destroy STACK
    python -m labnet unlock STACK
    python -m labnet live-check [--aws REGION --yes]   # the Automation API engine end to end (needs the CLI)
    python -m labnet verify STACK [--probe tcp:29500 ...]   # exit 0: all reachable, 1: any blocked
    python -m labnet posture STACK      # the security posture table; exit 1 on any failed control
    python -m labnet audit STACK [--prowler PATH]   # Prowler against the stack; exit 1 on a failure
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd


def _print(frame: pd.DataFrame, drop: tuple[str, ...] = ()) -> None:
    """A table that fits a terminal (160 columns; the API's frames keep every column and digit)."""
    from labnet.views import formats

    one_region = "region" in frame.columns and frame["region"].nunique(dropna=False) <= 1
    print(formats.fit(formats.readable(frame), drop=(*drop, *(["region"] if one_region else []))))


def _say(text: str) -> None:
    """A sentence, wrapped to the terminal's 160 columns (addresses are never broken)."""
    import textwrap

    from labnet.views.formats import TERMINAL_WIDTH

    print(textwrap.fill(text, TERMINAL_WIDTH, subsequent_indent="  ", break_on_hyphens=False,
                        break_long_words=False))


def _print_cost(est: pd.DataFrame) -> None:
    """The cost estimate: the figures as a table, then what each row counts and where its price is from
    (sentences and addresses, too long for a column)."""
    _print(est, drop=("basis", "source"))
    for row in est.itertuples(index=False):
        _say(f"- {row.item}: {row.basis} (source: {row.source})")


def demo(args: argparse.Namespace) -> int:
    """Size, preview, deploy to the embedded emulator, print the outputs, and tear down."""
    import labnet
    from labnet import emulator

    t0 = time.monotonic()
    started_here = emulator.find() is None  # stop it at the end only if this run started it
    try:
        return _demo(args, labnet, t0)
    finally:
        if started_here and not args.keep:
            emulator.stop()


def _demo(args: argparse.Namespace, labnet, t0: float) -> int:
    spec = _size(args, labnet)
    print(f"== sizing: {spec.summary()}")
    for warning in labnet.spec_warnings(spec):
        print(f"warning: {warning}")
    _print(spec.table())
    est = labnet.cost.estimate(spec)
    print("\n== cost estimate")
    _print_cost(est)
    lab = labnet.Lab(args.stack, spec, engine=args.engine)
    print(f"\n== preview: {lab!r}")
    plan = lab.preview()
    _print(plan.groupby(["action", "resource"]).size().reset_index(name="count"))
    print("\n== up")
    outputs = lab.up()
    print("\n== outputs")
    _print(outputs)
    if args.diagram:
        from pathlib import Path

        Path(args.diagram).parent.mkdir(parents=True, exist_ok=True)
        labnet.diagram.save(spec, args.diagram, exports=lab.stack_outputs())
        print(f"\n== diagram written to {args.diagram}")
    if not args.keep:
        print("\n== destroy")
        removed = lab.destroy(delete_logs=True)  # a demo leaves nothing, its flow logs included
        print(f"removed {len(removed)} resources (the flow-log bucket too); stack state: {lab.status()}")
    print(f"\n== done in {time.monotonic() - t0:.1f}s")
    return 0


def spec_cmd(args: argparse.Namespace) -> int:
    """Print a sized spec as JSON (for `pulumi config set labnet:spec`, papermill or YAML)."""
    import json

    import labnet

    # Sized against the target it will be deployed to: its AZs, their IDs and its offerings.
    spec = _size(args, labnet, target=args.target)
    for warning in labnet.spec_warnings(spec):
        print(f"warning: {warning}", file=sys.stderr)
    print(json.dumps(spec.to_dict()))
    return 0


def quotas_cmd(args: argparse.Namespace) -> int:
    """Print the quota preflight table; exit 1 when a quota the deploy needs does not fit."""
    import labnet

    spec = _size(args, labnet, target=args.target)
    frame = labnet.quotas(spec, target=args.target)
    _print(frame, drop=("scope", "source", "note"))
    _say("(in_use and adds are blank for a quota per resource: needs is the fullest route table, group, TGW "
         "or VPC's own count; request is blank where the quota fits)")
    bad = frame[~frame.fits & (frame.needed_for == "deploy")]
    for row in bad.itertuples():
        _say(f"does not fit: {row.quota} ({row.code or 'no Service Quotas code'}): applied {row.applied}, "
             f"needs {row.needs}; source: {row.source}")
    if args.request:
        print("\n== quota increase requests filed in Service Quotas")
        _print(labnet.request_quota_increases(spec, target=args.target))
    elif (~frame.fits).any():
        _say("to file the increases in Service Quotas: run this command again with --target aws --request "
             "(or labnet.request_quota_increases(spec, target='aws')); a quota without a code is raised by "
             "AWS Support")
    return 1 if len(bad) else 0


def emulator_cmd(args: argparse.Namespace) -> int:
    from labnet import emulator

    if args.action == "start":
        em = emulator.ensure()
        print(f"emulator running at {em.url}" + (f" (pid {em.pid})" if em.pid else " (external)"))
    elif args.action == "stop":
        print("emulator stopped" if emulator.stop() else "no emulator of labnet's was running")
    elif args.action == "url":  # for shell snippets: aws --endpoint-url "$(python -m labnet emulator url)"
        st = emulator.status()
        if not st["running"]:
            print("the emulator is not running: `python -m labnet emulator start`", file=sys.stderr)
            return 1
        print(st["url"])
    else:
        st = emulator.status()
        print(f"running at {st['url']} (pid {st['pid']})" if st["running"] else "not running")
    return 0


def stacks_cmd(args: argparse.Namespace) -> int:
    import labnet

    _print(labnet.stacks())
    return 0


def _open(stack: str, target: str):
    """The Lab of a stack that exists on this machine; a name labnet does not know is refused with
    the stacks there are (the Python API would take it for a new stack that needs a spec)."""
    import labnet
    from labnet import preflight
    from labnet.engines.state import list_stacks
    from labnet.errors import StackNotFoundError

    name = preflight.check_stack_name(stack)
    if name not in list_stacks():
        known = labnet.stacks()
        raise StackNotFoundError(name, list(zip(known.stack_name, known.state)))
    return labnet.Lab(name, target=target)


def destroy_cmd(args: argparse.Namespace) -> int:
    lab = _open(args.stack, args.target)
    result = lab.destroy(delete_logs=args.delete_logs)
    kept = result[result.outcome == "kept"]
    print(f"removed {int((result.outcome == 'removed').sum())} resources; stack {args.stack!r} is {lab.status()}")
    if len(kept):
        print(f"kept {len(kept)}: the flow-log bucket(s) and their settings ({', '.join(kept.id.unique())}): "
              "audit data, reused by the next up of this stack; --delete-logs deletes them")
    return 0


def unlock_cmd(args: argparse.Namespace) -> int:
    from labnet import preflight
    from labnet.engines.state import StackStore

    held = StackStore(preflight.check_stack_name(args.stack)).break_lock(force=args.force)
    print(f"lock removed (was held by {held})" if held else "the stack was not locked")
    return 0


def live_check_cmd(args: argparse.Namespace) -> int:
    from labnet import live_check

    return live_check.run(aws_region=args.aws, yes=args.yes)


def _azs(text: str) -> int | list[str]:
    """``--azs 2`` or ``--azs use1-az5,us-east-1c``."""
    return int(text) if text.strip().isdigit() else [az.strip() for az in text.split(",") if az.strip()]


def verify_cmd(args: argparse.Namespace) -> int:
    """Print the connectivity matrix of a stack; 0 when every pair is reachable, 1 when any is not."""
    from pathlib import Path

    from labnet.analysis import reachability, verify
    from labnet.analysis.snapshot import Snapshot

    probes = reachability.check_probes(args.probe)  # a bad probe is refused before any AWS call
    if args.snapshot:
        try:
            snap = Snapshot.from_json(Path(args.snapshot).read_text())
        except OSError as exc:
            from labnet.errors import InvalidSpecError

            raise InvalidSpecError("--snapshot", args.snapshot, f"cannot be read ({exc.strerror})",
                                   "name a file written by --save-snapshot") from None
    else:
        from labnet.errors import StateError

        lab = _open(args.stack, args.target)
        if not lab.exports():
            raise StateError(f"stack {args.stack!r} is {lab.status()}: it has no deployed network to verify. "
                             f"Deploy it again (labnet.Lab({args.stack!r}).up()), or pick a deployed stack from "
                             "`python -m labnet stacks`")
        snap = lab.snapshot()
    if args.save_snapshot:
        from labnet import paths

        paths.write_private(Path(args.save_snapshot), snap.to_json())
        print(f"snapshot written to {args.save_snapshot}")
    frame = verify.connectivity(reachability.analyse(snap, probes))
    print(f"== connectivity of {snap.stack or args.stack} ({snap.taken_at}): {verify.summary(frame)}")
    shown = verify.blocked(frame) if args.blocked else frame
    hidden = ["detail", "protocol", "port"]
    if len(set(verify.regions_of(frame).values())) <= 1:
        hidden += ["src_region", "dst_region"]  # one region: the columns say nothing
    table = shown.drop(columns=hidden).astype(object).fillna("n/a")
    if len(table):
        _print(table)
    bad = verify.blocked(frame)
    for row in bad.itertuples(index=False):
        print(f"- {row.src_spoke} -> {row.dst_spoke} {row.probe} [{row.reason}, {row.path}]: {row.detail}")
    findings = verify.exposure(reachability.exposure(snap))
    print(f"\n== exposure: {len(findings)} rule(s) admit traffic from outside the stack's spokes")
    if args.exposure and len(findings):
        _print(findings)
    return 0 if bad.empty else 1


def posture_cmd(args: argparse.Namespace) -> int:
    """The posture table of a deployed stack; exit 1 when a control fails."""
    import labnet
    from labnet.analysis import posture

    lab = labnet.Lab(args.stack)
    rows = posture.check(lab.snapshot(), flow_logs=lab.spec.security.flow_logs)
    print(f"== posture of {args.stack}: {posture.summary(rows)}")
    _print_all(posture.frame(rows))
    return 1 if any(r.status == "fail" for r in rows) else 0


def audit_cmd(args: argparse.Namespace) -> int:
    """Prowler's EC2, VPC and S3 checks against a deployed stack; exit 1 on a failure not by design."""
    import labnet
    from labnet import audit

    result = audit.run(labnet.Lab(args.stack), out_dir=args.output, prowler=args.prowler)
    print(f"== {result.summary()}")
    _print_all(result.counts())
    if result.failures:
        print("\n== failures")
        _print_all(result.frame().query("verdict == 'fail'")[["check", "resource_id", "role", "message"]])
    return 1 if result.failures else 0


def _print_all(frame: pd.DataFrame) -> None:
    with pd.option_context("display.max_rows", None, "display.max_columns", 20, "display.width", 200):
        print(frame.to_string(index=False))


def _size(args: argparse.Namespace, labnet, **extra):
    """The one sizing call of the command line (``--regions`` for a network across regions)."""
    from labnet import request

    regions = request.parse_regions(args.regions)
    existing = request.parse_pairs("existing_vpcs", args.existing, "data=vpc-0123456789abcdef0")
    storage = request.parse_pairs("storage", args.storage, "data=fsx-lustre")
    return labnet.size(spokes=None if regions else args.spokes, regions=regions,
                       region=next(iter(regions)) if regions else args.region,
                       nodes_per_spoke=args.nodes_per_spoke, instance_type=args.instance_type, azs=args.azs,
                       supernet=args.supernet, compute_az=None if regions else args.compute_az,
                       existing_vpcs=existing, transit_gateway_id=args.transit_gateway or None, storage=storage,
                       **extra)


def _sizing_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spokes", type=int, default=3, help="number of VPCs behind the Transit Gateway (default 3)")
    p.add_argument("--regions", default="", help="a network across regions: REGION:SPOKES,... "
                   "(us-east-1:2,us-west-2:2); --spokes and --region are then not used")
    p.add_argument("--nodes-per-spoke", type=int, default=16,
                   help="training nodes in each spoke, which sizes its compute subnet (default 16)")
    p.add_argument("--instance-type", default="p5.48xlarge",
                   help="EC2 instance type of the nodes; its network facts come from EC2 (default p5.48xlarge)")
    p.add_argument("--azs", type=_azs, default=2,
                   help="a number of AZs, or AZ names / AZ IDs separated by commas (use1-az5,use1-az2)")
    p.add_argument("--compute-az", default=None, help="an EFA cluster's compute AZ, by name or AZ ID")
    p.add_argument("--supernet", default="10.0.0.0/8",
                   help="the block every spoke's VPC CIDR is cut from, private address space (default 10.0.0.0/8)")
    p.add_argument("--region", default="us-east-1", help="AWS region of a one-region network (default us-east-1)")
    p.add_argument("--existing", action="append", default=[], metavar="NAME=VPC_ID",
                   help="attach a VPC that exists already as spoke NAME (repeat); labnet adds only what it owns "
                        "inside it (--spokes 0: existing VPCs only)")
    p.add_argument("--transit-gateway", default="", metavar="TGW_ID",
                   help="attach the spokes to this existing Transit Gateway instead of creating one")
    p.add_argument("--storage", action="append", default=[], metavar="NAME=KIND",
                   help="storage in spoke NAME the training groups reach across the TGW (fsx-lustre)")


TARGET_HELP = "where the stack was deployed: the embedded emulator (default) or your AWS account"


def parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per entry of the module docstring, every argument with help."""
    parser = argparse.ArgumentParser(prog="python -m labnet", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="size, preview, deploy to the emulator, print outputs, tear down")
    d.add_argument("--stack", default="labnet-demo", help="stack name (default labnet-demo)")
    _sizing_args(d)
    d.add_argument("--engine", default="rehearsal", choices=["auto", "pulumi", "rehearsal"],
                   help="rehearsal (no CLI needed, the default), pulumi (the Automation API), or auto")
    d.add_argument("--diagram", default="", help="also write the hub-and-spoke picture (.png/.svg)")
    d.add_argument("--keep", action="store_true", help="leave the network deployed")
    d.set_defaults(fn=demo)
    p = sub.add_parser("spec", help="size a network and print its spec as JSON")
    _sizing_args(p)
    p.add_argument("--target", default="emulator", choices=["emulator", "aws"],
                   help="size against this target's facts (aws: for `pulumi up` with your credentials)")
    p.set_defaults(fn=spec_cmd)
    q = sub.add_parser("quotas", help="size a network and check it against the account's AWS quotas")
    _sizing_args(q)
    q.add_argument("--target", default="emulator", choices=["emulator", "aws"],
                   help="whose quotas: the emulator's (AWS's defaults) or your AWS account's")
    q.add_argument("--request", action="store_true",
                   help="with --target aws: file an increase in Service Quotas for every quota that does not fit")
    q.set_defaults(fn=quotas_cmd)
    e = sub.add_parser("emulator", help="start, stop or show the embedded AWS emulator")
    e.add_argument("action", choices=["start", "status", "stop", "url"],
                   help="start it (if not running), show its status, stop it, or print its URL alone "
                        "(for --endpoint-url in shell commands)")
    e.set_defaults(fn=emulator_cmd)
    s = sub.add_parser("stacks", help="list the stacks labnet knows and their state")
    s.set_defaults(fn=stacks_cmd)
    x = sub.add_parser("destroy", help="destroy a stack (everything its state owns, nothing else)")
    x.add_argument("stack", help="the stack's name, as `python -m labnet stacks` lists it")
    x.add_argument("--target", default="emulator", choices=["emulator", "aws"], help=TARGET_HELP)
    x.add_argument("--delete-logs", action="store_true", help="delete the flow-log bucket(s) too (kept by default)")
    x.set_defaults(fn=destroy_cmd)
    u = sub.add_parser("unlock", help="break a stale stack lock (explicit request only)")
    u.add_argument("stack", help="the stack's name, as `python -m labnet stacks` lists it")
    u.add_argument("--force", action="store_true",
                   help="also break the lock of a process that is still running (two operations may then collide)")
    u.set_defaults(fn=unlock_cmd)
    lc = sub.add_parser("live-check", help="run the Automation API engine end to end (needs the pulumi CLI); "
                                          "exit 3 when the CLI is absent")
    lc.add_argument("--aws", metavar="REGION", default=None,
                    help="check against your own AWS account in REGION (two small spokes; prints the expected "
                         "cost first; always destroys)")
    lc.add_argument("--yes", action="store_true", help="with --aws: do not ask for confirmation")
    lc.set_defaults(fn=live_check_cmd)
    v = sub.add_parser("verify", help="connectivity matrix of a deployed stack (exit 0: all reachable, 1: any blocked)")
    v.add_argument("stack", help="the deployed stack to read back, as `python -m labnet stacks` lists it "
                   "(with --snapshot: the name shown for the saved snapshot)")
    v.add_argument("--target", default="emulator", choices=["emulator", "aws"], help=TARGET_HELP)
    v.add_argument("--probe", action="append", metavar="PROBE",
                   help="tcp:PORT, udp:PORT or efa; repeat for several (default: tcp:29500, tcp:50000, efa)")
    v.add_argument("--blocked", action="store_true", help="print only the blocked rows")
    v.add_argument("--exposure", action="store_true", help="also print the rules that admit outside traffic")
    v.add_argument("--save-snapshot", metavar="PATH", help="also write what was read to a JSON file (0600)")
    v.add_argument("--snapshot", metavar="PATH", help="analyse a saved snapshot instead of reading the target")
    v.set_defaults(fn=verify_cmd)
    po = sub.add_parser("posture", help="security posture of a deployed stack (exit 1: a control fails)")
    po.add_argument("stack", help="the stack's name, as `python -m labnet stacks` lists it")
    po.set_defaults(fn=posture_cmd)
    au = sub.add_parser("audit", help="Prowler's EC2/VPC/S3 checks against a deployed stack (exit 1: a failure "
                        "not by design; needs make audit-venv)")
    au.add_argument("stack", help="the stack's name, as `python -m labnet stacks` lists it")
    au.add_argument("--prowler", default=None, help="the prowler executable (default: .venv-audit/bin/prowler)")
    au.add_argument("--output", default=None, help="keep Prowler's OCSF report in this folder")
    au.set_defaults(fn=audit_cmd)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from labnet.errors import LabnetError

    try:
        return args.fn(args)
    except LabnetError as exc:
        print(f"labnet: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
