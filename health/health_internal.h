/* SPDX-License-Identifier: Apache-2.0 */
/*
 * health/-internal: the metrics registry, the HTTP server over libmicrohttpd and libev, and
 * the layout of struct health shared by its .c files. Included by the health/ sources and the
 * unit tests only.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <ev.h>

#include "health.h"

#define HEALTH_COMPONENT "health"

/* ---- Metrics registry (health_metrics.c) ---- */

enum health_metric_type {
	HEALTH_METRIC_COUNTER,
	HEALTH_METRIC_GAUGE,
	HEALTH_METRIC_HISTOGRAM,
	_HEALTH_METRIC_TYPE_MAX,
};

const char *health_metric_type_to_string(enum health_metric_type type);

struct health_metrics;
struct health_metric;

/* A new empty registry, or NULL on ENOMEM. */
struct health_metrics *health_metrics_new(void);
/* Frees the registry and its families. Accepts NULL; returns NULL. */
struct health_metrics *health_metrics_free(struct health_metrics *reg);

#define HEALTH_METRIC_LABELS_MAX 8

/*
 * Registers a family. label_names is NULL-terminated (NULL: no labels; at most
 * HEALTH_METRIC_LABELS_MAX); buckets (histograms only) are the upper bounds in increasing
 * order, without +Inf. A family without labels has its one series from the start (value 0).
 * Returns the family, owned by the registry, or NULL on ENOMEM.
 */
struct health_metric *health_metrics_add(struct health_metrics *reg, const char *name,
					 const char *help, enum health_metric_type type,
					 const char *const *label_names, const double *buckets,
					 size_t n_buckets);

/*
 * Series operations; label_values has one value per label name (NULL for a family without
 * labels). The series is created on first use. 0 or -ENOMEM; -EINVAL for an operation that
 * does not fit the type (observe on a counter, set on a histogram). Not warn_unused_result:
 * most callers deliberately let an update lost to ENOMEM go, with a (void) cast.
 */
int health_metric_set(struct health_metric *m, const char *const *label_values, double v);
int health_metric_add(struct health_metric *m, const char *const *label_values, double delta);
/* An exact 64-bit value (kernel counters), printed as an integer. */
int health_metric_set_u64(struct health_metric *m, const char *const *label_values, uint64_t v);
int health_metric_observe(struct health_metric *m, const char *const *label_values, double v);
/* Drops every series of a labelled family (a family without labels is reset to 0). */
void health_metric_clear(struct health_metric *m);

/*
 * Writes the registry in the Prometheus text exposition format 0.0.4: families in registration
 * order, each with # HELP and # TYPE, series sorted by label values; a labelled family without
 * series is left out. 0 or -EIO.
 */
int health_metrics_render(const struct health_metrics *reg, FILE *out)
    __attribute__((warn_unused_result));

/* Formats a sample value as Prometheus does ("+Inf", "NaN", "0.25", "3"). Returns buf. */
const char *health_metrics_format_value(double v, char *buf, size_t size);

/* ---- HTTP server (health_http.c) ---- */

struct health_http;

/* What a handler answers; the server frees body with free(). */
struct health_http_reply {
	unsigned status;
	const char *content_type;
	char *body;
	size_t len;
	/* Up to two extra headers; NULL names are skipped. */
	const char *header_names[2];
	char header_values[2][32];
};

/*
 * Answers one request. Called from the loop with the request line; fills reply (status,
 * content type, a malloc'd body). Returns 0, or -ENOMEM (the server answers 500).
 */
typedef int (*health_http_handler_fn)(void *userdata, const char *method, const char *url,
				      struct health_http_reply *reply);

/* Limits: connections per server, bytes of request header, seconds of idleness. */
#define HEALTH_HTTP_MAX_CONNECTIONS 64
#define HEALTH_HTTP_MAX_REQUEST 8192
#define HEALTH_HTTP_IDLE_TIMEOUT 10

/*
 * Listens on addr:port (addr NULL or unset: every IPv6 and IPv4 address, falling back to
 * 0.0.0.0 without IPv6; port 0: a free port) and serves fn on loop. Returns 0 and the server,
 * or the -errno of socket/bind/listen (-EADDRINUSE, -EACCES, ...), or -ENOMEM, or -EIO when
 * libmicrohttpd refuses to start. Free with health_http_free().
 */
int health_http_new(struct ev_loop *loop, const struct net_addr *addr, uint16_t port,
		    health_http_handler_fn fn, void *userdata, struct health_http **ret)
    __attribute__((warn_unused_result));
/* The port actually bound. */
uint16_t health_http_port(const struct health_http *srv);
/* Stops the watchers, closes the listener and every connection. Accepts NULL; returns NULL. */
struct health_http *health_http_free(struct health_http *srv);

/* ---- struct health (health_proxy.c, health_nodeport.c, health_stats.c) ---- */

struct health_svc;

struct health {
	struct ev_loop *loop;
	int64_t sync_period_ns;

	struct net_addr healthz_addr, metrics_addr;
	uint16_t healthz_port_cfg, metrics_port_cfg;
	bool healthz_enabled, metrics_enabled;
	struct health_http *healthz_srv;
	struct health_http *metrics_srv;

	/* Proxy health (kube-proxy's ProxierHealthServer). */
	int64_t last_updated_ns;   /* HEALTH_TIME_ZERO before the first sync */
	int64_t oldest_pending_ns; /* 0: nothing pending */
	bool node_eligible;

	/* Health-check node ports. */
	struct health_svc *svcs; /* uthash by "namespace/name" */
	struct net_addr *nodeport_addrs;
	size_t n_nodeport_addrs;
	ev_timer retry;

	/* Metrics. */
	struct health_metrics *metrics;
	struct health_metric *m_sync_duration;
	struct health_metric *m_sync_last;
	struct health_metric *m_sync_phase;
	struct health_metric *m_last_queued;
	struct health_metric *m_programming;
	struct health_metric *m_changes_pending[_HEALTH_CHANGE_MAX];
	struct health_metric *m_changes_total[_HEALTH_CHANGE_MAX];
	struct health_metric *m_no_local;
	struct health_metric *m_nl_ops;
	struct health_metric *m_nl_errors;
	struct health_metric *m_draining;
	struct health_metric *m_vs_conns;
	struct health_metric *m_vs_packets;
	struct health_metric *m_vs_bytes;
	void (*on_scrape)(void *userdata); /* health_config's */
	void *on_scrape_userdata;
};

/* health_stats.c: drops the per-virtual-server series (after a rendering). */
void health_vs_stats_clear(struct health *h);
/* health_stats.c: registers every family in h->metrics. 0 or -ENOMEM. */
int health_stats_init(struct health *h) __attribute__((warn_unused_result));

/* health_nodeport.c: closes and frees every health-check listener. */
void health_nodeport_clear(struct health *h);

/* The wall clock in unix nanoseconds. */
int64_t health_now_ns(void);
