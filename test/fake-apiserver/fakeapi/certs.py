# SPDX-License-Identifier: Apache-2.0
"""A throwaway PKI made with the openssl command, and kubeconfigs that use it.

generate() writes into a directory: ca.crt/ca.key (one CA that signs both
the serving certificate and the client certificates, so it is also the
server's client CA), server.crt/server.key (SANs: 127.0.0.1, ::1,
localhost, kubernetes.default.svc and any extra IPs or names), client.crt/
client.key (CN system:kube-proxy, O system:node-proxier). Keys are EC P-256
so generation takes milliseconds. write_kubeconfigs() writes the token and
client-certificate variants, with the CA inline and with file paths.
"""
from __future__ import annotations

import base64
import dataclasses
import ipaddress
import json
import os
import secrets
import subprocess
from typing import Optional

_CONF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = {sans}
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""
_EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


class CertError(RuntimeError):
    """openssl failed; the message carries its stderr."""


@dataclasses.dataclass
class Pki:
    dir: str
    ca_crt: str
    ca_key: str
    server_crt: str
    server_key: str
    client_crt: str
    client_key: str


def _openssl(args: list[str], cwd: str) -> None:
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise CertError(f"openssl {args[0]} failed: {proc.stderr.strip()}")


def _sans(extra: list[str]) -> str:
    names = ["IP:127.0.0.1", "IP:::1", "DNS:localhost", "DNS:kubernetes",
             "DNS:kubernetes.default", "DNS:kubernetes.default.svc"]
    for item in extra:
        try:
            ipaddress.ip_address(item)
            entry = "IP:" + item
        except ValueError:
            entry = "DNS:" + item
        if entry not in names:
            names.append(entry)
    return ",".join(names)


def _conf(dir: str, extra_sans: list[str]) -> str:
    path = os.path.join(dir, "openssl.cnf")
    with open(path, "w") as fh:
        fh.write(_CONF.format(sans=_sans(extra_sans)))
    return path


def make_ca(dir: str, name: str = "ca", cn: str = "fake-apiserver-ca") -> tuple[str, str]:
    """A self-signed CA: returns (crt path, key path)."""
    os.makedirs(dir, exist_ok=True)
    conf = _conf(dir, [])
    crt, key = os.path.join(dir, name + ".crt"), os.path.join(dir, name + ".key")
    _openssl(["req", "-x509", "-new", *_EC, "-keyout", key, "-out", crt, "-days", "3650",
              "-config", conf, "-extensions", "ca", "-subj", "/CN=" + cn], dir)
    os.chmod(key, 0o600)
    return crt, key


def issue(dir: str, ca: tuple[str, str], name: str, subject: str, profile: str,
          extra_sans: Optional[list[str]] = None) -> tuple[str, str]:
    """A leaf certificate signed by ca for profile "server" or "client": (crt, key)."""
    conf = _conf(dir, extra_sans or [])
    crt, key = os.path.join(dir, name + ".crt"), os.path.join(dir, name + ".key")
    csr = os.path.join(dir, name + ".csr")
    _openssl(["req", "-new", *_EC, "-keyout", key, "-out", csr, "-config", conf,
              "-subj", subject], dir)
    _openssl(["x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1],
              "-set_serial", "0x" + secrets.token_hex(16), "-days", "825",
              "-extfile", conf, "-extensions", profile, "-out", crt], dir)
    os.unlink(csr)
    os.chmod(key, 0o600)
    return crt, key


def generate(dir: str, extra_sans: Optional[list[str]] = None) -> Pki:
    """The CA, the serving certificate and a client certificate, in dir."""
    ca = make_ca(dir)
    server = issue(dir, ca, "server", "/CN=kube-apiserver", "server", extra_sans)
    client = issue(dir, ca, "client", "/O=system:node-proxier/CN=system:kube-proxy", "client")
    return Pki(dir, ca[0], ca[1], server[0], server[1], client[0], client[1])


def _b64(path: str) -> str:
    with open(path, "rb") as fh:
        return base64.b64encode(fh.read()).decode()


def _kubeconfig(server: str, cluster: dict[str, str], user: dict[str, str]) -> str:
    q = json.dumps  # a JSON string is a valid YAML double-quoted scalar
    lines = ["apiVersion: v1", "kind: Config", "clusters:", "- name: fake", "  cluster:",
             f"    server: {q(server)}"]
    lines += [f"    {k}: {q(v)}" for k, v in cluster.items()]
    lines += ["users:", "- name: fake-user", "  user:"]
    lines += [f"    {k}: {q(v)}" for k, v in user.items()] or ["    {}"]
    lines += ["contexts:", "- name: fake", "  context:", "    cluster: fake",
              "    user: fake-user", "    namespace: default", "current-context: fake",
              "preferences: {}", ""]
    return "\n".join(lines)


def write_kubeconfigs(dir: str, server: str, pki: Pki, token: str, tls: bool) -> dict[str, str]:
    """Write the kubeconfig variants and the token file; returns {variant: path}."""
    token_file = os.path.join(dir, "token")
    with open(token_file, "w") as fh:
        fh.write(token + "\n")
    inline_ca = {"certificate-authority-data": _b64(pki.ca_crt)} if tls else {}
    file_ca = {"certificate-authority": pki.ca_crt} if tls else {}
    variants = {
        "token": (inline_ca, {"token": token}),
        "tokenfile": (file_ca, {"tokenFile": token_file}),
    }
    if tls:
        variants["cert"] = (inline_ca, {"client-certificate-data": _b64(pki.client_crt),
                                        "client-key-data": _b64(pki.client_key)})
        variants["certfiles"] = (file_ca, {"client-certificate": pki.client_crt,
                                           "client-key": pki.client_key})
    out = {}
    for name, (cluster, user) in variants.items():
        path = os.path.join(dir, f"kubeconfig-{name}.yaml")
        with open(path, "w") as fh:
            fh.write(_kubeconfig(server, cluster, user))
        os.chmod(path, 0o600)
        out[name] = path
    return out
