# SPDX-License-Identifier: Apache-2.0
"""Label and field selectors with the Kubernetes syntax and semantics.

LabelSelector: comma-separated requirements (AND): key, !key, key=v, key==v,
key!=v, key in (a,b), key notin (a,b), key>n, key<n. As in apimachinery,
!= and notin also match objects that lack the key. FieldSelector:
metadata.name and metadata.namespace with =, == and !=. Parse errors raise
SelectorError, which the handler turns into 400 BadRequest.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Optional

_NAME_RE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_TOKEN_RE = re.compile(r"\s*(==|!=|=|!|\(|\)|,|>|<|[^\s=!(),<>]+)")


class SelectorError(ValueError):
    """A selector that does not parse or names an unsupported field."""


def _check_key(key: str) -> None:
    prefix, sep, name = key.rpartition("/")
    if sep and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN_RE.match(prefix)):
        raise SelectorError(f"invalid label key \"{key}\": prefix part must be a DNS subdomain")
    if not name or len(name) > 63 or not _NAME_RE.match(name):
        raise SelectorError(f"invalid label key \"{key}\": name part must consist of alphanumeric "
                            "characters, '-', '_' or '.', and must start and end with an "
                            "alphanumeric character")


def _check_value(value: str) -> None:
    if value and (len(value) > 63 or not _NAME_RE.match(value)):
        raise SelectorError(f"invalid label value: \"{value}\": a valid label must be an empty "
                            "string or consist of alphanumeric characters, '-', '_' or '.'")


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m:
            raise SelectorError(f"unable to parse requirement: unexpected character at {pos}")
        tokens.append(m.group(1))
        pos = m.end()
    return tokens


Requirement = Callable[[dict[str, str]], bool]


class LabelSelector:
    """A parsed label selector; matches(labels) tests a label map."""

    def __init__(self, text: Optional[str]) -> None:
        self.text = text or ""
        self._reqs: list[Requirement] = []
        if self.text.strip():
            self._parse(_tokenize(self.text))

    def _parse(self, toks: list[str]) -> None:
        i = 0
        special = {"==", "!=", "=", "!", "(", ")", ",", ">", "<"}

        def ident(what: str) -> str:
            nonlocal i
            if i >= len(toks) or toks[i] in special:
                found = toks[i] if i < len(toks) else "end of string"
                raise SelectorError(f"unable to parse requirement: found '{found}', expected: {what}")
            i += 1
            return toks[i - 1]

        while True:
            if i < len(toks) and toks[i] == "!":
                i += 1
                key = ident("identifier after '!'")
                _check_key(key)
                self._reqs.append(lambda l, k=key: k not in l)
            else:
                key = ident("identifier")
                _check_key(key)
                op = toks[i] if i < len(toks) else ","
                if op == ",":
                    self._reqs.append(lambda l, k=key: k in l)
                elif op in ("=", "==", "!="):
                    i += 1
                    value = ""
                    if i < len(toks) and toks[i] not in special:
                        value = toks[i]
                        i += 1
                    _check_value(value)
                    if op == "!=":
                        self._reqs.append(lambda l, k=key, v=value: l.get(k) != v)
                    else:
                        self._reqs.append(lambda l, k=key, v=value: l.get(k) == v)
                elif op in (">", "<"):
                    i += 1
                    raw = ident("integer value")
                    try:
                        num = int(raw)
                    except ValueError:
                        raise SelectorError(f"invalid value \"{raw}\" for '{op}': must be an integer")
                    self._reqs.append(_numeric(key, op, num))
                elif op in ("in", "notin"):
                    i += 1
                    if i >= len(toks) or toks[i] != "(":
                        raise SelectorError(f"unable to parse requirement: expected '(' after '{op}'")
                    i += 1
                    values: set[str] = set()
                    while True:
                        if i < len(toks) and toks[i] not in special:
                            _check_value(toks[i])
                            values.add(toks[i])
                            i += 1
                        if i < len(toks) and toks[i] == ",":
                            i += 1
                            continue
                        if i < len(toks) and toks[i] == ")":
                            i += 1
                            break
                        raise SelectorError("unable to parse requirement: expected ',' or ')' in value set")
                    if not values:
                        raise SelectorError(f"for '{op}' operator, values set can't be empty")
                    if op == "in":
                        self._reqs.append(lambda l, k=key, vs=frozenset(values): l.get(k) in vs)
                    else:
                        self._reqs.append(lambda l, k=key, vs=frozenset(values): l.get(k) not in vs)
                else:
                    raise SelectorError(f"unable to parse requirement: found '{op}', expected: "
                                        "'=', '!=', '==', 'in', 'notin', '<', '>' or ','")
            if i >= len(toks):
                return
            if toks[i] != ",":
                raise SelectorError(f"unable to parse requirement: found '{toks[i]}', expected: ','")
            i += 1

    def matches(self, labels: Optional[dict[str, str]]) -> bool:
        lab = labels or {}
        return all(req(lab) for req in self._reqs)

    @property
    def empty(self) -> bool:
        return not self._reqs


def _numeric(key: str, op: str, num: int) -> Requirement:
    def req(labels: dict[str, str]) -> bool:
        try:
            have = int(labels[key])
        except (KeyError, ValueError):
            return False
        return have > num if op == ">" else have < num
    return req


FIELDS = ("metadata.name", "metadata.namespace")


class FieldSelector:
    """A parsed field selector over metadata.name and metadata.namespace."""

    def __init__(self, text: Optional[str]) -> None:
        self.text = text or ""
        self._terms: list[tuple[str, bool, str]] = []  # field, equal?, value
        if not self.text.strip():
            return
        for term in self.text.split(","):
            m = re.match(r"^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$", term)
            if not m:
                raise SelectorError(f"invalid selector: '{self.text}'; can't understand '{term}'")
            field, op, value = m.groups()
            if field not in FIELDS:
                raise SelectorError(f"field label not supported: {field}")
            self._terms.append((field, op != "!=", value))

    def matches(self, obj: dict[str, Any]) -> bool:
        meta = obj.get("metadata") or {}
        for field, equal, value in self._terms:
            have = meta.get(field.split(".", 1)[1]) or ""
            if (have == value) != equal:
                return False
        return True

    @property
    def empty(self) -> bool:
        return not self._terms
