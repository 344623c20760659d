/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The health service: its lifecycle, the proxy health state (kube-proxy's ProxierHealthServer:
 * healthy while no queued change has waited longer than twice the sync period), and the two
 * fixed servers: /healthz and /livez on --healthz-bind-address, /proxyMode and /metrics on
 * --metrics-bind-address.
 */
#include "health_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uthash.h>

#include "cleanup.h"
#include "log.h"

int64_t health_now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Seconds since the epoch, split so that the fraction survives the conversion to double. */
static double health_ns_to_seconds(int64_t ns)
{
	return (double)(ns / 1000000000LL) + (double)(ns % 1000000000LL) / 1e9;
}

const char *health_change_to_string(enum health_change change)
{
	switch (change) {
	case HEALTH_CHANGE_SERVICE:
		return "service";
	case HEALTH_CHANGE_ENDPOINTS:
		return "endpoints";
	case _HEALTH_CHANGE_MAX:
		break;
	}
	return "unknown";
}

static int health_reply_text(struct health_http_reply *reply, unsigned status,
			     const char *content_type, const char *text)
{
	reply->status = status;
	reply->content_type = content_type;
	reply->body = strdup(text);
	if (!reply->body)
		return -ENOMEM;
	reply->len = strlen(text);
	return 0;
}

static int health_reply_not_found(struct health_http_reply *reply)
{
	/* Go's http.NotFound, which kube-proxy's mux answers. */
	return health_reply_text(reply, 404, "text/plain; charset=utf-8", "404 page not found\n");
}

bool health_is_healthy(const struct health *h, int64_t now_ns)
{
	if (h->oldest_pending_ns == 0)
		return true;
	return now_ns - h->oldest_pending_ns <= 2 * h->sync_period_ns;
}

/* /healthz and /livez, as kube-proxy's healthz and livez handlers. */
static int health_on_healthz_request(void *userdata, const char *method, const char *url,
				     struct health_http_reply *reply)
{
	struct health *h = userdata;
	int64_t now = health_now_ns();
	bool healthy = health_is_healthy(h, now);
	bool healthz = strcmp(url, "/healthz") == 0;
	char body[256];
	int n;

	if (!healthz && strcmp(url, "/livez") != 0)
		return health_reply_not_found(reply);
	n = health_proxy_body(body, sizeof(body), h->last_updated_ns, now, healthz,
			      h->node_eligible);
	if (n < 0)
		return n;
	if (healthz)
		healthy = healthy && h->node_eligible;
	reply->header_names[0] = "X-Content-Type-Options";
	snprintf(reply->header_values[0], sizeof(reply->header_values[0]), "nosniff");
	return health_reply_text(reply, healthy ? 200 : 503, "application/json", body);
}

static int health_reply_metrics(struct health *h, struct health_http_reply *reply)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	int r;

	if (!out)
		return -ENOMEM;
	if (h->on_scrape)
		h->on_scrape(h->on_scrape_userdata);
	r = health_metrics_render(h->metrics, out);
	health_vs_stats_clear(h); /* tens of thousands of series at scale: not kept between scrapes */
	if (fclose(out) != 0 && r == 0)
		r = -ENOMEM;
	if (r < 0) {
		free(buf);
		return r;
	}
	reply->status = 200;
	reply->content_type = "text/plain; version=0.0.4; charset=utf-8";
	reply->body = buf;
	reply->len = len;
	return 0;
}

static int health_on_metrics_request(void *userdata, const char *method, const char *url,
				     struct health_http_reply *reply)
{
	struct health *h = userdata;

	if (strcmp(url, "/proxyMode") == 0)
		return health_reply_text(reply, 200, "text/plain; charset=utf-8", "ipvs");
	if (strcmp(url, "/metrics") == 0)
		return health_reply_metrics(h, reply);
	if (strcmp(url, "/healthz") == 0)
		return health_reply_text(reply, 200, "text/plain; charset=utf-8", "ok");
	return health_reply_not_found(reply);
}

/* Parses a bind option: NULL takes the default, "off" disables. */
static int health_bind_option(const char *text, const char *dflt, uint16_t dflt_port,
			      struct net_addr *ret_addr, uint16_t *ret_port, bool *ret_enabled)
{
	if (text && strcmp(text, "off") == 0) {
		*ret_enabled = false;
		return 0;
	}
	*ret_enabled = true;
	return health_bind_parse(text ? text : dflt, dflt_port, ret_addr, ret_port);
}

int health_new(struct ev_loop *loop, const struct health_config *cfg, struct health **ret)
{
	struct health *h;
	int r;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->loop = loop;
	h->sync_period_ns = cfg->sync_period_ns;
	h->last_updated_ns = HEALTH_TIME_ZERO;
	h->node_eligible = true;
	h->on_scrape = cfg->on_scrape;
	h->on_scrape_userdata = cfg->on_scrape_userdata;
	r = health_bind_option(cfg->healthz_bind, HEALTH_HEALTHZ_BIND_DEFAULT, 10256,
			       &h->healthz_addr, &h->healthz_port_cfg, &h->healthz_enabled);
	if (r == 0)
		r = health_bind_option(cfg->metrics_bind, HEALTH_METRICS_BIND_DEFAULT, 10249,
				       &h->metrics_addr, &h->metrics_port_cfg, &h->metrics_enabled);
	if (r == 0)
		r = health_nodeport_addrs_set(h, cfg->nodeport_addrs, cfg->n_nodeport_addrs);
	if (r == 0) {
		h->metrics = health_metrics_new();
		r = h->metrics ? health_stats_init(h) : -ENOMEM;
	}
	if (r < 0) {
		health_free(h);
		return r;
	}
	*ret = h;
	return 0;
}

int health_start(struct health *h, const char **ret_which)
{
	int r;

	if (h->healthz_enabled && !h->healthz_srv) {
		r = health_http_new(h->loop, &h->healthz_addr, h->healthz_port_cfg,
				    health_on_healthz_request, h, &h->healthz_srv);
		if (r < 0) {
			if (ret_which)
				*ret_which = "healthz";
			return r;
		}
	}
	if (h->metrics_enabled && !h->metrics_srv) {
		r = health_http_new(h->loop, &h->metrics_addr, h->metrics_port_cfg,
				    health_on_metrics_request, h, &h->metrics_srv);
		if (r < 0) {
			if (ret_which)
				*ret_which = "metrics";
			return r;
		}
	}
	return 0;
}

uint16_t health_healthz_port(const struct health *h)
{
	return health_http_port(h->healthz_srv);
}

uint16_t health_metrics_port(const struct health *h)
{
	return health_http_port(h->metrics_srv);
}

struct health *health_free(struct health *h)
{
	if (!h)
		return NULL;
	health_nodeport_clear(h);
	free(h->nodeport_addrs);
	h->healthz_srv = health_http_free(h->healthz_srv);
	h->metrics_srv = health_http_free(h->metrics_srv);
	h->metrics = health_metrics_free(h->metrics);
	free(h);
	return NULL;
}

void health_change_queued(struct health *h, enum health_change kind, int64_t now_ns)
{
	if (h->oldest_pending_ns == 0)
		h->oldest_pending_ns = now_ns;
	(void)health_metric_add(h->m_changes_total[kind], NULL, 1);
	(void)health_metric_set(h->m_last_queued, NULL, health_ns_to_seconds(now_ns));
}

void health_changes_pending_set(struct health *h, size_t services, size_t endpoints)
{
	(void)health_metric_set(h->m_changes_pending[HEALTH_CHANGE_SERVICE], NULL,
				(double)services);
	(void)health_metric_set(h->m_changes_pending[HEALTH_CHANGE_ENDPOINTS], NULL,
				(double)endpoints);
}

void health_synced(struct health *h, int64_t start_ns, int64_t end_ns)
{
	h->last_updated_ns = end_ns;
	h->oldest_pending_ns = 0;
	health_changes_pending_set(h, 0, 0);
	(void)health_metric_observe(h->m_sync_duration, NULL, (double)(end_ns - start_ns) / 1e9);
	(void)health_metric_set(h->m_sync_last, NULL, health_ns_to_seconds(end_ns));
}

void health_node_eligible_set(struct health *h, bool eligible)
{
	if (h->node_eligible != eligible)
		log_info(HEALTH_COMPONENT, "node eligibility changed", "from=%s to=%s",
			 h->node_eligible ? "eligible" : "ineligible",
			 eligible ? "eligible" : "ineligible");
	h->node_eligible = eligible;
}
