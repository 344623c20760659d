#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Peak RSS and time of `kipvs plan --from` (docs/performance.md, "Decoding --from"): the issue-3
# cluster (10 000 Services x 10 endpoints, ~28 MB of JSON) as JSON and as YAML, and one ~200 MB
# JSON EndpointSliceList (the slices copied under new namespaces). Figures, not a test.
# Usage: run-from-bench.sh BUILD_DIR
set -eu
build=${1:?usage: run-from-bench.sh BUILD_DIR}
kipvs=$build/cmd/kipvs
tmp=$(mktemp -d /tmp/kipvs-from-bench-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/json" "$tmp/yaml" "$tmp/big"
"$build/bench/bench_decode" --write "$tmp/json"
python3 - "$tmp" <<'PY'
import json, sys, yaml
tmp = sys.argv[1]
for name in ("services", "slices"):
    with open(f"{tmp}/json/{name}.json") as f:
        doc = json.load(f)
    with open(f"{tmp}/yaml/{name}.yaml", "w") as f:
        yaml.dump(doc, f, Dumper=getattr(yaml, "CDumper", yaml.Dumper))
text = open(f"{tmp}/json/slices.json").read()
head, _, rest = text.partition('"items":[')
items = rest[: rest.rindex("]")]
with open(f"{tmp}/big/slices.json", "w") as f:
    f.write(head + '"items":[')
    for k in range(9):
        f.write(("," if k else "") + items.replace('"namespace":"ns-', f'"namespace":"c{k}-ns-'))
    f.write("]}")
PY
for d in json yaml big; do
    size=$(du -sm "$tmp/$d" | cut -f1)
    /usr/bin/time -f "$d ($size MB): peak RSS %M KiB, %e s wall, %U s user" \
        "$kipvs" plan --from "$tmp/$d" --hostname-override node-1 --node-ip 192.0.2.1 \
        >/dev/null 2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
    tail -n 1 "$tmp/err"
done
