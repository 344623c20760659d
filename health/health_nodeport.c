/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Health-check node ports: for every Service with a non-zero healthCheckNodePort, an HTTP
 * server on that port answering kube-proxy's JSON (local ready endpoints and proxy health) on
 * any path, so a cloud load balancer sends traffic only to nodes with a ready local endpoint.
 * Listeners follow the Services the daemon pushes; one that cannot bind is retried alone.
 */
#include "health_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "cleanup.h"
#include "log.h"

#define HEALTH_RETRY_SECONDS 5.

struct health_svc {
	UT_hash_handle hh;
	struct health *h;
	char *key; /* "namespace/name" */
	char *ns;
	char *name;
	uint16_t port;
	unsigned local_endpoints;
	/* One server per node port address (one for all addresses); NULL while unbound. */
	struct health_http **srvs;
	size_t n_srvs;
	int *last_err; /* per server: the last bind error logged at warn, 0 when none */
};

static int health_svc_on_request(void *userdata, const char *method, const char *url,
				 struct health_http_reply *reply)
{
	struct health_svc *svc = userdata;
	bool healthy = health_is_healthy(svc->h, health_now_ns());
	char body[1024];
	int n;

	n = health_service_body(body, sizeof(body), svc->ns, svc->name, svc->local_endpoints,
				healthy);
	if (n < 0)
		return n;
	reply->body = strdup(body);
	if (!reply->body)
		return -ENOMEM;
	reply->len = (size_t)n;
	reply->status = svc->local_endpoints > 0 && healthy ? 200 : 503;
	reply->content_type = "application/json";
	reply->header_names[0] = "X-Content-Type-Options";
	snprintf(reply->header_values[0], sizeof(reply->header_values[0]), "nosniff");
	reply->header_names[1] = "X-Load-Balancing-Endpoint-Weight";
	snprintf(reply->header_values[1], sizeof(reply->header_values[1]), "%u",
		 svc->local_endpoints);
	return 0;
}

static void health_svc_close(struct health_svc *svc)
{
	for (size_t i = 0; i < svc->n_srvs; i++) {
		svc->srvs[i] = health_http_free(svc->srvs[i]);
		svc->last_err[i] = 0;
	}
}

static struct health_svc *health_svc_free(struct health_svc *svc)
{
	if (!svc)
		return NULL;
	if (svc->srvs)
		health_svc_close(svc);
	free(svc->srvs);
	free(svc->last_err);
	free(svc->key);
	free(svc->ns);
	free(svc->name);
	free(svc);
	return NULL;
}

/* Sizes the server arrays for the current node port addresses (all closed). 0 or -ENOMEM. */
static int health_svc_resize(struct health_svc *svc)
{
	size_t n = svc->h->n_nodeport_addrs ? svc->h->n_nodeport_addrs : 1;
	struct health_http **srvs = calloc(n, sizeof(*srvs));
	int *errs = calloc(n, sizeof(*errs));

	if (!srvs || !errs) {
		free(srvs);
		free(errs);
		return -ENOMEM;
	}
	if (svc->srvs)
		health_svc_close(svc);
	free(svc->srvs);
	free(svc->last_err);
	svc->srvs = srvs;
	svc->last_err = errs;
	svc->n_srvs = n;
	return 0;
}

/* Opens the unbound listeners of svc. Returns true when all are bound. */
static bool health_svc_bind(struct health_svc *svc)
{
	struct health *h = svc->h;
	bool all = true;

	for (size_t i = 0; i < svc->n_srvs; i++) {
		const struct net_addr *addr = h->n_nodeport_addrs ? &h->nodeport_addrs[i] : NULL;
		char where[NET_ADDR_STRLEN];
		int r;

		if (svc->srvs[i])
			continue;
		if (addr)
			net_addr_format_port(addr, svc->port, where);
		else
			snprintf(where, sizeof(where), "*:%u", svc->port);
		r = health_http_new(h->loop, addr, svc->port, health_svc_on_request, svc,
				    &svc->srvs[i]);
		if (r == 0) {
			log_write(svc->last_err[i] ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG,
				  HEALTH_COMPONENT, "health check node port listening",
				  "svc=%s listen=%s", svc->key, where);
			svc->last_err[i] = 0;
			continue;
		}
		all = false;
		/* Warn once per error; the 5 s retries log at debug until something changes. */
		log_write(svc->last_err[i] == r ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN,
			  HEALTH_COMPONENT, "health check node port cannot listen",
			  "svc=%s listen=%s err=\"%s\" errno=%s retry_in=5s", svc->key, where,
			  strerror(-r), strerrorname_np(-r) ? strerrorname_np(-r) : "?");
		svc->last_err[i] = r;
	}
	return all;
}

static void health_on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct health *h = container_of(w, struct health, retry);
	struct health_svc *svc, *tmp;
	bool all = true;

	HASH_ITER(hh, h->svcs, svc, tmp)
	{
		if (!health_svc_bind(svc))
			all = false;
	}
	if (all)
		ev_timer_stop(loop, w);
}

static void health_svc_open(struct health *h, struct health_svc *svc)
{
	if (!health_svc_bind(svc) && !ev_is_active(&h->retry)) {
		ev_timer_init(&h->retry, health_on_retry, HEALTH_RETRY_SECONDS,
			      HEALTH_RETRY_SECONDS);
		ev_timer_start(h->loop, &h->retry);
	}
}

static struct health_svc *health_svc_find(const struct health *h, const char *ns, const char *name)
{
	struct health_svc *svc = NULL;
	char *key;

	if (asprintf(&key, "%s/%s", ns, name) < 0)
		return NULL;
	HASH_FIND_STR(h->svcs, key, svc);
	free(key);
	return svc;
}

void health_service_delete(struct health *h, const char *ns, const char *name)
{
	struct health_svc *svc = health_svc_find(h, ns, name);

	if (!svc)
		return;
	log_debug(HEALTH_COMPONENT, "health check node port closed", "svc=%s port=%u", svc->key,
		  svc->port);
	HASH_DEL(h->svcs, svc);
	health_svc_free(svc);
}

int health_service_set(struct health *h, const char *ns, const char *name, uint16_t hc_port,
		       unsigned local_endpoints)
{
	struct health_svc *svc;

	if (hc_port == 0) {
		health_service_delete(h, ns, name);
		return 0;
	}
	svc = health_svc_find(h, ns, name);
	if (!svc) {
		svc = calloc(1, sizeof(*svc));
		if (!svc)
			return -ENOMEM;
		svc->h = h;
		svc->ns = strdup(ns);
		svc->name = strdup(name);
		if (!svc->ns || !svc->name || asprintf(&svc->key, "%s/%s", ns, name) < 0) {
			svc->key = NULL;
			health_svc_free(svc);
			return -ENOMEM;
		}
		if (health_svc_resize(svc) < 0) {
			health_svc_free(svc);
			return -ENOMEM;
		}
		svc->port = hc_port;
		HASH_ADD_KEYPTR(hh, h->svcs, svc->key, strlen(svc->key), svc);
	} else if (svc->port != hc_port) {
		log_info(HEALTH_COMPONENT, "health check node port changed", "svc=%s from=%u to=%u",
			 svc->key, svc->port, hc_port);
		health_svc_close(svc);
		svc->port = hc_port;
	}
	svc->local_endpoints = local_endpoints;
	health_svc_open(h, svc);
	return 0;
}

bool health_service_is_listening(const struct health *h, const char *ns, const char *name)
{
	const struct health_svc *svc = health_svc_find(h, ns, name);

	if (!svc || svc->port == 0)
		return false;
	for (size_t i = 0; i < svc->n_srvs; i++)
		if (!svc->srvs[i])
			return false;
	return true;
}

int health_nodeport_addrs_set(struct health *h, const struct net_addr *addrs, size_t n)
{
	struct net_addr *copy = NULL;
	struct health_svc *svc, *tmp;
	int r = 0;

	if (n > 0) {
		copy = calloc(n, sizeof(*copy));
		if (!copy)
			return -ENOMEM;
		memcpy(copy, addrs, n * sizeof(*copy));
	}
	free(h->nodeport_addrs);
	h->nodeport_addrs = copy;
	h->n_nodeport_addrs = n;
	HASH_ITER(hh, h->svcs, svc, tmp)
	{
		if (health_svc_resize(svc) < 0) {
			/* Without its arrays the Service cannot listen: drop it, report ENOMEM. */
			HASH_DEL(h->svcs, svc);
			health_svc_free(svc);
			r = -ENOMEM;
			continue;
		}
		health_svc_open(h, svc);
	}
	return r;
}

void health_nodeport_clear(struct health *h)
{
	struct health_svc *svc, *tmp;

	HASH_ITER(hh, h->svcs, svc, tmp)
	{
		HASH_DEL(h->svcs, svc);
		health_svc_free(svc);
	}
	if (h->loop)
		ev_timer_stop(h->loop, &h->retry);
}
