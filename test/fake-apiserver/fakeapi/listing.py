# SPDX-License-Identifier: Apache-2.0
"""LIST semantics: resourceVersion / resourceVersionMatch, limit and continue.

Follows the Kubernetes API conventions (the "Resource versions" page of the
API concepts): unset resourceVersion = most recent; "0" = any, served as
from the watch cache, where limit is ignored; "N" = not older than N, or
exactly N when resourceVersionMatch=Exact or when limit is set without a
match (the legacy rule). Paging is a consistent snapshot at the first
page's revision; the continue token encodes that revision and the next key.
"""
from __future__ import annotations

import base64
import json
from typing import Any, Optional

from . import status
from .resources import Resource
from .selector import FieldSelector, LabelSelector
from .store import ExpiredError, Obj, Store, TooLargeError


class ApiError(Exception):
    """An error answered with a Status body."""

    def __init__(self, code: int, message: str, reason: Optional[str] = None,
                 details: Optional[dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.body = status.status_body(code, message, reason, details)
        self.code = code


def encode_continue(rv: int, last_key: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": last_key + "\x00"},
                     separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    """(rv, start key) from a continue token; ApiError 400 if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        if data.get("v") != "meta.k8s.io/v1":
            raise ValueError("unknown version")
        rv, start = data["rv"], data["start"]
        if not isinstance(rv, int) or not isinstance(start, str) or rv <= 0:
            raise ValueError("bad fields")
        return rv, start
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ApiError(400, f"continue key is not valid: {exc}") from None


def parse_rv(text: str) -> int:
    try:
        val = int(text)
        if val < 0 or not text.isdigit():
            raise ValueError
        return val
    except ValueError:
        raise ApiError(400, f"invalid resource version: {text!r}") from None


def strip_type(obj: Obj) -> Obj:
    """List items carry no kind/apiVersion, as the real server sends them."""
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


def do_list(store: Store, res: Resource, namespace: Optional[str], query: dict[str, str],
            labels: LabelSelector, fields: FieldSelector, rv0_paginates: bool = False,
            cache_lag: int = 0) -> dict[str, Any]:
    """Build the XList answer for a LIST request or raise ApiError.

    rv0_paginates: resourceVersion=0 honours limit (a server without a watch cache);
    cache_lag: resourceVersion=0 is served that many revisions behind (a lagging cache).
    """
    limit = 0
    if query.get("limit"):
        try:
            limit = int(query["limit"])
        except ValueError:
            raise ApiError(400, f"invalid limit: {query['limit']!r}") from None
        limit = max(limit, 0)
    cont = query.get("continue", "")
    rv_text = query.get("resourceVersion", "")
    match = query.get("resourceVersionMatch", "")
    start = ""
    if cont:
        if rv_text and rv_text != "0":
            raise ApiError(400, "specifying resource version is not allowed when using continue")
        if match:
            raise ApiError(422, "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: "
                           "Forbidden: resourceVersionMatch is forbidden when continue is provided")
        at, start = decode_continue(cont)
        try:
            rv, items = store.snapshot(res, at)
        except ExpiredError:
            raise ApiError(410, status.EXPIRED_CONTINUE_MESSAGE, "Expired") from None
        except TooLargeError:
            raise ApiError(400, "continue key is not valid: resourceVersion is in the future") from None
    else:
        if match and not rv_text:
            raise ApiError(422, "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: "
                           "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided")
        if match not in ("", "Exact", "NotOlderThan"):
            raise ApiError(422, "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: "
                           f"Unsupported value: \"{match}\": supported values: \"Exact\", \"NotOlderThan\"")
        if match == "Exact" and rv_text == "0":
            raise ApiError(422, "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: "
                           "Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"")
        want = parse_rv(rv_text) if rv_text else None
        if want == 0:
            if not rv0_paginates:
                limit = 0  # "any": served from the watch cache, which ignores limit
            rv, items = store.snapshot(res, store.lagging_rv(cache_lag) if cache_lag else None)
        elif want is None:
            rv, items = store.snapshot(res)
        else:
            exact = match == "Exact" or (match == "" and limit > 0)
            try:
                if exact:
                    rv, items = store.snapshot(res, want)
                else:
                    rv, items = store.snapshot(res)
                    if want > rv:
                        raise TooLargeError(want, rv)
            except ExpiredError:
                raise ApiError(410, "The resourceVersion for the provided list is too old.",
                               "Expired") from None
            except TooLargeError as exc:
                raise ApiError(504, f"Too large resource version: {exc.requested}, current: {exc.current}",
                               "Timeout", {"causes": [{"reason": "ResourceVersionTooLarge",
                                                       "message": "Too large resource version"}],
                                           "retryAfterSeconds": 1}) from None
    if namespace is not None:
        prefix = namespace + "/"
        items = [(k, o) for k, o in items if k.startswith(prefix)]
    if start:
        items = [(k, o) for k, o in items if k >= start]
    out: list[Obj] = []
    meta: dict[str, Any] = {"resourceVersion": str(rv)}
    for i, (key, obj) in enumerate(items):
        if labels.matches((obj.get("metadata") or {}).get("labels")) and fields.matches(obj):
            out.append(strip_type(obj))
            if limit and len(out) == limit:
                remaining = len(items) - i - 1
                if remaining:
                    meta["continue"] = encode_continue(rv, key)
                    if labels.empty and fields.empty:
                        meta["remainingItemCount"] = remaining
                break
    return {"kind": res.list_kind, "apiVersion": res.api_version, "metadata": meta, "items": out}
