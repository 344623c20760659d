#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# The test cluster's echo server (one per pod): each TCP port answers any HTTP request with
#   pod=<name> client=<ip>:<port>
# (then closes the connection), each UDP port answers any datagram with the same line, so a test
# sees which pod answered and which source address that pod saw. Writes READY_FILE once every
# socket is bound. Only socket and selectors: each import costs seconds under TCG emulation.
# Usage: echo.py NAME READY_FILE [tcp:PORT|udp:PORT]...
import os
import selectors
import socket
import sys


def line(name, addr):
    return f"pod={name} client={addr[0]}:{addr[1]}\n".encode()


def main():
    name, ready = sys.argv[1], sys.argv[2]
    sel = selectors.DefaultSelector()
    for spec in sys.argv[3:]:
        kind, port = spec.split(":")
        if kind == "tcp":
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", int(port)))
            s.listen(128)
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("0.0.0.0", int(port)))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, ("listen", kind))
    with open(ready + ".tmp", "w") as f:
        f.write(f"{os.getpid()}\n")
    os.rename(ready + ".tmp", ready)
    pending = {}  # TCP connection -> (peer, bytes read so far)
    while True:
        for key, _ in sel.select():
            s, (role, kind) = key.fileobj, key.data
            try:
                if role == "listen" and kind == "udp":
                    data, peer = s.recvfrom(4096)
                    s.sendto(line(name, peer), peer)
                elif role == "listen":
                    c, peer = s.accept()
                    c.setblocking(False)
                    pending[c] = (peer, b"")
                    sel.register(c, selectors.EVENT_READ, ("conn", "tcp"))
                else:
                    peer, buf = pending[s]
                    data = s.recv(4096)
                    buf += data
                    if data and b"\r\n\r\n" not in buf and len(buf) < 65536:
                        pending[s] = (peer, buf)
                        continue
                    body = line(name, peer)
                    if data:
                        s.setblocking(True)
                        s.settimeout(2)
                        s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                  b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
                                  + body)
                    sel.unregister(s)
                    del pending[s]
                    s.close()
            except OSError:
                if role == "conn":
                    sel.unregister(s)
                    pending.pop(s, None)
                    s.close()


if __name__ == "__main__":
    main()
