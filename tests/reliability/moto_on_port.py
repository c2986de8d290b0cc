"""A moto server on 127.0.0.1 at a port the caller chooses (0: any free port), for tests that stop,
freeze or restart the emulator. Same behaviour as ``labnet._emulator_server``, plus a fixed port so a
restarted emulator comes back at the same address.

    python -m tests.reliability.moto_on_port READY_FILE PORT
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading


def main(ready_file: str, port: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    for name in ("werkzeug", "moto", "botocore"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    from moto.ec2.models import ec2_backends

    ec2_backends["123456789012"]["us-east-1"].describe_availability_zones()  # warm up before "ready"
    with open(ready_file + ".tmp", "w") as fh:
        json.dump({"host": host, "port": bound, "pid": os.getpid()}, fh)
    os.replace(ready_file + ".tmp", ready_file)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
