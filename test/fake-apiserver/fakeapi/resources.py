# SPDX-License-Identifier: Apache-2.0
"""The resources the fake serves and how their URLs map to them.

Each resource has a kind, a plural (the URL segment), an API group/version
and a scope. parse_api_path() turns a request path into a ResourceRequest;
resource_for() finds a resource by kind or plural (the control API accepts
either).
"""
from __future__ import annotations

import dataclasses
from typing import Optional


@dataclasses.dataclass(frozen=True)
class Resource:
    kind: str
    plural: str
    group: str  # "" for the core group
    version: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def prefix(self) -> str:
        """URL prefix of the group/version: /api/v1 or /apis/<group>/<version>."""
        if self.group:
            return f"/apis/{self.group}/{self.version}"
        return f"/api/{self.version}"


SERVICES = Resource("Service", "services", "", "v1", True)
ENDPOINTSLICES = Resource("EndpointSlice", "endpointslices", "discovery.k8s.io", "v1", True)
NODES = Resource("Node", "nodes", "", "v1", False)

RESOURCES: tuple[Resource, ...] = (SERVICES, ENDPOINTSLICES, NODES)


def resource_for(name: str) -> Optional[Resource]:
    """Find a resource by kind ("Service") or plural ("services"), any case."""
    low = name.lower()
    for res in RESOURCES:
        if low in (res.kind.lower(), res.plural):
            return res
    return None


@dataclasses.dataclass
class ResourceRequest:
    resource: Resource
    namespace: Optional[str]  # None: all namespaces (or cluster-scoped)
    name: Optional[str]  # None: a collection
    legacy_watch: bool  # the path had the deprecated /watch/ segment


def parse_api_path(path: str) -> Optional[ResourceRequest]:
    """Map /api/v1/namespaces/ns/services/name (and friends) to a request.

    Returns None when the path names no served resource (the caller answers
    404). Sub-resources (/status, /proxy) are not served.
    """
    for res in RESOURCES:
        if not path.startswith(res.prefix + "/"):
            continue
        segs = [s for s in path[len(res.prefix) + 1:].split("/")]
        if any(s == "" for s in segs):
            return None
        legacy_watch = False
        if segs and segs[0] == "watch":
            legacy_watch = True
            segs = segs[1:]
        namespace: Optional[str] = None
        if res.namespaced and len(segs) >= 2 and segs[0] == "namespaces":
            namespace = segs[1]
            segs = segs[2:]
        if not segs or segs[0] != res.plural:
            continue
        segs = segs[1:]
        if len(segs) > 1:
            return None
        name = segs[0] if segs else None
        if name is not None and res.namespaced and namespace is None:
            return None  # /api/v1/services/foo is not a URL the real server serves
        return ResourceRequest(res, namespace, name, legacy_watch)
    return None
