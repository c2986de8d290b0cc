"""Entry point of the emulator process: moto's server on 127.0.0.1, on a port the OS picks.

Started by :func:`labnet.emulator.start` as its own session so it outlives the notebook kernel that
started it. Writes ``{"port", "pid"}`` to the ready file once it listens; logs only warnings.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading


def main(ready_file: str) -> None:
    logging.basicConfig(level=logging.WARNING)
    for name in ("werkzeug", "moto", "botocore"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    tmp = ready_file + ".tmp"
    with open(tmp, "w") as fh:
        json.dump({"host": host, "port": port, "pid": os.getpid()}, fh)
    os.replace(tmp, ready_file)

    # moto builds its EC2 backend (instance types, AMIs) on the first request, about 1.4 s:
    # pay it now, while the caller goes on, rather than inside the first sizing call.
    def warm() -> None:
        try:
            from moto.ec2.models import ec2_backends

            ec2_backends["123456789012"]["us-east-1"].describe_availability_zones()
        except Exception:  # noqa: BLE001 warming is an optimisation only
            pass

    threading.Thread(target=warm, daemon=True).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main(sys.argv[1])
