#!/usr/bin/env python3
"""gantry sandbox: an emulated AWS account on 127.0.0.1 (moto + behaviour layer).

Usage: python sandbox/server.py --port <P> [--host 127.0.0.1]
           [--rollout-seconds 6] [--snapshot-seconds 3] [--task-seconds 2] [--quiet]
           [--registries FILE]

Prints `GANTRY_SANDBOX_READY port=<P> pid=<PID>` on stdout when ready; see SPEC.md.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import os
import signal
import socket
import sys
import threading
from types import FrameType

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

EXIT_PORT_IN_USE = 3


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="gantry-sandbox", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True, help="port to listen on; 0 picks a free one")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--rollout-seconds", type=float, default=6.0)
    parser.add_argument("--snapshot-seconds", type=float, default=3.0)
    parser.add_argument("--task-seconds", type=float, default=2.0)
    parser.add_argument("--quiet", action="store_true", help="no per-request log lines")
    parser.add_argument("--registries", metavar="FILE",
                        help="the OCI registries gantry started beside the server (JSON; SPEC R27)")
    args = parser.parse_args(argv)
    try:
        loopback = ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        parser.error(f"--host must be a loopback address such as 127.0.0.1, not {args.host!r}")
    if not 0 <= args.port <= 65535:
        parser.error("--port must be between 0 and 65535")
    for name in ("rollout_seconds", "snapshot_seconds", "task_seconds"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be > 0")
    return args


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ready_out = sys.stdout
    sys.stdout = sys.stderr  # stdout carries only the READY line, whatever moto prints

    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(f"gantry-sandbox: port {args.port} is in use on {args.host}; "
                  "choose another with --port or stop the other process", file=sys.stderr, flush=True)
            return EXIT_PORT_IN_USE
        print(f"gantry-sandbox: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr, flush=True)
        return 1
    port = int(sock.getsockname()[1])

    from werkzeug.serving import make_server
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    from gantry_sandbox.app import SandboxApp
    from gantry_sandbox.registry import Registries
    from gantry_sandbox.state import Speeds

    try:
        registries = Registries(args.registries)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"gantry-sandbox: cannot read --registries {args.registries}: {exc}", file=sys.stderr, flush=True)
        return 1

    class RequestHandler(MotoRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass  # SandboxApp logs one terse line per request

    app = SandboxApp(Speeds(args.rollout_seconds, args.snapshot_seconds, args.task_seconds),
                     args.host, port, quiet=args.quiet, registries=registries)
    server = make_server(args.host, port, app, threaded=True, request_handler=RequestHandler, fd=sock.fileno())
    sock.close()  # the server holds its own duplicate of the listening socket

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                               name="gantry-sandbox", daemon=True)
    serving.start()
    print(f"GANTRY_SANDBOX_READY port={port} pid={os.getpid()}", file=ready_out, flush=True)

    while not stop.wait(0.1):
        pass
    print("gantry-sandbox: shutting down", file=sys.stderr, flush=True)
    server.shutdown()
    serving.join(timeout=2)
    app.close()
    # Everything is closed; skip the slow interpreter teardown of moto's many modules.
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
