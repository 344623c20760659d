#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# The test cluster's echo server (one per pod): each TCP port answers any HTTP request with
#   pod=<name> client=<ip>:<port>
# (then closes the connection), each UDP port answers any datagram with the same line, so a test
# sees which pod answered and which source address that pod saw. Each port listens on 0.0.0.0
# and on :: (IPv6-only; an IPv6 client shows as <ipv6>:<port>). Writes READY_FILE once every
# socket is bound. Only socket and selectors: each import costs seconds under TCG emulation.
# Usage: echo.py NAME READY_FILE [tcp:PORT|udp:PORT]...
import os
import selectors
import socket
import sys


def line(name, addr):
    return f"pod={name} client={addr[0]}:{addr[1]}\n".encode()


def listener(family, host, kind, port):
    """A non-blocking TCP or UDP socket bound to host:port; an IPv6 one is IPv6-only (the
    IPv4 socket keeps IPv4 clients' plain addresses). None when the kernel has no IPv6."""
    try:
        s = socket.socket(family, socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
    except OSError:
        if family == socket.AF_INET6:
            return None
        raise
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    if kind == "tcp":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    if kind == "tcp":
        s.listen(128)
    s.setblocking(False)
    return s


def main():
    name, ready = sys.argv[1], sys.argv[2]
    sel = selectors.DefaultSelector()
    for spec in sys.argv[3:]:
        kind, port = spec.split(":")
        for family, host in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
            s = listener(family, host, kind, int(port))
            if s:
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
