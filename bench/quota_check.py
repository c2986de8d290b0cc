"""Quota preflight cost: ``labnet.quotas(spec)`` against the number of spokes, split into its parts
(running the program under the SDK's mock monitor, reading the account: Service Quotas + describe
calls, the pure comparison), and what the check adds to ``Lab.up()`` on the emulator.

    .venv/bin/python bench/quota_check.py [--spokes 3 8 32] [--up-spokes 8] [--reps 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from _common import emulator, fresh_home, median_time, quiet, reset, spec_for


def parts(url: str, n: int, reps: int) -> dict:
    from labnet.analysis import declared, quota_report
    from labnet.emulator import targets
    from labnet.facts import account
    from labnet.declare import declare
    from labnet.analysis import quotas as analysis

    reset(url)
    spec = spec_for(n)
    target = targets.resolve("emulator", spec.region)
    data = account.quota_data()
    t0 = time.perf_counter()
    found = declare(spec, f"bench-{n}").resources
    program_s = time.perf_counter() - t0
    count_s, _ = median_time(lambda: declared.count(found, data["nau_units"],
                                                    data["aws_prefix_list_weights"]["weights"]), reps)
    ec2, sq = target.ec2(), target.client("service-quotas")
    read_s, _ = median_time(lambda: (account.usage(ec2), account.applied_quotas(sq, data["quotas"].keys())), reps)
    whole_s, _ = median_time(lambda: analysis.table(quota_report.check(spec, target, stack=f"bench-{n}", ec2=ec2)),
                             reps)  # the program run is cached per spec from here on
    return {"spokes": n, "resources": len(found), "program_s": program_s, "count_s": count_s, "read_s": read_s,
            "cached_check_s": whole_s}


def up_overhead(url: str, n: int, reps: int) -> dict:
    import labnet
    from labnet.analysis import declared

    def one(check: bool) -> float:
        declared._CACHE.clear()  # a first up in a process: the check runs the program once itself
        reset(url)
        fresh_home()
        lab = labnet.Lab(f"bench-quota-{n}", spec_for(n), engine="rehearsal", progress=quiet)
        t0 = time.perf_counter()
        lab.up(check_quotas=check)
        took = time.perf_counter() - t0
        lab.destroy()
        return took

    one(True)  # warm: the emulator's EC2 backend and pulumi_aws imports
    times: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(reps):  # interleaved, so a shared machine's load falls on both alike
        for check in (True, False):
            times[check].append(one(check))
    with_check, without = statistics.median(times[True]), statistics.median(times[False])
    return {"spokes": n, "up_with_check_s": with_check, "up_without_check_s": without,
            "overhead": with_check / without - 1}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spokes", type=int, nargs="*", default=[3, 8, 32])
    ap.add_argument("--up-spokes", type=int, default=8)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    with emulator() as url:
        print("spokes  resources  program run  count    account read  whole check (program cached)")
        for n in args.spokes:
            r = parts(url, n, args.reps)
            print(f"{r['spokes']:6d}  {r['resources']:9d}  {r['program_s']:9.2f} s  {r['count_s'] * 1000:5.1f} ms"
                  f"  {r['read_s']:10.2f} s  {r['cached_check_s']:8.2f} s")
        if args.up_spokes:
            r = up_overhead(url, args.up_spokes, args.reps)
            print(f"Lab.up() of {r['spokes']} spokes on the emulator: {r['up_with_check_s']:.2f} s with the quota "
                  f"check, {r['up_without_check_s']:.2f} s without (+{r['overhead'] * 100:.0f} %)")


if __name__ == "__main__":
    main()
