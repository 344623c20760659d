/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kipvs plan: loads the objects (from files, or from the API server), computes the IPVS table
 * this node should have, and prints it as `ipvsadm -Sn` lines, so an operator can see what
 * kipvs would do before it does it. Objects it skipped or could not use go to stderr.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "cleanup.h"
#include "cmd.h"
#include "kube_cache.h"
#include "kube_client.h"
#include "kube_options.h"
#include "kube_source.h"
#include "log.h"
#include "net_addr.h"
#include "plan.h"

static void plan_usage(FILE *stream)
{
	fprintf(stream,
		"Usage: kipvs plan [OPTIONS]\n"
		"\n"
		"Prints the IPVS table this node should have, as `ipvsadm -Sn` lines\n"
		"(so `kipvs plan ... | ipvsadm -R` builds it). Skipped objects go to stderr.\n"
		"With neither --from nor --kubeconfig, the API server is found in-cluster.\n"
		"\n"
		"Options:\n");
	kube_options_help_write(stream, KUBE_OPTIONS_CMD_PLAN);
	fprintf(stream,
		"\n"
		"Exit status: 0 success, 1 the source cannot be read or the sync timed out,\n"
		"2 usage error or invalid value.\n");
}

/*
 * The API source (lib/kube_client.h): lists the three kinds through a private loop until all
 * are synced or --sync-timeout passes. Reports its failure on stderr; returns 0 or -errno.
 */
static int plan_source_api(const struct kube_options *o, struct kube_cache *cache)
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
		fprintf(stderr, "kipvs plan: %s\n", err);
	} else {
		r = kube_client_start(client);
		if (r == 0)
			r = kube_client_run_until_synced(
				client, o->sync_timeout_ms > UINT_MAX ? UINT_MAX
								      : (unsigned)o->sync_timeout_ms);
		if (r == -ETIMEDOUT)
			fprintf(stderr, "kipvs plan: not synced with the API server after %.3gs\n",
				(double)o->sync_timeout_ms / 1000);
		else if (r < 0)
			fprintf(stderr, "kipvs plan: API client: %s\n", strerror(-r));
	}
	client = kube_client_free(client);
	ev_loop_destroy(loop);
	return r;
}

/*
 * The seam between the command and its sources: fills the cache from --from files or from the
 * API server, and returns 0 once the initial state is complete, or a negative errno (the
 * failure is reported here; the command exits 1).
 */
static int plan_source_fill(const struct kube_options *o, struct kube_cache *cache)
{
	int r;

	if (!o->from)
		return plan_source_api(o, cache);
	r = kube_source_load(cache, o->from, o->proxy_name);
	if (r == -EBADMSG) {
		/* Each unparsable file was logged; the plan of the others would be partial. */
		fprintf(stderr, "kipvs plan: %s: some files could not be parsed\n", o->from);
		return r;
	}
	if (r < 0) {
		fprintf(stderr, "kipvs plan: %s: %s\n", o->from, strerror(-r));
		return r;
	}
	return 0;
}

static void plan_on_note(const struct plan_note *note, void *userdata)
{
	char detail[320];
	const char *key = note->object_kind == KUBE_KIND_SERVICE ? "svc" : "slice";

	(void)userdata;
	log_write(LOG_LEVEL_INFO, "plan", plan_note_kind_to_string(note->kind),
		  "kind=%s %s=%s/%s detail=%s", kube_kind_to_string(note->object_kind), key,
		  note->ns, note->name, log_quote(detail, sizeof(detail), note->detail));
}

static void plan_cache_freep(struct kube_cache **cache)
{
	(void)kube_cache_free(*cache);
}

/* Loads, plans and prints; returns the exit status. */
static int plan_run(const struct kube_options *o)
{
	_cleanup_(plan_cache_freep) struct kube_cache *cache = NULL;
	_cleanup_(plan_table_clear) struct plan_table table = { 0 };
	_cleanup_free_ struct net_addr *node_addrs = NULL;
	int n_addrs;

	cache = kube_cache_new();
	if (!cache || kube_cache_set_node_name(cache, o->hostname) < 0) {
		fprintf(stderr, "kipvs plan: out of memory\n");
		return EXIT_RUNTIME;
	}
	if (plan_source_fill(o, cache) < 0)
		return EXIT_RUNTIME;

	n_addrs = plan_node_addrs_resolve(o->node_ips, o->n_node_ips, kube_cache_get_node(cache),
					  o->nodeport_cidrs, o->n_nodeport_cidrs, &node_addrs);
	if (n_addrs < 0) {
		fprintf(stderr, "kipvs plan: out of memory\n");
		return EXIT_RUNTIME;
	}
	if (n_addrs == 0)
		log_write(LOG_LEVEL_WARN, "plan", "no node address: no NodePort virtual server",
			  "node=%s hint=\"pass --node-ip, or include this node's Node object\"",
			  o->hostname);

	const struct plan_input in = {
		.cache = cache,
		.node_name = o->hostname,
		.node_addrs = node_addrs,
		.n_node_addrs = (size_t)n_addrs,
		.scheduler = o->scheduler,
		.proxy_name = o->proxy_name,
		.note = plan_on_note,
	};
	if (plan_build(&in, &table) < 0) {
		fprintf(stderr, "kipvs plan: out of memory\n");
		return EXIT_RUNTIME;
	}
	if (plan_table_write(&table, stdout) < 0 || fflush(stdout) == EOF) {
		fprintf(stderr, "kipvs plan: cannot write the plan: %s\n", strerror(errno));
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

int cmd_plan_main(int argc, char **argv)
{
	_cleanup_(kube_options_clear) struct kube_options o = { 0 };
	char err[512];
	int r;

	if (cmd_wants_help(argc, argv)) {
		plan_usage(stdout);
		return EXIT_OK;
	}
	r = kube_options_parse(&o, KUBE_OPTIONS_CMD_PLAN, argc, argv, err, sizeof(err));
	if (r == -EINVAL) {
		fprintf(stderr, "%s\nTry 'kipvs plan --help'.\n", err);
		return EXIT_USAGE;
	}
	if (r < 0) {
		fprintf(stderr, "kipvs plan: out of memory\n");
		return EXIT_RUNTIME;
	}
	log_set_verbosity(o.verbosity);
	return plan_run(&o);
}
