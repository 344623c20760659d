/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where `kipvs plan` and `kipvs run --once` get their desired table: the objects from --from
 * files or from the API server (a private loop until the first full list), then the node's
 * addresses and plan_build() (and for --once the packet path's sets, plan_fw_build()). One
 * place, so the two commands cannot disagree.
 */
#include "cmd_source.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "cleanup.h"
#include "daemon.h"
#include "kube_cache.h"
#include "kube_client.h"
#include "kube_options.h"
#include "kube_source.h"
#include "log.h"
#include "net_addr.h"
#include "plan.h"
#include "plan_fw.h"

/*
 * The API source (lib/kube_client.h): lists the three kinds through a private loop until all
 * are synced or --sync-timeout passes. Reports its failure on stderr; returns 0 or -errno.
 */
static int cmd_source_api(const struct kube_options *o, const char *who, struct kube_cache *cache)
{
	struct kube_client_options copts = {
		.kubeconfig = o->kubeconfig,
		.master = o->master,
		.node_name = o->hostname,
		.proxy_name = o->proxy_name,
	};
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct kube_client *client = NULL;
	char err[512];
	int r;

	if (!loop)
		return -ENOMEM;
	r = kube_client_new(loop, cache, &copts, &client, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", who, err);
	} else {
		r = kube_client_start(client);
		if (r == 0)
			r = kube_client_run_until_synced(
				client, o->sync_timeout_ms > UINT_MAX ? UINT_MAX
								      : (unsigned)o->sync_timeout_ms);
		if (r == -ETIMEDOUT)
			fprintf(stderr, "%s: not synced with the API server after %.3gs\n", who,
				(double)o->sync_timeout_ms / 1000);
		else if (r < 0)
			fprintf(stderr, "%s: API client: %s\n", who, strerror(-r));
	}
	client = kube_client_free(client);
	ev_loop_destroy(loop);
	return r;
}

/*
 * The seam between the commands and their sources: fills the cache from --from files or from
 * the API server, and returns 0 once the initial state is complete, or a negative errno (the
 * failure is reported here; the command exits 1).
 */
static int cmd_source_fill(const struct kube_options *o, const char *who, struct kube_cache *cache)
{
	int r;

	if (!o->from)
		return cmd_source_api(o, who, cache);
	r = kube_source_load(cache, o->from, o->proxy_name);
	if (r == -EBADMSG) {
		/* Each unparsable file was logged; the plan of the others would be partial. */
		fprintf(stderr, "%s: %s: some files could not be parsed\n", who, o->from);
		return r;
	}
	if (r < 0) {
		fprintf(stderr, "%s: %s: %s\n", who, o->from, strerror(-r));
		return r;
	}
	return 0;
}

static void cmd_source_on_note(const struct plan_note *note, void *userdata)
{
	char detail[320];
	const char *key = note->object_kind == KUBE_KIND_SERVICE ? "svc" : "slice";

	(void)userdata;
	log_write(LOG_LEVEL_INFO, "plan", plan_note_kind_to_string(note->kind),
		  "kind=%s %s=%s/%s detail=%s", kube_kind_to_string(note->object_kind), key,
		  note->ns, note->name, log_quote(detail, sizeof(detail), note->detail));
}

static void cmd_source_cache_freep(struct kube_cache **cache)
{
	(void)kube_cache_free(*cache);
}

int cmd_source_plan(const struct kube_options *o, const char *who, bool kernel_addrs,
		    struct plan_table *ret_table)
{
	return cmd_source_plan_fw(o, who, kernel_addrs, ret_table, NULL);
}

int cmd_source_plan_fw(const struct kube_options *o, const char *who, bool kernel_addrs,
		       struct plan_table *ret_table, struct plan_fw *ret_fw)
{
	_cleanup_(cmd_source_cache_freep) struct kube_cache *cache = NULL;
	_cleanup_free_ struct net_addr *if_addrs = NULL, *node_addrs = NULL;
	struct plan_node_addrs_input ain;
	int n_addrs, r;

	cache = kube_cache_new();
	if (!cache || kube_cache_set_node_name(cache, o->hostname) < 0) {
		fprintf(stderr, "%s: out of memory\n", who);
		return -ENOMEM;
	}
	r = cmd_source_fill(o, who, cache);
	if (r < 0)
		return r;

	if (kernel_addrs) {
		r = daemon_node_addrs_input(o, kube_cache_get_node(cache), &ain, &if_addrs);
		if (r < 0) {
			fprintf(stderr, "%s: cannot read this node's interface addresses: %s\n",
				who, strerror(-r));
			return r;
		}
	} else {
		plan_node_addrs_input_init(&ain, o, kube_cache_get_node(cache));
	}
	n_addrs = plan_node_addrs_resolve(&ain, &node_addrs);
	if (n_addrs < 0) {
		fprintf(stderr, "%s: out of memory\n", who);
		return n_addrs;
	}
	if (n_addrs == 0 && plan_cache_has_node_port(cache, o->proxy_name)) {
		char fields[512];

		log_write(LOG_LEVEL_WARN, "plan", PLAN_NODE_ADDRS_NONE_MSG, "%s",
			  plan_node_addrs_none_fields(&ain, fields, sizeof(fields)));
	}

	const struct plan_input in = {
		.cache = cache,
		.node_name = o->hostname,
		.node_addrs = node_addrs,
		.n_node_addrs = (size_t)n_addrs,
		.scheduler = o->scheduler,
		.proxy_name = o->proxy_name,
		.note = cmd_source_on_note,
	};
	r = plan_build(&in, ret_table);
	if (r < 0) {
		fprintf(stderr, "%s: out of memory\n", who);
		return r;
	}
	if (!ret_fw)
		return 0;

	const struct plan_fw_input fin = {
		.plan = ret_table,
		.cache = cache,
		.node_addrs = node_addrs,
		.n_node_addrs = (size_t)n_addrs,
	};
	r = plan_fw_build(&fin, ret_fw);
	if (r < 0) {
		plan_table_clear(ret_table);
		fprintf(stderr, "%s: out of memory\n", who);
		return r;
	}
	return 0;
}
