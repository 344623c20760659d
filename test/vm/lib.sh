# SPDX-License-Identifier: Apache-2.0
# Helpers for jobs that run as root in the test guest (bash). Source it first:
#   . "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"
# It turns on `set -euo pipefail`. Every helper that can fail says what failed and exits the job
# non-zero: a job never continues past a broken step, and never skips.
# Namespace arguments: a name made by netns_add/netns_pod, or "" for the guest's root namespace.
set -euo pipefail

# step TEXT...: a progress line with the guest's uptime, so a failed job's log shows how far
# it got and a slow one shows where the time went.
step() {
    local up _
    read -r up _ </proc/uptime
    echo "--- [${up}s] $*"
}

# fail TEXT...: print the reason and end the job with status 1.
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# expect_eq WHAT GOT WANT: fail unless GOT is exactly WANT.
expect_eq() {
    [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

# expect_line WHAT TEXT LINE: fail unless TEXT has LINE as one of its whole lines.
expect_line() {
    grep -qxF -- "$3" <<<"$2" || fail "$1: no line '$3' in:
$2"
}

# in_ns NS CMD...: run CMD in network namespace NS ("" = the root namespace).
in_ns() {
    local ns=$1
    shift
    if [ -z "$ns" ]; then
        "$@"
    else
        ip netns exec "$ns" "$@"
    fi
}

# netns_add NAME: a fresh network namespace with lo up.
netns_add() {
    ip netns add "$1" || fail "ip netns add $1"
    ip -n "$1" link set lo up || fail "lo up in $1"
}

# veth_pair NS_A IF_A NS_B IF_B: a veth pair with end IF_A in NS_A and IF_B in NS_B, both up.
veth_pair() {
    local ns_a=$1 if_a=$2 ns_b=$3 if_b=$4
    ip link add "$if_a" type veth peer name "$if_b" || fail "ip link add $if_a veth $if_b"
    [ -z "$ns_a" ] || ip link set "$if_a" netns "$ns_a" || fail "move $if_a to $ns_a"
    [ -z "$ns_b" ] || ip link set "$if_b" netns "$ns_b" || fail "move $if_b to $ns_b"
    in_ns "$ns_a" ip link set "$if_a" up || fail "$if_a up"
    in_ns "$ns_b" ip link set "$if_b" up || fail "$if_b up"
}

# netns_pod NAME IP/PREFIX GW [PARENT]: namespace NAME whose eth0 is IP/PREFIX with a default
# route via GW. The veth's other end, "v-NAME" in namespace PARENT (default: root), holds
# GW/PREFIX, and PARENT forwards IPv4. Give each pod its own subnet. NAME: at most 13 characters.
netns_pod() {
    local name=$1 cidr=$2 gw=$3 parent=${4:-}
    [ ${#name} -le 13 ] || fail "netns_pod: name '$name' is longer than 13 characters"
    netns_add "$name"
    veth_pair "$parent" "v-$name" "$name" eth0
    in_ns "$parent" ip addr add "$gw/${cidr#*/}" dev "v-$name" || fail "address $gw on v-$name"
    ip -n "$name" addr add "$cidr" dev eth0 || fail "address $cidr in $name"
    ip -n "$name" route add default via "$gw" || fail "default route via $gw in $name"
    in_ns "$parent" sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward' || fail "ip_forward in '$parent'"
}

# dummy_addr NS IFNAME IP/PREFIX: a dummy interface holding an address (a VIP), up.
dummy_addr() {
    local ns=$1 ifname=$2 cidr=$3
    if ! in_ns "$ns" ip link show "$ifname" >/dev/null 2>&1; then
        in_ns "$ns" ip link add "$ifname" type dummy || fail "ip link add $ifname type dummy"
    fi
    in_ns "$ns" ip addr add "$cidr" dev "$ifname" || fail "address $cidr on $ifname"
    in_ns "$ns" ip link set "$ifname" up || fail "$ifname up"
}

# serve_http NS PORT TEXT: a busybox httpd in NS on PORT whose "/" answers TEXT (one line).
serve_http() {
    local ns=$1 port=$2 text=$3 dir
    dir=$(mktemp -d /tmp/httpd.XXXXXX)
    echo "$text" >"$dir/index.html"
    in_ns "$ns" busybox httpd -p "$port" -h "$dir" || fail "busybox httpd on port $port in '$ns'"
}

# wait_tcp NS IP PORT [SECONDS]: wait until a TCP connection from NS to IP:PORT succeeds
# (default 10 s; 1 s per attempt).
wait_tcp() {
    local ns=$1 ip=$2 port=$3 secs=${4:-10} i
    for ((i = 0; i < secs; i++)); do
        if in_ns "$ns" timeout 1 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$ip" "$port" 2>/dev/null; then
            return 0
        fi
        sleep 1
    done
    fail "no TCP listener at $ip:$port from '$ns' after ${secs}s"
}

# http_get NS URL: the body of GET URL from NS, on stdout (5 s limit).
http_get() {
    in_ns "$1" curl -sS --fail --max-time 5 "$2" || fail "GET $2 from '$1'"
}

# ipvs_load: load IPVS (and see that the kernel has it), with an empty table.
ipvs_load() {
    modprobe ip_vs || fail "modprobe ip_vs"
    [ -e /proc/net/ip_vs ] || fail "ip_vs loaded, but /proc/net/ip_vs is missing"
    ipvsadm -C || fail "ipvsadm -C"
}
