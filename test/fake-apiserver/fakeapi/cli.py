# SPDX-License-Identifier: Apache-2.0
"""The fake-apiserver command: parse flags, start, report readiness, wait for a signal.

Once both ports are bound it prints one JSON line (ports, URLs, paths of the
CA, certificates and kubeconfigs) on stdout and, with --ready-file, writes the
same JSON to that file atomically, so a test can start it on port 0 and
read the chosen ports. SIGTERM or SIGINT stops it cleanly (exit status 0).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from typing import Optional

from .control import _BadRequest, load_objects
from .server import FakeAPIServer


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="fake-apiserver",
                                description="A fake Kubernetes API server for kipvs tests.")
    p.add_argument("--address", default="127.0.0.1", help="API listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="API port (default 0: any free port)")
    p.add_argument("--control-address", default="127.0.0.1", help="control API listen address")
    p.add_argument("--control-port", type=int, default=0, help="control API port (default 0)")
    p.add_argument("--dir", help="where to write the CA, certificates and kubeconfigs "
                                 "(default: a new temporary directory)")
    p.add_argument("--token", default="fake-token", help="the accepted bearer token")
    p.add_argument("--plain-http", action="store_true", help="serve plain HTTP instead of HTTPS")
    p.add_argument("--bookmark-interval", type=float, default=1.0,
                   help="seconds between BOOKMARK events (default 1)")
    p.add_argument("--san", action="append", default=[], metavar="IP_OR_NAME",
                   help="an extra subjectAltName for the serving certificate (repeatable)")
    p.add_argument("--load", action="append", default=[], metavar="FILE.json",
                   help="create the objects of a JSON List (or one object) at start (repeatable)")
    p.add_argument("--ready-file", help="also write the readiness JSON to this file")
    p.add_argument("--verbose", action="store_true", help="log every request on stderr")
    args = p.parse_args(argv)
    if args.bookmark_interval <= 0:
        p.error("--bookmark-interval must be > 0")
    return args


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    fake = FakeAPIServer(address=args.address, port=args.port,
                         control_address=args.control_address, control_port=args.control_port,
                         dir=args.dir, token=args.token, plain_http=args.plain_http,
                         bookmark_interval=args.bookmark_interval, extra_sans=args.san,
                         verbose=args.verbose)
    for path in args.load:
        try:
            with open(path) as fh:
                load_objects(fake, json.load(fh))
        except (OSError, ValueError, _BadRequest) as exc:
            print(f"fake-apiserver: --load {path}: {exc}", file=sys.stderr)
            return 2
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    try:
        info = fake.start()
    except Exception as exc:  # bind or openssl failure: one clear line, non-zero exit
        print(f"fake-apiserver: cannot start: {exc}", file=sys.stderr)
        return 1
    line = json.dumps(info)
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as fh:
            fh.write(line + "\n")
        os.replace(tmp, args.ready_file)
    print(line, flush=True)
    while not done.wait(0.5):
        pass
    fake.stop()
    return 0
