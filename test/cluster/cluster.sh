# SPDX-License-Identifier: Apache-2.0
# The multi-node test cluster (the role kind plays elsewhere), for guest tests (bash, as root in
# the test guest). Source it after test/vm/lib.sh:
#   . "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"
#   . "$(dirname "$(readlink -f "$0")")/../cluster/cluster.sh"
# cluster_up builds three node namespaces on one bridge, a router and an external client, and
# starts the fake API server and one `kipvs run` per node. Topology and addresses:
# docs/test-cluster.md. Every helper that can fail says what failed and ends the job.
# CLUSTER_IPV6=1 (set before cluster_up) makes the cluster dual-stack: nodes, router, client and
# pods get IPv6 addresses too (fd00:49::/64, fd00:244:N::/64, 2001:db8:100::/64), the Node
# objects both InternalIPs, kipvs both node addresses and both cluster CIDRs. Off by default, so
# the IPv4 tests keep their timing.

CLUSTER_SRC=${KIPVS_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
CLUSTER_KIPVS=${CLUSTER_KIPVS:-${KIPVS_BUILD_DIR:-$CLUSTER_SRC/build}/cmd/kipvs}
CLUSTER_DIR=${CLUSTER_DIR:-/tmp/cluster}
CLUSTER_PY=/usr/bin/python3 # pyenv's shims are slow under emulation, and so is site (-S below)
CLUSTER_BRIDGE=kbr0
CLUSTER_API_IP=192.168.49.2
CLUSTER_API_PORT=8443
CLUSTER_ROUTER_IP=192.168.49.1
CLUSTER_CLIENT_IP=198.51.100.79
CLUSTER_CIDR=10.244.0.0/16
CLUSTER_NODES="node-a node-b node-c"
CLUSTER_TOKEN=cluster-token
CLUSTER_ECHO_TCP=8080 # every pod's echo server: HTTP on this port ...
CLUSTER_ECHO_UDP=5353 # ... and UDP on this one
CLUSTER_IPV6=${CLUSTER_IPV6:-0}
CLUSTER_ROUTER_IP6=fd00:49::1
CLUSTER_CLIENT_IP6=2001:db8:100::79
CLUSTER_CIDR6=fd00:244::/32 # pod CIDRs fd00:244:<index>::/64

declare -A CLUSTER_NODE_IP=([node-a]=192.168.49.3 [node-b]=192.168.49.4 [node-c]=192.168.49.5)
declare -A CLUSTER_NODE_INDEX=([node-a]=1 [node-b]=2 [node-c]=3) # pod CIDR 10.244.<index>.0/24
declare -A CLUSTER_NODE_IP6=([node-a]=fd00:49::3 [node-b]=fd00:49::4 [node-c]=fd00:49::5)
declare -A CLUSTER_POD_IP=() CLUSTER_POD_NODE=() CLUSTER_POD_ECHO=() CLUSTER_POD_IP6=()
declare -A CLUSTER_NEXT_HOST=()
declare -A CLUSTER_KIPVS_PID=() CLUSTER_KIPVS_ARGS=()
declare -A CLUSTER_SVC_PORTS=() CLUSTER_SVC_EPS=() CLUSTER_SVC_FAMILY=()
CLUSTER_API_CTL=
CLUSTER_API_PID=
CLUSTER_KUBECONFIG=

# ---- small tools ------------------------------------------------------------------------------

# cluster_now_ms: guest uptime in milliseconds (no fork).
cluster_now_ms() {
    local up _
    read -r up _ </proc/uptime
    echo $((${up%.*} * 1000 + 10#${up#*.} * 10))
}

# wait_for DESC SECONDS CMD...: poll CMD (every 0.2 s) until it succeeds; fail after SECONDS.
# WAITED_MS holds how long it took.
wait_for() {
    local desc=$1 secs=$2 start
    shift 2
    start=$(cluster_now_ms)
    until "$@" >/dev/null 2>&1; do
        if (($(cluster_now_ms) - start > secs * 1000)); then
            cluster_diag
            fail "$desc: not within ${secs}s"
        fi
        sleep 0.2
    done
    WAITED_MS=$(($(cluster_now_ms) - start))
}

# node_ip NODE / pod_ip POD: their addresses.
node_ip() {
    [ -n "${CLUSTER_NODE_IP[$1]:-}" ] || fail "no node '$1'"
    echo "${CLUSTER_NODE_IP[$1]}"
}
pod_ip() {
    [ -n "${CLUSTER_POD_IP[$1]:-}" ] || fail "no pod '$1'"
    echo "${CLUSTER_POD_IP[$1]}"
}

# cluster_ipv6: true in the dual-stack mode (CLUSTER_IPV6=1).
cluster_ipv6() {
    [ "$CLUSTER_IPV6" = 1 ]
}

# node_ip6 NODE / pod_ip6 POD: their IPv6 addresses (dual-stack mode only).
node_ip6() {
    cluster_ipv6 || fail "node_ip6 $1: the cluster is not dual-stack (CLUSTER_IPV6=1)"
    [ -n "${CLUSTER_NODE_IP6[$1]:-}" ] || fail "no node '$1'"
    echo "${CLUSTER_NODE_IP6[$1]}"
}
pod_ip6() {
    [ -n "${CLUSTER_POD_IP6[$1]:-}" ] || fail "no IPv6 address for pod '$1' (CLUSTER_IPV6=1?)"
    echo "${CLUSTER_POD_IP6[$1]}"
}

# ---- the network ------------------------------------------------------------------------------

# cluster_sysctl NS KEY=VALUE...: write /proc/sys/KEY (with slashes) in namespace NS, all in
# one shell (each exec costs 50-100 ms under emulation).
cluster_sysctl() {
    local ns=$1 kv script=''
    shift
    for kv in "$@"; do
        script+="echo ${kv#*=} >/proc/sys/${kv%%=*} && "
    done
    in_ns "$ns" sh -c "${script}true" || fail "sysctl $* in '$ns'"
}

# cluster_ip NS: `ip -batch -` in namespace NS ("" = root), the commands on standard input.
cluster_ip() {
    local cmds
    cmds=$(cat)
    if [ -z "$1" ]; then
        ip -batch - <<<"$cmds" || fail "ip -batch in the root namespace:
$cmds"
    else
        ip -n "$1" -batch - <<<"$cmds" || fail "ip -batch in $1:
$cmds"
    fi
}

# cluster_network: the bridge (192.168.49.2, the API server's address, in the root namespace),
# node-a/b/c with eth0 on it, forwarding on, a default route via the router and routes to the
# other nodes' pod CIDRs via their node addresses (the root namespace gets those routes too, so
# the API server can answer pods); namespace "router" (192.168.49.1 on the bridge, 198.51.100.1
# towards the client) and namespace "client" (198.51.100.79, default via the router). The
# router knows no pod CIDR and no Service address: external traffic reaches the cluster only at
# node addresses (and at LB addresses routed with lb_route). Nodes get
# net.ipv4.conf.default.proxy_arp=1 after their eth0 exists, so each pod's cali-* veth made
# later answers ARP for the pod's gateway 169.254.1.1.
# Dual-stack mode adds: the bridge without multicast snooping (neighbour discovery is multicast);
# fd00:49::N/64 on each node's eth0, default via the router's fd00:49::1, routes to the other
# nodes' fd00:244:M::/64 via their fd00:49:: addresses, IPv6 forwarding on and DAD off for the
# cali-* veths made later; the router fd00:49::1 and 2001:db8:100::1, the client
# 2001:db8:100::79 (default via ::1). Static addresses are `nodad`: a tentative address stalls
# packets for a second or more.
cluster_network() {
    local n m root='' cmds mcast='' v6_node=() v6_router=()
    for n in $CLUSTER_NODES router client; do
        ip netns add "$n" || fail "ip netns add $n"
    done
    if cluster_ipv6; then
        mcast=' mcast_snooping 0'
        v6_router=(net/ipv6/conf/all/forwarding=1)
        v6_node=(net/ipv6/conf/all/forwarding=1 net/ipv6/conf/default/accept_dad=0)
    fi
    root="link add $CLUSTER_BRIDGE type bridge$mcast
addr add $CLUSTER_API_IP/24 dev $CLUSTER_BRIDGE
link set $CLUSTER_BRIDGE up"
    for n in $CLUSTER_NODES router; do
        root+="
link add kbr-$n type veth peer name eth0 netns $n
link set kbr-$n master $CLUSTER_BRIDGE up"
    done
    for n in $CLUSTER_NODES; do
        root+="
route add 10.244.${CLUSTER_NODE_INDEX[$n]}.0/24 via ${CLUSTER_NODE_IP[$n]}"
    done
    cluster_ip "" <<<"$root"
    cluster_api_start # its address exists now; Python starts while the rest is built
    for n in $CLUSTER_NODES; do
        cmds="link set lo up
link set eth0 up
addr add ${CLUSTER_NODE_IP[$n]}/24 dev eth0
route add default via $CLUSTER_ROUTER_IP"
        for m in $CLUSTER_NODES; do
            [ "$n" = "$m" ] && continue
            cmds+="
route add 10.244.${CLUSTER_NODE_INDEX[$m]}.0/24 via ${CLUSTER_NODE_IP[$m]}"
        done
        if cluster_ipv6; then
            cmds+="
addr add ${CLUSTER_NODE_IP6[$n]}/64 dev eth0 nodad
route add ::/0 via $CLUSTER_ROUTER_IP6"
            for m in $CLUSTER_NODES; do
                [ "$n" = "$m" ] && continue
                cmds+="
route add fd00:244:${CLUSTER_NODE_INDEX[$m]}::/64 via ${CLUSTER_NODE_IP6[$m]}"
            done
        fi
        cluster_ip "$n" <<<"$cmds"
        cluster_sysctl "$n" net/ipv4/ip_forward=1 net/ipv4/conf/default/proxy_arp=1 "${v6_node[@]}"
    done
    cmds="link set lo up
link set eth0 up
addr add $CLUSTER_ROUTER_IP/24 dev eth0
link add ext0 type veth peer name eth0 netns client
link set ext0 up
addr add 198.51.100.1/24 dev ext0"
    cluster_ipv6 && cmds+="
addr add $CLUSTER_ROUTER_IP6/64 dev eth0 nodad
addr add 2001:db8:100::1/64 dev ext0 nodad"
    cluster_ip router <<<"$cmds"
    cluster_sysctl router net/ipv4/ip_forward=1 "${v6_router[@]}"
    cmds="link set lo up
link set eth0 up
addr add $CLUSTER_CLIENT_IP/24 dev eth0
route add default via 198.51.100.1"
    cluster_ipv6 && cmds+="
addr add $CLUSTER_CLIENT_IP6/64 dev eth0 nodad
route add ::/0 via 2001:db8:100::1"
    cluster_ip client <<<"$cmds"
}

# lb_route IP NODE: the router sends traffic for IP (an LB ingress address) to NODE, as a
# MetalLB-style announcement would. An IPv6 IP goes to the node's IPv6 address.
lb_route() {
    local via
    if [[ $1 == *:* ]]; then via=$(node_ip6 "$2"); else via=$(node_ip "$2"); fi
    ip -n router route replace "$1" via "$via" || fail "router: $1 via $2"
}

# ---- pods ---------------------------------------------------------------------------------------

# pod_add NODE NAME [IP]: a pod namespace on NODE with a routed veth, Calico style: eth0 holds
# IP/32 and routes everything via 169.254.1.1 (link scope); the node end "cali-NAME" answers ARP
# for it by proxy_arp (the node's conf.default) and the node has a /32 route to IP over it. IP
# defaults to the next free address of the node's pod CIDR (from .10). Starts the echo server in
# the background (pods_wait waits for it). NAME: at most 10 characters.
# Dual-stack mode: the pod also gets fd00:244:<index>::<host>/128 (host: IP's last byte) on
# eth0, default via fe80::1, which the node's cali-NAME holds (nodad); the node has a /128 route.
pod_add() {
    local node=$1 name=$2 ip=${3:-} idx=${CLUSTER_NODE_INDEX[$1]:-} host ip6='' ncmds pcmds
    [ -n "$idx" ] || fail "pod_add: no node '$node'"
    [ ${#name} -le 10 ] || fail "pod_add: name '$name' is longer than 10 characters"
    if [ -z "$ip" ]; then
        host=${CLUSTER_NEXT_HOST[$node]:-10}
        CLUSTER_NEXT_HOST[$node]=$((host + 1))
        ip=10.244.$idx.$host
    fi
    cluster_ipv6 && ip6=fd00:244:$idx::${ip##*.}
    ip netns add "$name" || fail "ip netns add $name"
    ncmds="link add cali-$name type veth peer name eth0 netns $name
link set cali-$name up
route add $ip/32 dev cali-$name"
    pcmds="link set lo up
link set eth0 up
addr add $ip/32 dev eth0
route add 169.254.1.1 dev eth0 scope link
route add default via 169.254.1.1 dev eth0"
    if [ -n "$ip6" ]; then
        ncmds+="
addr add fe80::1/64 dev cali-$name nodad
route add $ip6/128 dev cali-$name"
        pcmds+="
addr add $ip6/128 dev eth0 nodad
route add ::/0 via fe80::1 dev eth0"
        CLUSTER_POD_IP6[$name]=$ip6
    fi
    cluster_ip "$node" <<<"$ncmds"
    cluster_ip "$name" <<<"$pcmds"
    CLUSTER_POD_IP[$name]=$ip
    CLUSTER_POD_NODE[$name]=$node
    echo_start "$name"
}

# echo_start POD: the echo server (HTTP on CLUSTER_ECHO_TCP, UDP on CLUSTER_ECHO_UDP) in POD,
# in the background; pods_wait waits for it.
echo_start() {
    local pod=$1
    rm -f "$CLUSTER_DIR/pods/$pod.ready"
    mkdir -p "$CLUSTER_DIR/pods"
    ip netns exec "$pod" "$CLUSTER_PY" -S "$CLUSTER_SRC/test/cluster/echo.py" "$pod" \
        "$CLUSTER_DIR/pods/$pod.ready" "tcp:$CLUSTER_ECHO_TCP" "udp:$CLUSTER_ECHO_UDP" \
        >>"$CLUSTER_DIR/pods/$pod.log" 2>&1 &
    CLUSTER_POD_ECHO[$pod]=$!
}

# echo_stop POD: stop POD's echo server (the pod's address stays: a dead backend).
echo_stop() {
    local pid=${CLUSTER_POD_ECHO[$1]:-}
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "CLUSTER_POD_ECHO[$1]"
    rm -f "$CLUSTER_DIR/pods/$1.ready"
}

# pod_del POD: stop its echo server and remove the pod (namespace, veth, route).
pod_del() {
    local pod=$1
    echo_stop "$pod"
    ip netns del "$pod" || fail "ip netns del $pod"
    ip -n "${CLUSTER_POD_NODE[$pod]}" route del "${CLUSTER_POD_IP[$pod]}/32" 2>/dev/null || true
    if [ -n "${CLUSTER_POD_IP6[$pod]:-}" ]; then
        ip -n "${CLUSTER_POD_NODE[$pod]}" route del "${CLUSTER_POD_IP6[$pod]}/128" 2>/dev/null || true
        unset "CLUSTER_POD_IP6[$pod]"
    fi
    unset "CLUSTER_POD_IP[$pod]" "CLUSTER_POD_NODE[$pod]"
}

# cluster_echo_ready: true when every started echo server has written its ready file.
cluster_echo_ready() {
    local pod
    for pod in "${!CLUSTER_POD_ECHO[@]}"; do
        [ -e "$CLUSTER_DIR/pods/$pod.ready" ] || return 1
    done
}

# pods_wait [SECONDS]: wait until every echo server listens (default 60 s: Python under TCG).
pods_wait() {
    wait_for "echo servers ready (${!CLUSTER_POD_ECHO[*]})" "${1:-60}" cluster_echo_ready
}

# ---- the fake API server ----------------------------------------------------------------------

# cluster_api_start: the fake API server in the root namespace, HTTPS on 192.168.49.2:8443 (the
# bridge's address, so every node reaches it), token auth; the control API on 127.0.0.1.
# Sets CLUSTER_API_CTL and CLUSTER_KUBECONFIG once cluster_api_wait returns.
cluster_api_start() {
    mkdir -p "$CLUSTER_DIR/api"
    rm -f "$CLUSTER_DIR/api/ready.json"
    "$CLUSTER_PY" -S "$CLUSTER_SRC/test/fake-apiserver/fake-apiserver" --dir "$CLUSTER_DIR/api" \
        --address "$CLUSTER_API_IP" --port "$CLUSTER_API_PORT" --san "$CLUSTER_API_IP" \
        --token "$CLUSTER_TOKEN" --bookmark-interval 1 --ready-file "$CLUSTER_DIR/api/ready.json" \
        >>"$CLUSTER_DIR/api/out" 2>>"$CLUSTER_DIR/api/err" &
    CLUSTER_API_PID=$!
}

cluster_api_wait() {
    wait_for "fake API server ready" 60 test -s "$CLUSTER_DIR/api/ready.json"
    CLUSTER_API_CTL=$(sed -n 's/.*"control_url": *"\([^"]*\)".*/\1/p' "$CLUSTER_DIR/api/ready.json")
    [ -n "$CLUSTER_API_CTL" ] || fail "fake API server: no control_url in $(cat "$CLUSTER_DIR/api/ready.json")"
    CLUSTER_KUBECONFIG=$CLUSTER_DIR/api/kubeconfig-token.yaml
    [ -s "$CLUSTER_KUBECONFIG" ] || fail "fake API server wrote no $CLUSTER_KUBECONFIG"
}

# api_ctl METHOD PATH [JSON]: one control API request; the answer on stdout.
api_ctl() {
    local out
    if [ $# -ge 3 ]; then
        out=$(curl -sS --fail-with-body --max-time 10 -X "$1" -H 'Content-Type: application/json' \
            --data-binary "$3" "$CLUSTER_API_CTL$2") || fail "control $1 $2: $out"
    else
        out=$(curl -sS --fail-with-body --max-time 10 -X "$1" "$CLUSTER_API_CTL$2") ||
            fail "control $1 $2: $out"
    fi
    echo "$out"
}

# cluster_nodes_json: a List of the three Node objects (InternalIP, Hostname, podCIDR; in the
# dual-stack mode a second InternalIP and podCIDR, the IPv6 ones).
cluster_nodes_json() {
    local n sep='' i cidr6='' ip6=''
    printf '{"kind":"List","apiVersion":"v1","items":['
    for n in $CLUSTER_NODES; do
        i=${CLUSTER_NODE_INDEX[$n]}
        if cluster_ipv6; then
            cidr6=",\"fd00:244:$i::/64\""
            ip6=",{\"type\":\"InternalIP\",\"address\":\"${CLUSTER_NODE_IP6[$n]}\"}"
        fi
        printf '%s{"kind":"Node","apiVersion":"v1","metadata":{"name":"%s","labels":{"kubernetes.io/hostname":"%s"}},' \
            "$sep" "$n" "$n"
        printf '"spec":{"podCIDR":"10.244.%s.0/24","podCIDRs":["10.244.%s.0/24"%s]},' \
            "$i" "$i" "$cidr6"
        printf '"status":{"addresses":[{"type":"InternalIP","address":"%s"}%s,{"type":"Hostname","address":"%s"}]}}' \
            "${CLUSTER_NODE_IP[$n]}" "$ip6" "$n"
        sep=,
    done
    printf ']}\n'
}

# ---- Services and EndpointSlices ----------------------------------------------------------------

# svc_create NAME CLUSTER_IP [OPTIONS]: create (or replace) Service default/NAME. An IPv6
# CLUSTER_IP makes an IPv6 single-stack Service (ipFamilies [IPv6]; its slice is addressType
# IPv6 with the pods' IPv6 addresses); two, comma-separated (10.96.0.70,fd00:96::70), a
# RequireDualStack Service in that family order (one slice per family, SVC-1 and SVC-2).
#   --tcp PORT[:TARGET]  --udp PORT[:TARGET]   a port (named tcp-PORT / udp-PORT); TARGET
#                                               defaults to the echo servers' port
#   --node-port N       the nodePort of the port just given (sets type NodePort unless --type)
#   --type T            ClusterIP, NodePort or LoadBalancer
#   --etp Local         externalTrafficPolicy (and --hc-port N: healthCheckNodePort)
#   --lb IP             a status.loadBalancer ingress IP (type LoadBalancer)
#   --external-ip IP    spec.externalIPs
#   --source-range CIDR spec.loadBalancerSourceRanges
#   --affinity          sessionAffinity ClientIP
# The ports are remembered for slice_set_endpoints.
svc_create() {
    local name=$1 cip=$2 type='' etp='' hc='' lbs='' eips='' ranges='' aff=None
    local ports='' pspec='' p target proto np
    shift 2
    while [ $# -gt 0 ]; do
        case $1 in
        --tcp | --udp)
            proto=TCP
            [ "$1" = --udp ] && proto=UDP
            p=${2%%:*}
            target=$CLUSTER_ECHO_TCP
            [ $proto = UDP ] && target=$CLUSTER_ECHO_UDP
            [[ $2 == *:* ]] && target=${2#*:}
            ports+="${ports:+,}{\"name\":\"${proto,,}-$p\",\"port\":$p,\"protocol\":\"$proto\",\"targetPort\":$target}"
            pspec+="${pspec:+ }${proto,,}-$p/$proto/$target"
            shift 2
            ;;
        --node-port)
            np=$2
            [ -n "$ports" ] || fail "svc_create $name: --node-port before any port"
            ports="${ports%\}},\"nodePort\":$np}"
            [ -n "$type" ] || type=NodePort
            shift 2
            ;;
        --type) type=$2; shift 2 ;;
        --etp) etp=$2; shift 2 ;;
        --hc-port) hc=$2; shift 2 ;;
        --lb) lbs+="${lbs:+,}{\"ip\":\"$2\"}"; type=LoadBalancer; shift 2 ;;
        --external-ip) eips+="${eips:+,}\"$2\""; shift 2 ;;
        --source-range) ranges+="${ranges:+,}\"$2\""; shift 2 ;;
        --affinity) aff=ClientIP; shift ;;
        *) fail "svc_create $name: unknown option '$1'" ;;
        esac
    done
    [ -n "$ports" ] || fail "svc_create $name: no port"
    [ -n "$type" ] || type=ClusterIP
    local c cips='' families='' family
    for c in ${cip//,/ }; do
        family=IPv4
        [[ $c == *:* ]] && family=IPv6
        cips+="${cips:+,}\"$c\""
        families+="${families:+ }$family"
    done
    local spec="\"type\":\"$type\",\"clusterIP\":\"${cip%%,*}\",\"clusterIPs\":[$cips]"
    spec+=",\"ipFamilies\":[\"${families// /\",\"}\"]"
    if [[ $cip == *,* ]]; then
        spec+=",\"ipFamilyPolicy\":\"RequireDualStack\""
    elif [ "$families" = IPv6 ]; then
        spec+=",\"ipFamilyPolicy\":\"SingleStack\""
    fi
    spec+=",\"ports\":[$ports],\"sessionAffinity\":\"$aff\""
    [ -n "$etp" ] && spec+=",\"externalTrafficPolicy\":\"$etp\""
    [ -n "$hc" ] && spec+=",\"healthCheckNodePort\":$hc"
    [ -n "$eips" ] && spec+=",\"externalIPs\":[$eips]"
    [ -n "$ranges" ] && spec+=",\"loadBalancerSourceRanges\":[$ranges]"
    api_ctl POST /control/objects "{\"kind\":\"Service\",\"apiVersion\":\"v1\",
 \"metadata\":{\"namespace\":\"default\",\"name\":\"$name\"},\"spec\":{$spec},
 \"status\":{\"loadBalancer\":{\"ingress\":[$lbs]}}}" >/dev/null
    CLUSTER_SVC_PORTS[$name]=$pspec
    CLUSTER_SVC_FAMILY[$name]=$families
}

# svc_delete NAME: delete Service default/NAME and its EndpointSlice.
svc_delete() {
    local families=(${CLUSTER_SVC_FAMILY[$1]:-IPv4}) i
    api_ctl DELETE "/control/objects/Service/default/$1" >/dev/null
    if [ -n "${CLUSTER_SVC_EPS[$1]+x}" ]; then
        for i in "${!families[@]}"; do
            api_ctl DELETE "/control/objects/EndpointSlice/default/$1-$((i + 1))" >/dev/null
        done
        unset "CLUSTER_SVC_EPS[$1]"
    fi
}

# cluster_conditions STATE: the EndpointSlice conditions of a pod in STATE.
cluster_conditions() {
    case $1 in
    ready) echo '{"ready":true,"serving":true,"terminating":false}' ;;
    terminating) echo '{"ready":false,"serving":true,"terminating":true}' ;;
    notserving) echo '{"ready":false,"serving":false,"terminating":true}' ;;
    notready) echo '{"ready":false,"serving":false,"terminating":false}' ;;
    *) fail "unknown endpoint state '$1' (ready, terminating, notserving, notready)" ;;
    esac
}

# slice_set_endpoints SVC [POD[=STATE]]...: set the EndpointSlice default/SVC-1 of Service SVC
# (all of its ports, the target ports) to these pods, each with its address (of the Service's
# family) and nodeName; a dual-stack Service's second family goes to slice default/SVC-2.
# STATE: ready (default), terminating (terminating+serving), notserving (terminating, not
# serving), notready.
slice_set_endpoints() {
    local svc=$1 ep pod state eps ports='' pp pname proto target addr family i=0
    shift
    [ -n "${CLUSTER_SVC_PORTS[$svc]+x}" ] || fail "slice_set_endpoints: no Service '$svc' (svc_create first)"
    for pp in ${CLUSTER_SVC_PORTS[$svc]}; do
        IFS=/ read -r pname proto target <<<"$pp"
        ports+="${ports:+,}{\"name\":\"$pname\",\"port\":$target,\"protocol\":\"$proto\"}"
    done
    for family in ${CLUSTER_SVC_FAMILY[$svc]:-IPv4}; do
        i=$((i + 1))
        eps=''
        for ep in "$@"; do
            pod=${ep%%=*}
            state=ready
            [[ $ep == *=* ]] && state=${ep#*=}
            [ -n "${CLUSTER_POD_IP[$pod]:-}" ] || fail "slice_set_endpoints $svc: no pod '$pod'"
            addr=${CLUSTER_POD_IP[$pod]}
            if [ "$family" = IPv6 ]; then
                addr=${CLUSTER_POD_IP6[$pod]:-}
                [ -n "$addr" ] || fail "slice_set_endpoints $svc: pod '$pod' has no IPv6 address"
            fi
            eps+="${eps:+,}{\"addresses\":[\"$addr\"],\"conditions\":$(cluster_conditions "$state"),"
            eps+="\"nodeName\":\"${CLUSTER_POD_NODE[$pod]}\",\"targetRef\":{\"kind\":\"Pod\",\"namespace\":\"default\",\"name\":\"$pod\"}}"
        done
        api_ctl POST /control/objects "{\"kind\":\"EndpointSlice\",\"apiVersion\":\"discovery.k8s.io/v1\",
 \"metadata\":{\"namespace\":\"default\",\"name\":\"$svc-$i\",\"labels\":{\"kubernetes.io/service-name\":\"$svc\",
 \"endpointslice.kubernetes.io/managed-by\":\"endpointslice-controller.k8s.io\"}},
 \"addressType\":\"$family\",\"ports\":[$ports],\"endpoints\":[$eps]}" >/dev/null
    done
    CLUSTER_SVC_EPS[$svc]="$*"
}

# pod_move SVC POD STATE: move POD through its lifecycle in SVC's slice: ready, terminating
# (terminating+serving), notserving, or gone (removed from the slice). Other endpoints keep
# their states.
pod_move() {
    local svc=$1 pod=$2 state=$3 ep out=()
    [ -n "${CLUSTER_SVC_EPS[$svc]+x}" ] || fail "pod_move: Service '$svc' has no slice yet"
    for ep in ${CLUSTER_SVC_EPS[$svc]}; do
        [ "${ep%%=*}" = "$pod" ] || out+=("$ep")
    done
    [ "$state" = gone ] || out+=("$pod=$state")
    slice_set_endpoints "$svc" "${out[@]}"
}

# ---- kipvs on the nodes -------------------------------------------------------------------------

# node_kipvs_start NODE [ARGS...]: `kipvs run` in NODE's namespace, in the background, against
# the fake API server (--kubeconfig, --hostname-override NODE, --node-ip, --cluster-cidr
# 10.244.0.0/16, healthz on :10256 and metrics on 127.0.0.1:10249 of the node), plus ARGS; its
# log goes to CLUSTER_DIR/kipvs-NODE.log (appended). ARGS are remembered for node_kipvs_restart.
# Dual-stack mode: a second --node-ip (the node's IPv6 address) and --cluster-cidr
# 10.244.0.0/16,fd00:244::/32.
node_kipvs_start() {
    local node=$1 cidr=$CLUSTER_CIDR v6=()
    shift
    if cluster_ipv6; then
        cidr+=,$CLUSTER_CIDR6
        v6=(--node-ip "$(node_ip6 "$node")")
    fi
    [ -x "$CLUSTER_KIPVS" ] || fail "no kipvs binary at '$CLUSTER_KIPVS'"
    [ -z "${CLUSTER_KIPVS_PID[$node]:-}" ] || fail "kipvs already runs on $node"
    CLUSTER_KIPVS_ARGS[$node]="$*"
    echo "--- [$(cluster_now_ms) ms] kipvs run on $node $*" >>"$CLUSTER_DIR/kipvs-$node.log"
    ip netns exec "$node" "$CLUSTER_KIPVS" run --kubeconfig "$CLUSTER_KUBECONFIG" \
        --hostname-override "$node" --node-ip "$(node_ip "$node")" "${v6[@]}" --cluster-cidr "$cidr" \
        --healthz-bind-address 0.0.0.0:10256 --metrics-bind-address 127.0.0.1:10249 \
        --ipvs-sync-period 10s "$@" >>"$CLUSTER_DIR/kipvs-$node.log" 2>&1 &
    CLUSTER_KIPVS_PID[$node]=$!
}

# node_kipvs_stop NODE [SIGNAL]: signal kipvs on NODE (TERM by default) and wait (10 s at
# most); after TERM it must exit 0.
node_kipvs_stop() {
    local node=$1 sig=${2:-TERM} pid=${CLUSTER_KIPVS_PID[$1]:-} i rc=0
    [ -n "$pid" ] || fail "kipvs is not running on $node"
    kill "-$sig" "$pid" 2>/dev/null || { node_kipvs_log_tail "$node"; fail "kipvs on $node had exited"; }
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && fail "kipvs on $node still runs 10 s after SIG$sig"
    wait "$pid" || rc=$?
    unset "CLUSTER_KIPVS_PID[$node]"
    if [ "$sig" = TERM ] && [ "$rc" != 0 ]; then
        node_kipvs_log_tail "$node"
        fail "kipvs on $node exited $rc after SIGTERM"
    fi
}

# node_kipvs_restart NODE: stop (TERM) and start again with the same arguments.
node_kipvs_restart() {
    local args
    read -r -a args <<<"${CLUSTER_KIPVS_ARGS[$1]:-}"
    node_kipvs_stop "$1"
    node_kipvs_start "$1" "${args[@]}"
}

# node_kipvs_alive NODE: fail (with the log's tail) unless kipvs still runs on NODE.
node_kipvs_alive() {
    kill -0 "${CLUSTER_KIPVS_PID[$1]:-0}" 2>/dev/null && return 0
    node_kipvs_log_tail "$1"
    fail "kipvs on $1 is not running"
}

node_kipvs_log_tail() {
    echo "----- kipvs on $1, last lines of $CLUSTER_DIR/kipvs-$1.log -----"
    tail -n "${2:-30}" "$CLUSTER_DIR/kipvs-$1.log" 2>/dev/null || true
    echo "-----"
}

# node_table NODE: NODE's IPVS table as `ipvsadm -Sn` lines, sorted.
node_table() {
    ip netns exec "$1" ipvsadm -Sn | sort
}

# node_has_line NODE LINE: true when NODE's `ipvsadm -Sn` has LINE (e.g.
# "-a -t 10.96.0.20:80 -r 10.244.1.10:8080 -m -w 1").
node_has_line() {
    local t # (no pipe into grep -q: with pipefail, an early exit of grep fails the writer)
    t=$(ip netns exec "$1" ipvsadm -Sn) || return 2
    grep -qxF -- "$2" <<<"$t"
}

# node_lacks_line NODE LINE: the opposite (false, too, when ipvsadm fails).
node_lacks_line() {
    local t
    t=$(ip netns exec "$1" ipvsadm -Sn) || return 2
    ! grep -qxF -- "$2" <<<"$t"
}

# nodes_wait_line LINE [SECONDS]: wait until every node's table has LINE (default 30 s).
nodes_wait_line() {
    local n
    for n in $CLUSTER_NODES; do
        wait_for "$n: '$1' in ipvsadm -Sn" "${2:-30}" node_has_line "$n" "$1"
    done
}

# ---- clients ------------------------------------------------------------------------------------

# from_ns NS CMD...: CMD in namespace NS; a curl gets short timeouts (connect 2 s, total 4 s)
# and -sS added.
from_ns() {
    local ns=$1
    shift
    if [ "$1" = curl ]; then
        shift
        in_ns "$ns" curl -sS --connect-timeout 2 --max-time 4 "$@"
    else
        in_ns "$ns" "$@"
    fi
}

# http_from NS URL: the echo line of GET URL from NS; fails the job when there is none.
http_from() {
    local out
    out=$(from_ns "$1" curl --fail "$2" 2>&1) || fail "GET $2 from '$1': $out"
    echo "$out"
}

# http_try NS URL: like http_from, but a failure just returns non-zero with no output.
http_try() {
    from_ns "$1" curl --fail "$2" 2>/dev/null
}

# udp_query NS IP PORT: one datagram to IP:PORT from NS; the reply (one line) on stdout, or
# non-zero after 3 s without one (or at once on ICMP port unreachable).
udp_query() {
    in_ns "$1" timeout 3 bash -c 'exec 3<>"/dev/udp/$0/$1" && printf q >&3 &&
        dd bs=2048 count=1 status=none <&3' "$2" "$3" 2>/dev/null
}

# udp_client_start NAME NS IP PORT: test/cluster/udp_client.py in NS in the background: one
# socket (one source port, like a stub resolver) querying IP:PORT every 0.2 s, one line per
# query in CLUSTER_DIR/udp-NAME.out ("MS ok pod=... client=...", "MS timeout", "MS refused").
declare -A CLUSTER_UDP_PID=()
udp_client_start() {
    local name=$1 ns=$2 ip=$3 port=$4
    rm -f "$CLUSTER_DIR/udp-$name.out" "$CLUSTER_DIR/udp-$name.stop"
    in_ns "$ns" "$CLUSTER_PY" -S "$CLUSTER_SRC/test/cluster/udp_client.py" "$ip" "$port" \
        "$CLUSTER_DIR/udp-$name.out" "$CLUSTER_DIR/udp-$name.stop" 2>>"$CLUSTER_DIR/udp-$name.err" &
    CLUSTER_UDP_PID[$name]=$!
}

# udp_client_stop NAME: stop it (at most 2 s) and wait.
udp_client_stop() {
    touch "$CLUSTER_DIR/udp-$1.stop"
    wait "${CLUSTER_UDP_PID[$1]}" || fail "udp client $1 failed: $(cat "$CLUSTER_DIR/udp-$1.err")"
    unset "CLUSTER_UDP_PID[$1]"
}

# udp_client_lines NAME: how many lines its output has so far.
udp_client_lines() {
    local n
    n=$(wc -l <"$CLUSTER_DIR/udp-$1.out" 2>/dev/null) || n=0
    echo "$n"
}

# udp_client_answered NAME FROM POD: true when a line after line FROM is an answer from POD.
udp_client_answered() {
    local t
    t=$(tail -n +"$(($2 + 1))" "$CLUSTER_DIR/udp-$1.out" 2>/dev/null) || return 2
    grep -q " ok pod=$3 " <<<"$t"
}

# echo_pod LINE / echo_client LINE: the pod name and the client address (without port) in an
# echo line "pod=NAME client=IP:PORT".
echo_pod() {
    sed -n 's/^pod=\([^ ]*\) client=.*/\1/p' <<<"$1"
}
echo_client() {
    sed -n 's/^pod=[^ ]* client=\(.*\):[0-9]*$/\1/p' <<<"$1"
}

# expect_answer DESC NS URL POD [CLIENT]: GET URL from NS is answered by POD, which saw the source
# address CLIENT (when given); the echo line is printed.
expect_answer() {
    local out
    out=$(http_from "$2" "$3")
    echo "$1: $out"
    expect_eq "$1: pod" "$(echo_pod "$out")" "$4"
    [ $# -lt 5 ] || expect_eq "$1: client seen" "$(echo_client "$out")" "$5"
}

# sees_client URL ADDR: GET URL from the external client is answered, and the pod saw ADDR
# (for wait_for: a policy change reaches the nftables sets and the table in the same sync).
sees_client() {
    local out
    out=$(http_try client "$1") || return 1
    [ "$(echo_client "$out")" = "$2" ]
}

# silent_drop DESC URL [NS]: GET URL from NS (default: the external client) gets no answer and
# no refusal: the connect times out (1 s) rather than failing at once.
silent_drop() {
    local t out took ns=${3:-client}
    t=$(cluster_now_ms)
    if out=$(from_ns "$ns" curl --connect-timeout 1 "$2" 2>&1); then
        fail "$1 answered: $out"
    fi
    took=$(($(cluster_now_ms) - t))
    echo "$1: $out (${took} ms)"
    [ "$took" -ge 900 ] || fail "$1: refused after ${took} ms, want a silent drop (timeout)"
}

# hc_is URL CODE LOCAL: GET URL (a health-check node port) from the external client answers
# CODE with localEndpoints LOCAL.
hc_is() {
    local got
    got=$(from_ns client curl -w ' %{http_code}' "$1" 2>&1) || return 1
    [[ "$got" == *"\"localEndpoints\":$3,"*" $2" ]]
}

# ---- the whole cluster --------------------------------------------------------------------------

# cluster_diag: what a failing test wants to see: each node's table and kipvs log tail.
cluster_diag() {
    local n
    [ -n "${CLUSTER_DIAG_DONE:-}" ] && return 0
    CLUSTER_DIAG_DONE=1
    for n in $CLUSTER_NODES; do
        ip netns exec "$n" true 2>/dev/null || continue
        echo "----- $n: ipvsadm -Ln -----"
        ip netns exec "$n" ipvsadm -Ln 2>&1 || true
        if [ -e "$CLUSTER_DIR/kipvs-$n.log" ]; then node_kipvs_log_tail "$n" 15; fi
    done
    return 0
}

# cluster_down: stop every kipvs, echo server and the fake API server (the guest's exit trap).
cluster_down() {
    local n p i
    for n in "${!CLUSTER_KIPVS_PID[@]}"; do
        kill -TERM "${CLUSTER_KIPVS_PID[$n]}" 2>/dev/null || true
    done
    for p in "${!CLUSTER_POD_ECHO[@]}"; do
        kill "${CLUSTER_POD_ECHO[$p]}" 2>/dev/null || true
    done
    for p in "${!CLUSTER_UDP_PID[@]}"; do
        kill "${CLUSTER_UDP_PID[$p]}" 2>/dev/null || true
    done
    [ -z "$CLUSTER_API_PID" ] || kill -TERM "$CLUSTER_API_PID" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do # kipvs's own exit (sanitizer reports come then): 5 s at most
        p=0
        for n in "${!CLUSTER_KIPVS_PID[@]}"; do
            if kill -0 "${CLUSTER_KIPVS_PID[$n]}" 2>/dev/null; then p=1; fi
        done
        [ $p = 1 ] || break
        sleep 0.1
    done
}

# cluster_on_exit: the EXIT trap. A sanitizer report in any kipvs log (a build with
# -Db_sanitize, run with CLUSTER_KIPVS pointing at it) fails the job even when the test passed.
cluster_on_exit() {
    local rc=$? reports
    cluster_down
    reports=$(grep -hE 'runtime error:|ERROR: (Address|Leak)Sanitizer' "$CLUSTER_DIR"/kipvs-*.log 2>/dev/null || true)
    if [ -n "$reports" ]; then
        echo "FAIL: sanitizer reports in the kipvs logs:" >&2
        sort <<<"$reports" | uniq -c >&2
        [ "$rc" != 0 ] || rc=1
    fi
    [ "$rc" = 0 ] || cluster_diag
    exit "$rc"
}

# cluster_up: load IPVS, start the fake API server, build the bridge, the nodes, the routes, the
# router and the client, create the Node objects and (unless CLUSTER_NO_KIPVS=1) start kipvs on
# every node. Pods and Services are the test's (pod_add, svc_create, slice_set_endpoints).
cluster_up() {
    local n
    mkdir -p "$CLUSTER_DIR"
    trap cluster_on_exit EXIT
    ipvs_load
    cluster_network
    step "cluster: network up, waiting for the fake API server"
    cluster_api_wait
    step "cluster: fake API server ready after ${WAITED_MS} ms"
    api_ctl POST /control/load "$(cluster_nodes_json)" >/dev/null
    if [ "${CLUSTER_NO_KIPVS:-0}" != 1 ]; then
        for n in $CLUSTER_NODES; do
            node_kipvs_start "$n"
        done
    fi
}
