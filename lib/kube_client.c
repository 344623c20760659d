/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Assembles the API client: kube_config -> kube_http -> one kube_reflector per kind, with
 * kube-proxy's Service selector on the server side unless --service-proxy-name asks for the
 * client-side filter. Also the "run until synced" helper for one-shot commands.
 */
#include "kube_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "cleanup.h"
#include "kube_config.h"
#include "kube_http.h"
#include "log.h"

struct kube_client {
	struct ev_loop *loop;
	struct kube_config *cfg;
	struct kube_http *http;
	struct kube_reflector *reflectors[_KUBE_KIND_MAX];
	char *node_selector;
};

struct kube_client *kube_client_free(struct kube_client *c)
{
	if (!c)
		return NULL;
	for (int k = 0; k < _KUBE_KIND_MAX; k++)
		c->reflectors[k] = kube_reflector_free(c->reflectors[k]);
	c->http = kube_http_free(c->http);
	c->cfg = kube_config_free(c->cfg);
	free(c->node_selector);
	free(c);
	return NULL;
}

static void kube_client_freep(struct kube_client **c)
{
	(void)kube_client_free(*c);
}

static const char *kube_client_auth_kind(const struct kube_config *cfg)
{
	if (cfg->cert_file || cfg->cert_data.data)
		return cfg->token || cfg->token_file ? "client-certificate+token" :
						       "client-certificate";
	if (cfg->token_file)
		return "token-file";
	if (cfg->token)
		return "token";
	return "none";
}

int kube_client_new(struct ev_loop *loop, struct kube_cache *cache,
		    const struct kube_client_options *opts, struct kube_client **ret_client,
		    char *err, size_t errlen)
{
	_cleanup_(kube_client_freep) struct kube_client *c = calloc(1, sizeof(*c));
	struct kube_config_options copts = {
		.kubeconfig = opts->kubeconfig,
		.master = opts->master,
		.sa_dir = opts->sa_dir,
	};
	struct kube_reflector_options ro = {
		.page_limit = opts->page_limit,
		.watch_timeout_s = opts->watch_timeout_s,
		.idle_limit_ms = opts->idle_limit_ms,
		.list_timeout_ms = opts->list_timeout_ms,
		.backoff_base_ms = opts->backoff_base_ms,
		.backoff_cap_ms = opts->backoff_cap_ms,
		.no_watch_list = opts->no_watch_list,
		.initial_events_wait_ms = opts->initial_events_wait_ms,
		.on_change = opts->on_change,
		.userdata = opts->userdata,
	};
	char q[512];
	int r;

	if (!c)
		return -ENOMEM;
	if (!opts->node_name || !*opts->node_name) {
		snprintf(err, errlen, "the node name is empty: give --hostname-override");
		return -EINVAL;
	}
	c->loop = loop;
	r = kube_config_load(&copts, &c->cfg, err, errlen);
	if (r < 0)
		return r;
	c->http = kube_http_new(loop, c->cfg);
	if (!c->http)
		return -ENOMEM;
	if (asprintf(&c->node_selector, "metadata.name=%s", opts->node_name) < 0) {
		c->node_selector = NULL;
		return -ENOMEM;
	}

	ro.kind = KUBE_KIND_SERVICE;
	ro.proxy_name = opts->proxy_name;
	/* One selector cannot say "absent or = X": with a proxy name, filter here instead. */
	ro.label_selector = opts->proxy_name ? NULL : KUBE_CLIENT_SERVICE_SELECTOR;
	c->reflectors[KUBE_KIND_SERVICE] = kube_reflector_new(loop, c->http, cache, &ro);
	ro.kind = KUBE_KIND_ENDPOINT_SLICE;
	ro.proxy_name = NULL;
	ro.label_selector = NULL;
	c->reflectors[KUBE_KIND_ENDPOINT_SLICE] = kube_reflector_new(loop, c->http, cache, &ro);
	ro.kind = KUBE_KIND_NODE;
	ro.field_selector = c->node_selector;
	c->reflectors[KUBE_KIND_NODE] = kube_reflector_new(loop, c->http, cache, &ro);
	for (int k = 0; k < _KUBE_KIND_MAX; k++)
		if (!c->reflectors[k])
			return -ENOMEM;
	r = kube_cache_set_node_name(cache, opts->node_name);
	if (r < 0)
		return r;

	log_info("kube", "api client configured", "server=%s source=%s auth=%s tls=%s",
		 log_quote(q, sizeof(q), c->cfg->server), c->cfg->source,
		 kube_client_auth_kind(c->cfg),
		 strncmp(c->cfg->server, "http://", 7) == 0 ? "none" :
		 c->cfg->insecure			    ? "insecure-skip-verify" :
							      "verified");
	if (c->cfg->in_cluster && !opts->master)
		log_warn("kube", "using in-cluster config through the kubernetes Service",
			 "server=%s hint=\"kipvs programs this ClusterIP itself: on a fresh node "
			 "it is not reachable until kipvs has synced; give --master or a "
			 "kubeconfig with the real API endpoint\"",
			 c->cfg->server);
	*ret_client = TAKE_PTR(c);
	return 0;
}

int kube_client_start(struct kube_client *c)
{
	for (int k = 0; k < _KUBE_KIND_MAX; k++) {
		int r = kube_reflector_start(c->reflectors[k]);

		if (r < 0)
			return r;
	}
	return 0;
}

bool kube_client_is_synced(const struct kube_client *c)
{
	for (int k = 0; k < _KUBE_KIND_MAX; k++)
		if (!kube_reflector_is_synced(c->reflectors[k]))
			return false;
	return true;
}

bool kube_client_is_in_cluster(const struct kube_client *c)
{
	return c->cfg->in_cluster;
}

struct kube_http *kube_client_http(const struct kube_client *c)
{
	return c->http;
}

struct kube_reflector *kube_client_reflector(const struct kube_client *c, enum kube_kind kind)
{
	return kind < _KUBE_KIND_MAX ? c->reflectors[kind] : NULL;
}

static void kube_client_on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	ev_break(loop, EVBREAK_ONE);
}

int kube_client_run_until_synced(struct kube_client *c, unsigned timeout_ms)
{
	ev_timer deadline;
	ev_tstamp end = ev_now(c->loop) + timeout_ms / 1000.0;

	ev_timer_init(&deadline, kube_client_on_deadline, timeout_ms / 1000.0, 0.);
	ev_timer_start(c->loop, &deadline);
	while (!kube_client_is_synced(c) && ev_now(c->loop) < end)
		(void)ev_run(c->loop, EVRUN_ONCE);
	ev_timer_stop(c->loop, &deadline);
	return kube_client_is_synced(c) ? 0 : -ETIMEDOUT;
}
