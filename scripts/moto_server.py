"""Starts moto's S3-compatible server on a free loopback port for the proxy's tests.

Prints the address it got ("moto listening on http://127.0.0.1:PORT"), so that no port
is fixed in advance, and serves until SIGTERM or SIGINT. Used by scripts/s3-test.sh.
"""

import logging
import signal
import threading

from moto.server import ThreadedMotoServer


def main() -> None:
    # One line per request would fill the log with thousands of test requests; errors stay.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    print(f"moto listening on http://{host}:{port}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
