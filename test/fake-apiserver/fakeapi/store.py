# SPDX-License-Identifier: Apache-2.0
"""Object storage with etcd-like revisions, event history and watchers.

One global resourceVersion (like an etcd revision) increases on every
change and is stamped on the changed object. Every change is kept in an
event history until compacted; the history both replays watches from an
old resourceVersion and rebuilds the state at an older revision, which is
what consistent paging (continue tokens) and Exact LISTs need. Objects are
ordered by their etcd-style key, "namespace/name" (or "name" when
cluster-scoped). All methods are thread-safe; watchers get events on a
queue filled under the store lock, so a watch never misses or reorders one.
"""
from __future__ import annotations

import copy
import dataclasses
import datetime
import queue
import threading
import uuid
from typing import Any, Optional

from .resources import RESOURCES, Resource

Obj = dict[str, Any]

# Fields that never take part in "did the object change?" or generation.
_VOLATILE_META = ("resourceVersion", "managedFields", "generation", "uid", "creationTimestamp")


def object_key(resource: Resource, namespace: Optional[str], name: str) -> str:
    """The etcd-style sort key: "namespace/name", or "name" when cluster-scoped."""
    return f"{namespace}/{name}" if resource.namespaced else name


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclasses.dataclass
class Event:
    """One change: obj is the new state (for DELETED, the last state)."""
    type: str  # ADDED, MODIFIED, DELETED
    rv: int
    resource: Resource
    key: str
    obj: Obj
    old: Optional[Obj]  # the previous state, None for ADDED


class Watcher:
    """A subscription to one resource's events. None on the queue means "end"."""

    def __init__(self, resource: Resource) -> None:
        self.resource = resource
        self.queue: "queue.Queue[Optional[Event]]" = queue.Queue()


class ExpiredError(Exception):
    """The requested resourceVersion is older than the compaction point."""

    def __init__(self, requested: int, oldest: int) -> None:
        super().__init__(f"resourceVersion {requested} is older than {oldest}")
        self.requested = requested
        self.oldest = oldest


class TooLargeError(Exception):
    """The requested resourceVersion is newer than the current one."""

    def __init__(self, requested: int, current: int) -> None:
        super().__init__(f"Too large resource version: {requested}, current: {current}")
        self.requested = requested
        self.current = current


class ObjectError(ValueError):
    """An object given to put() is malformed (no kind, unknown kind, no name)."""


def _comparable(obj: Obj) -> Obj:
    """The object without fields the server owns, to detect no-op updates."""
    out = copy.deepcopy(obj)
    meta = out.get("metadata") or {}
    for f in _VOLATILE_META:
        meta.pop(f, None)
    return out


def _spec_part(obj: Obj) -> Obj:
    """Everything but metadata and status: a change here bumps generation."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "kind", "apiVersion")}


class Store:
    """The objects of all served resources, their history and their watchers."""

    def __init__(self, start_rv: int = 100) -> None:
        self.lock = threading.RLock()
        self.rv = start_rv
        self.compacted = start_rv  # the oldest revision still readable
        self.objects: dict[Resource, dict[str, Obj]] = {r: {} for r in RESOURCES}
        self.history: list[Event] = []
        self.watchers: set[Watcher] = set()

    # -- writes ---------------------------------------------------------

    def put(self, obj: Obj) -> tuple[Obj, str]:
        """Create or update an object; returns (stored copy, "created"|"updated"|"unchanged")."""
        from .resources import resource_for
        if not isinstance(obj, dict) or not isinstance(obj.get("kind"), str):
            raise ObjectError("object has no kind")
        res = resource_for(obj["kind"])
        if res is None or res.kind != obj["kind"]:
            raise ObjectError(f"kind {obj['kind']!r} is not served (Service, EndpointSlice, Node)")
        new = {"kind": res.kind, "apiVersion": res.api_version}
        new.update((k, copy.deepcopy(v)) for k, v in obj.items() if k not in new)
        meta = new.setdefault("metadata", {})
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
            raise ObjectError(f"{res.kind} has no metadata.name")
        if res.namespaced:
            meta.setdefault("namespace", "default")
            if not isinstance(meta["namespace"], str) or not meta["namespace"]:
                raise ObjectError(f"{res.kind} {meta['name']} has an empty metadata.namespace")
        else:
            meta.pop("namespace", None)
        key = object_key(res, meta.get("namespace"), meta["name"])
        with self.lock:
            old = self.objects[res].get(key)
            if old is not None:
                if _comparable(old) == _comparable(new):
                    return copy.deepcopy(old), "unchanged"
                ometa = old["metadata"]
                meta["uid"] = ometa["uid"]
                meta["creationTimestamp"] = ometa["creationTimestamp"]
                gen = ometa.get("generation", 1)
                meta["generation"] = gen + 1 if _spec_part(old) != _spec_part(new) else gen
            else:
                meta.setdefault("uid", str(uuid.uuid4()))
                meta.setdefault("creationTimestamp", now_rfc3339())
                meta["generation"] = 1
            meta.pop("managedFields", None)
            self.rv += 1
            meta["resourceVersion"] = str(self.rv)
            self.objects[res][key] = new
            etype = "ADDED" if old is None else "MODIFIED"
            self._publish(Event(etype, self.rv, res, key, copy.deepcopy(new), old))
            return copy.deepcopy(new), "created" if old is None else "updated"

    def delete(self, res: Resource, namespace: Optional[str], name: str) -> Optional[Obj]:
        """Delete an object; returns its last state (with the deletion RV) or None."""
        key = object_key(res, namespace, name)
        with self.lock:
            old = self.objects[res].pop(key, None)
            if old is None:
                return None
            self.rv += 1
            gone = copy.deepcopy(old)
            gone["metadata"]["resourceVersion"] = str(self.rv)
            self._publish(Event("DELETED", self.rv, res, key, gone, old))
            return copy.deepcopy(gone)

    def _publish(self, ev: Event) -> None:
        self.history.append(ev)
        for w in self.watchers:
            if w.resource is ev.resource:
                w.queue.put(ev)

    def compact(self, to_rv: Optional[int] = None) -> int:
        """Drop history up to to_rv (default: now). Returns the compaction point.

        Without to_rv the revision first moves on by one, as the real API
        server's compactor writes its own key before compacting: every
        resourceVersion handed out before the call is then too old.
        """
        with self.lock:
            if to_rv is None:
                self.rv += 1
                to_rv = self.rv
            to_rv = max(self.compacted, min(to_rv, self.rv))
            self.compacted = to_rv
            self.history = [e for e in self.history if e.rv > to_rv]
            return to_rv

    def reset(self) -> None:
        """Forget every object and all history, end every watch. RVs stay monotonic."""
        with self.lock:
            for w in self.watchers:
                w.queue.put(None)
            self.watchers.clear()
            for objs in self.objects.values():
                objs.clear()
            self.history.clear()
            self.rv += 1
            self.compacted = self.rv

    def close_watches(self, res: Optional[Resource] = None) -> int:
        """End the watches (of one resource, or all) cleanly; returns how many."""
        with self.lock:
            n = 0
            for w in list(self.watchers):
                if res is None or w.resource is res:
                    w.queue.put(None)
                    self.watchers.discard(w)
                    n += 1
            return n

    # -- reads ----------------------------------------------------------

    def lagging_rv(self, lag: int) -> int:
        """The revision a watch cache that is `lag` revisions behind serves (never compacted)."""
        with self.lock:
            return max(self.compacted, self.rv - lag)

    def current_rv(self) -> int:
        with self.lock:
            return self.rv

    def snapshot(self, res: Resource, at_rv: Optional[int] = None) -> tuple[int, list[tuple[str, Obj]]]:
        """(rv, sorted [(key, obj)]) of one resource, now or at an older revision.

        The objects are the stored ones, not copies: callers must not change
        them (the store itself never changes a stored object in place).

        Raises ExpiredError when at_rv was compacted, TooLargeError when it
        is in the future.
        """
        with self.lock:
            if at_rv is None or at_rv == self.rv:
                items = dict(self.objects[res])
                rv = self.rv
            else:
                if at_rv > self.rv:
                    raise TooLargeError(at_rv, self.rv)
                if at_rv < self.compacted:
                    raise ExpiredError(at_rv, self.compacted)
                items = dict(self.objects[res])
                for ev in reversed(self.history):
                    if ev.rv <= at_rv:
                        break
                    if ev.resource is not res:
                        continue
                    if ev.old is None:
                        items.pop(ev.key, None)
                    else:
                        items[ev.key] = ev.old
                rv = at_rv
            return rv, [(k, items[k]) for k in sorted(items)]

    def get(self, res: Resource, namespace: Optional[str], name: str) -> Optional[Obj]:
        with self.lock:
            obj = self.objects[res].get(object_key(res, namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def all_objects(self) -> tuple[int, int, list[Obj]]:
        """(rv, compaction point, every object) for the control API."""
        with self.lock:
            out = []
            for res in RESOURCES:
                out.extend(copy.deepcopy(self.objects[res][k]) for k in sorted(self.objects[res]))
            return self.rv, self.compacted, out

    # -- watches --------------------------------------------------------

    def watch(self, res: Resource, from_rv: Optional[int]) -> tuple[Watcher, list[Obj], list[Event]]:
        """Subscribe to a resource: (watcher, initial objects, replayed events).

        from_rv None: the initial objects are the current state (sent as
        synthetic ADDED events) and nothing is replayed. from_rv R: every
        event after R is replayed; ExpiredError when R is before the
        compaction point.
        """
        w = Watcher(res)
        with self.lock:
            if from_rv is None:
                initial = [copy.deepcopy(self.objects[res][k]) for k in sorted(self.objects[res])]
                replay: list[Event] = []
            else:
                if from_rv < self.compacted:
                    raise ExpiredError(from_rv, self.compacted)
                initial = []
                replay = [e for e in self.history if e.rv > from_rv and e.resource is res]
            self.watchers.add(w)
            return w, initial, replay

    def unwatch(self, w: Watcher) -> None:
        with self.lock:
            self.watchers.discard(w)

    def idle_rv(self, w: Watcher) -> Optional[int]:
        """The current RV if the watcher has been handed every event, else None.

        A bookmark may only carry an RV the watcher has fully seen.
        """
        with self.lock:
            return self.rv if w.queue.empty() else None
