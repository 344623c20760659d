/* SPDX-License-Identifier: Apache-2.0 */
/*
 * health/: the proxy's own health and metrics over HTTP, the health-check node ports, and the
 * systemd notification protocol. Public interface.
 *
 * The daemon pushes state in ("a sync finished at T", "a change was queued at T", "the Node is
 * eligible", "Service X has N local ready endpoints and healthCheckNodePort P"); health/ never
 * reads the caches. All HTTP servers are libmicrohttpd daemons driven by the caller's libev
 * loop (no threads).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kube_model.h"
#include "net_addr.h"
#include "sync_phase.h"

struct ev_loop;
struct health;
struct health_notify;

#define HEALTH_HEALTHZ_BIND_DEFAULT "0.0.0.0:10256"
#define HEALTH_METRICS_BIND_DEFAULT "127.0.0.1:10249"

/* A time that never happened: Go's zero time, formatted "0001-01-01T00:00:00Z". */
#define HEALTH_TIME_ZERO INT64_MIN

/* ---- Bodies (health_json.c) ---- */

/*
 * Formats a time as Go's RFC 3339 with nanoseconds in UTC ("2026-11-22T01:58:49.5Z"), the
 * format of kube-proxy's lastUpdated/currentTime. HEALTH_TIME_ZERO gives
 * "0001-01-01T00:00:00Z". Returns the length, or -ENOSPC.
 */
int health_format_rfc3339(int64_t unix_ns, char *buf, size_t size)
    __attribute__((warn_unused_result));

/*
 * Writes kube-proxy's /healthz (with_node_eligible) or /livez JSON body into buf.
 * Returns the length, or -ENOSPC.
 */
int health_proxy_body(char *buf, size_t size, int64_t last_updated_ns, int64_t now_ns,
		      bool with_node_eligible, bool node_eligible)
    __attribute__((warn_unused_result));

/*
 * Writes the health-check node port body
 * {"service":{"namespace":..,"name":..},"localEndpoints":N,"serviceProxyHealthy":B}
 * into buf (namespace and name JSON-escaped). Returns the length, or -ENOSPC.
 */
int health_service_body(char *buf, size_t size, const char *ns, const char *name,
			unsigned local_endpoints, bool proxy_healthy)
    __attribute__((warn_unused_result));

/* ---- Pure helpers for the daemon (health_local.c) ---- */

/*
 * The number a health-check node port reports for svc on node node_name: distinct addresses
 * of the *ready* endpoints whose nodeName is node_name, across all the given slices of the
 * Service's primary IP family (spec.ipFamilies[0]; when absent, the family of the first
 * clusterIP; when that is absent too, every family). A ready endpoint counts even when it is
 * also terminating, as upstream's LocalReadyEndpoints. Slices of another Service (namespace or kubernetes.io/service-name label)
 * are skipped. node_name NULL: 0. Returns the count, or -ENOMEM.
 */
int health_local_endpoints_count(const struct kube_service *svc,
				 const struct kube_endpoint_slice *const *slices, size_t n_slices,
				 const char *node_name) __attribute__((warn_unused_result));

/*
 * kube-proxy's node eligibility for /healthz: false when the Node is being deleted or carries
 * the ToBeDeletedByClusterAutoscaler taint. An unknown Node (NULL) is eligible.
 */
bool health_node_is_eligible(const struct kube_node *node);

/*
 * Parses a bind address: "IP:port", "[IPv6]:port", "IP" (default_port), ":port" or "" (every
 * address; *ret_addr is then unset, family 0). Port 0 asks the kernel for a free port.
 * 0 or -EINVAL; outputs written only on success.
 */
int health_bind_parse(const char *text, uint16_t default_port, struct net_addr *ret_addr,
		      uint16_t *ret_port) __attribute__((warn_unused_result));

/* ---- The health service (health_proxy.c, health_nodeport.c, health_stats.c) ---- */

struct health_config {
	/* --healthz-bind-address; NULL: HEALTH_HEALTHZ_BIND_DEFAULT, "off": no server. */
	const char *healthz_bind;
	/* --metrics-bind-address; NULL: HEALTH_METRICS_BIND_DEFAULT, "off": no server. */
	const char *metrics_bind;
	/* The sync period; a queued change older than twice this makes the proxy unhealthy. */
	int64_t sync_period_ns;
	/*
	 * Where health-check node ports listen (the --nodeport-addresses ones, resolved); 0:
	 * every IPv4 and IPv6 address. Copied.
	 */
	const struct net_addr *nodeport_addrs;
	size_t n_nodeport_addrs;
	/*
	 * Called before each /metrics rendering (NULL: none), to fill what is read only when
	 * someone looks: the per-virtual-server statistics (health_vs_stats_set()), which are
	 * dropped again once rendered, so an idle or unscraped daemon neither reads nor holds them.
	 */
	void (*on_scrape)(void *userdata);
	void *on_scrape_userdata;
};

/*
 * A health service on loop (not owned). Copies what it keeps of cfg. Nothing listens before
 * health_start(). Returns 0, -EINVAL (a bind address does not parse), or -ENOMEM. Free with
 * health_free().
 */
int health_new(struct ev_loop *loop, const struct health_config *cfg, struct health **ret)
    __attribute__((warn_unused_result));

/*
 * Opens the /healthz and the metrics servers. Returns 0, or the -errno of the first server
 * that could not listen (ret_which, when not NULL, then names it: "healthz" or "metrics"; the
 * caller logs it with the address). Safe to call again after a failure.
 */
int health_start(struct health *h, const char **ret_which) __attribute__((warn_unused_result));

/* The bound ports (useful with port 0), or 0 when the server is not running. */
uint16_t health_healthz_port(const struct health *h);
uint16_t health_metrics_port(const struct health *h);

/* Closes every server and frees everything. Accepts NULL; returns NULL. */
struct health *health_free(struct health *h);

/* ---- Proxy health state ---- */

enum health_change {
	HEALTH_CHANGE_SERVICE,
	HEALTH_CHANGE_ENDPOINTS,
	_HEALTH_CHANGE_MAX,
};

const char *health_change_to_string(enum health_change change);

/*
 * A change of `kind` was queued at now_ns (unix ns): counts it in
 * kubeproxy_sync_proxy_rules_{service,endpoint}_changes_total and, when nothing was pending
 * yet, starts the health clock (kube-proxy's QueuedUpdate).
 */
void health_change_queued(struct health *h, enum health_change kind, int64_t now_ns);

/* The ..._changes_pending gauges: the changes not yet applied, by kind. */
void health_changes_pending_set(struct health *h, size_t services, size_t endpoints);

/*
 * A sync that started at start_ns finished successfully at end_ns: lastUpdated = end_ns,
 * nothing is pending any more (kube-proxy's Updated), and the sync duration histogram and
 * last-timestamp gauge are updated.
 */
void health_synced(struct health *h, int64_t start_ns, int64_t end_ns);

/* One sync's phases into kipvs_sync_phase_duration_seconds{phase} (every sync, good or not). */
void health_sync_phases_observe(struct health *h, const struct sync_phases *ph);

/* Node eligibility (health_node_is_eligible() of the current Node). Initially true. */
void health_node_eligible_set(struct health *h, bool eligible);

/*
 * True when no queued change has waited longer than twice the sync period at now_ns (the
 * /livez and serviceProxyHealthy state; /healthz also needs node eligibility).
 */
bool health_is_healthy(const struct health *h, int64_t now_ns);

/* ---- Health-check node ports (health_nodeport.c) ---- */

/*
 * Service ns/name has healthCheckNodePort hc_port and local_endpoints (from
 * health_local_endpoints_count()). Opens, moves or closes its listener: hc_port 0 closes it.
 * A listener that cannot bind is logged (svc=, port=, err=) and retried every 5 s; it does not
 * affect the other Services. Returns 0 or -ENOMEM.
 */
int health_service_set(struct health *h, const char *ns, const char *name, uint16_t hc_port,
		       unsigned local_endpoints) __attribute__((warn_unused_result));

/* Service ns/name is gone: closes its listener. Unknown Services are ignored. */
void health_service_delete(struct health *h, const char *ns, const char *name);

/*
 * True when every listener of Service ns/name is bound (false for an unknown Service or one
 * with port 0).
 */
bool health_service_is_listening(const struct health *h, const char *ns, const char *name);

/*
 * Replaces the addresses health-check node ports listen on (n 0: all) and reopens every
 * listener. Returns 0 or -ENOMEM.
 */
int health_nodeport_addrs_set(struct health *h, const struct net_addr *addrs, size_t n)
    __attribute__((warn_unused_result));

/* ---- Metrics (health_stats.c) ---- */

/* kubeproxy_sync_proxy_rules_no_local_endpoints_total{traffic_policy="internal"|"external"}. */
void health_no_local_endpoints_set(struct health *h, size_t internal, size_t external);

/*
 * One netlink operation of kind op ("add_service", "del_dest", ...) finished with err (0 or
 * -errno): kipvs_netlink_operations_total{op}, and on failure
 * kipvs_netlink_errors_total{op,errno="ESRCH"}.
 */
void health_netlink_op(struct health *h, const char *op, int err);

/* kipvs_draining_real_servers: real servers at weight 0 waiting for their connections. */
void health_draining_set(struct health *h, size_t n);

/*
 * An EndpointSlice change with endpoints.kubernetes.io/last-change-trigger-time trigger_ns
 * reached the kernel at applied_ns: one kubeproxy_network_programming_duration_seconds
 * observation. trigger_ns 0 (no annotation) or later than applied_ns is ignored.
 */
void health_network_programming_observe(struct health *h, int64_t trigger_ns, int64_t applied_ns);

/* One virtual server's kernel statistics (64-bit counters) and the Service port it serves. */
struct health_vs_stats {
	const char *svc_namespace;
	const char *svc_name;
	const char *port_name; /* "" when unnamed */
	struct net_addr addr;
	enum kube_proto proto;
	uint16_t port;
	uint64_t conns;
	uint64_t inpkts;
	uint64_t outpkts;
	uint64_t inbytes;
	uint64_t outbytes;
};

/*
 * Replaces the per-virtual-server traffic series (kipvs_virtual_server_connections_total,
 * _packets_total{direction}, _bytes_total{direction}, labelled namespace, service, port_name
 * and vip="10.96.0.10:53/udp"). Virtual servers absent from stats disappear. The strings are
 * copied. Meant for the on_scrape hook: the series last until the rendering that follows.
 * Returns 0 or -ENOMEM (the series are then empty).
 */
int health_vs_stats_set(struct health *h, const struct health_vs_stats *stats, size_t n)
    __attribute__((warn_unused_result));

/* ---- systemd notification (health_notify.c) ---- */

/*
 * A notifier for the socket named by socket_name (NULL: $NOTIFY_SOCKET): an absolute path or
 * an abstract name with a leading '@'. Without a socket name the notifier is inert: every
 * send succeeds and does nothing. Returns 0, -EINVAL (a name that is neither), -EAFNOSUPPORT
 * (another address family, e.g. vsock:), -ENOMEM or the -errno of socket(). Free with
 * health_notify_free().
 */
int health_notify_new(const char *socket_name, struct health_notify **ret)
    __attribute__((warn_unused_result));

/* Stops the watchdog timer, closes the socket. Accepts NULL; returns NULL. */
struct health_notify *health_notify_free(struct health_notify *n);

/* True when the notifier has a socket (systemd asked for notifications). */
bool health_notify_is_enabled(const struct health_notify *n);

/* Sends text (newline-separated assignments) as one datagram. 0 or -errno. */
int health_notify_send(struct health_notify *n, const char *text)
    __attribute__((warn_unused_result));

/*
 * "READY=1" plus "STATUS=<status>" (status may be NULL). A status is one line: newlines and
 * other control characters become spaces. 0 or -errno.
 */
int health_notify_ready(struct health_notify *n, const char *status)
    __attribute__((warn_unused_result));
int health_notify_status(struct health_notify *n, const char *status)
    __attribute__((warn_unused_result));
/* "STOPPING=1". 0 or -errno. */
int health_notify_stopping(struct health_notify *n) __attribute__((warn_unused_result));

/*
 * The watchdog interval systemd asked for, in microseconds: $WATCHDOG_USEC when set, valid,
 * and $WATCHDOG_PID is absent or this process. 0 when there is none.
 */
uint64_t health_notify_watchdog_usec(void);

/*
 * Sends WATCHDOG=1 every usec/2 from loop (usec 0: health_notify_watchdog_usec(); when that
 * is 0 too, or the notifier is inert, nothing starts and 0 is returned). The pings stop when
 * the loop stops turning, which is what the watchdog is for. 0 or -EINVAL.
 */
int health_notify_watchdog_start(struct health_notify *n, struct ev_loop *loop, uint64_t usec)
    __attribute__((warn_unused_result));
