#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# A resolver-like UDP client for the test cluster: ONE socket (one source port, as a DNS stub
# resolver keeps) sends a query to IP:PORT every INTERVAL seconds until STOP_FILE exists, and
# appends one line per query to OUT: "<ms since start> ok <echo line>", "<ms> timeout" or
# "<ms> refused" (ICMP port unreachable). Stale conntrack or IPVS entries show up as a run of
# timeouts on the same source port. Only socket/os/sys/time: imports are slow under emulation.
# Usage: udp_client.py IP PORT OUT STOP_FILE [INTERVAL]
import os
import socket
import sys
import time


def main():
    ip, port, out, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    interval = float(sys.argv[5]) if len(sys.argv) > 5 else 0.2
    s = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((ip, port))
    s.settimeout(1.0)
    t0 = time.monotonic()
    with open(out, "a", buffering=1) as f:
        f.write(f"0 start sport={s.getsockname()[1]}\n")
        while not os.path.exists(stop):
            ms = int((time.monotonic() - t0) * 1000)
            try:
                s.send(b"q")
                data = s.recv(2048)
                f.write(f"{ms} ok {data.decode(errors='replace').strip()}\n")
            except socket.timeout:
                f.write(f"{ms} timeout\n")
                continue
            except ConnectionRefusedError:
                f.write(f"{ms} refused\n")
            time.sleep(interval)


if __name__ == "__main__":
    main()
