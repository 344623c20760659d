# SPDX-License-Identifier: Apache-2.0
# Helpers for the guest tests that program the scenarios of test/fixtures/scenarios into IPVS
# (bash; source test/vm/lib.sh first).
#   . "$(dirname "$(readlink -f "$0")")/scenario_lib.sh"

# scenario_begin [PATH-TO-KIPVS [SCENARIO-DIR]]: sets kipvs and dir (defaults:
# $KIPVS_BUILD_DIR/cmd/kipvs and $KIPVS_SOURCE_DIR/test/fixtures/scenarios), checks both, and
# loads IPVS.
scenario_begin() {
    kipvs=${1:-${KIPVS_BUILD_DIR:-}/cmd/kipvs}
    dir=${2:-${KIPVS_SOURCE_DIR:-}/test/fixtures/scenarios}
    [ -x "$kipvs" ] || fail "no kipvs binary at '$kipvs'"
    [ -d "$dir" ] || fail "no scenario directory at '$dir'"
    ipvs_load
}

# scenario_case ARGS-FILE: for DIR/NAME[.VARIANT].args, sets name (NAME[.VARIANT]), json
# (DIR/NAME.json) and the array args (the file's words, # lines left out).
scenario_case() {
    name=$(basename "${1%.args}")
    json=$(dirname "$1")/${name%%.*}.json
    read -r -a args <<<"$(grep -v '^#' "$1" | tr '\n' ' ')"
}

# scenario_node_batches DIR OUT: for each DIR/NAME[.VARIANT].args, writes OUT/NAME[.VARIANT].ip,
# an `ip -batch` file that gives a fresh namespace this node's addresses on a dummy interface
# node0 (up; lo up too): the InternalIP and ExternalIP addresses of the Node the args name with
# --hostname-override, and the --node-ip addresses. With --nodeport-addresses, `run` selects
# among the kernel's addresses where `plan` reads the Node object's: on such a namespace both
# see the same node. One python run for all scenarios (each process start costs under TCG).
scenario_node_batches() {
    mkdir -p "$2"
    python3 -S - "$1" "$2" <<'PY' || fail "cannot write the node address batches"
import glob, ipaddress, json, os, sys

src, out = sys.argv[1], sys.argv[2]
for args_path in sorted(glob.glob(os.path.join(src, "*.args"))):
    case = os.path.basename(args_path)[: -len(".args")]
    words = []
    for line in open(args_path):
        if not line.startswith("#"):
            words += line.split()
    flags = {"--hostname-override": [], "--node-ip": []}
    for i, word in enumerate(words):
        name, eq, value = word.partition("=")
        if name in flags:
            flags[name].append(value if eq else words[i + 1])
    host = flags["--hostname-override"][-1] if flags["--hostname-override"] else None
    addrs = [a for v in flags["--node-ip"] for a in v.split(",") if a.strip()]
    doc = json.load(open(os.path.join(src, case.split(".")[0] + ".json")))
    for item in doc.get("items", []):
        if item.get("kind") == "Node" and item["metadata"]["name"] == host:
            for a in item.get("status", {}).get("addresses", []):
                if a["type"] in ("InternalIP", "ExternalIP"):
                    addrs.append(a["address"])
    lines = ["link set lo up", "link add node0 type dummy", "link set node0 up"]
    for a in dict.fromkeys(a.strip() for a in addrs):
        if ipaddress.ip_address(a).version == 4:
            lines.append("address add %s/32 dev node0" % a)
        else:
            lines.append("address add %s/128 dev node0 nodad" % a)
    with open(os.path.join(out, case + ".ip"), "w") as f:
        f.write("\n".join(lines) + "\n")
PY
}

# scenario_netns NS BATCH: a fresh network namespace NS set up by the ip batch file BATCH.
scenario_netns() {
    ip netns add "$1" || fail "ip netns add $1"
    ip -n "$1" -batch "$2" || fail "$1: cannot give it the node's addresses ($2)"
}

# scenario_same_table WHAT PLAN NS: `ipvsadm -Sn` in NS holds exactly the lines of PLAN (`kipvs
# plan` output); compared sorted, since ipvsadm prints in its own order. Otherwise prints both
# and their diff and fails.
scenario_same_table() {
    local got want
    got=$(ip netns exec "$3" ipvsadm -Sn | sort)
    want=$(sort <<<"$2")
    [ "$got" != "$want" ] || return 0
    echo "--- plan (sorted)"
    echo "$want"
    echo "--- ipvsadm -Sn (sorted)"
    echo "$got"
    diff <(echo "$want") <(echo "$got") || true
    fail "$1: ipvsadm -Sn differs from the plan"
}
