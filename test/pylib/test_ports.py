"""A TCP port for a test server to listen on, chosen so that it cannot be taken from under it.

Asking the kernel for port 0 and closing the socket hands out a port from the ephemeral range,
which the kernel gives to the very next process that binds port 0 or connects out; with the
suites running in parallel that process is often another test's server (a CI run once answered a
health-check request from someone else's server). Ports below the ephemeral range are never
handed out that way, so a random one that is free now stays free unless another test draws the
same number.
"""

import errno
import random
import socket


def _ephemeral_floor():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _free_everywhere(port):
    for family, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        try:
            with socket.socket(family, socket.SOCK_STREAM) as s:
                if family == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s.bind((addr, port))
        except OSError as e:
            if family == socket.AF_INET6 and e.errno == errno.EAFNOSUPPORT:  # no IPv6 on this host
                continue
            return False
    return True


def free_port():
    top = _ephemeral_floor()
    for _ in range(200):
        port = random.randrange(10000, top)
        if _free_everywhere(port):
            return port
    raise RuntimeError("no free TCP port below %d" % top)
