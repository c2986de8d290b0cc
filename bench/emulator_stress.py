"""Stress: many EC2 calls in flight at once against moto, with and without labnet's one-request-at-a-time
server (labnet/emulator/server.py), counting the calls the server failed (HTTP 5xx or a body that is
not EC2's XML).

The mix is what crashed moto before (BENCHMARKS.md, finding D): concurrent CreateRoute on one route
table, whose validation iterates the table's routes while the other threads insert into them, and
DescribeRouteTables walking the same routes.

    .venv/bin/python bench/emulator_stress.py              # 8 threads × 150 rounds, both servers (~3 min)
    .venv/bin/python bench/emulator_stress.py --threads 16 --rounds 300
"""

from __future__ import annotations

import argparse
import ipaddress
import threading
import time
from typing import Any

from _common import emulator

REGION = "us-east-1"


def hammer(url: str, threads: int, rounds: int) -> dict[str, Any]:
    """Run the mix from ``threads`` threads, ``rounds`` times each, on one new route table; count failures."""
    from botocore.exceptions import ClientError

    from labnet.emulator import Emulator

    ec2 = Emulator(url=url).client("ec2", REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    tgw = ec2.create_transit_gateway()["TransitGateway"]["TransitGatewayId"]
    dests = iter(ipaddress.IPv4Network("172.16.0.0/12").subnets(new_prefix=28))
    take = threading.Lock()
    failures: list[str] = []
    calls = [0]

    def work() -> None:
        for _ in range(rounds):
            with take:
                dest = str(next(dests))
            # CreateRoute validates its destination by iterating the table's routes while other
            # threads' CreateRoute insert into them; DescribeRouteTables walks them too.
            for step in (lambda: ec2.create_route(RouteTableId=rt, DestinationCidrBlock=dest, TransitGatewayId=tgw),
                         lambda: ec2.describe_route_tables(RouteTableIds=[rt])):
                try:
                    step()
                except ClientError as exc:  # an EC2 error the emulator meant to send is not a failure
                    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
                    if status >= 500:
                        failures.append(f"HTTP {status}")
                except Exception as exc:  # noqa: BLE001 a 500 with an HTML body, a dropped connection
                    failures.append(type(exc).__name__)
                with take:
                    calls[0] += 1

    t0 = time.perf_counter()
    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return {"calls": calls[0], "failures": len(failures), "kinds": sorted(set(failures)),
            "seconds": time.perf_counter() - t0}


def plain_moto():
    """moto's own ThreadedMotoServer in this process (one thread per connection, no lock)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=150)
    args = ap.parse_args()
    server, url = plain_moto()
    try:
        plain = hammer(url, args.threads, args.rounds)
    finally:
        server.stop()
    print(f"moto ThreadedMotoServer:     {plain['calls']} calls from {args.threads} threads in {plain['seconds']:.1f}s, "
          f"{plain['failures']} failed {plain['kinds']}", flush=True)
    with emulator() as url:
        from labnet.emulator import serializes

        ours = hammer(url, args.threads, args.rounds)
        print(f"labnet's emulator server:    {ours['calls']} calls from {args.threads} threads in {ours['seconds']:.1f}s, "
              f"{ours['failures']} failed {ours['kinds']} (one request at a time: {serializes(url)})")


if __name__ == "__main__":
    main()
