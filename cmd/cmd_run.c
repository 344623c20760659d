/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kipvs run: parses the options, then either does one full sync and exits (--once: load IPVS,
 * sync, print the summary line, exit 0 only when the kernel matches), or hands over to the
 * long-running daemon (daemon_run(), cmd/daemon.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "cleanup.h"
#include "cmd.h"
#include "cmd_source.h"
#include "daemon.h"
#include "ipvs.h"
#include "kube_options.h"
#include "log.h"
#include "plan.h"

static void run_usage(FILE *stream)
{
	fprintf(stream,
		"Usage: kipvs run [OPTIONS]\n"
		"\n"
		"Keeps this node's IPVS table in step with the cluster. With --once, does one full\n"
		"sync, prints one line on stderr\n"
		"  sync: services +A ~C -D, destinations +A ~C -D, addresses +A -D, draining N, took T ms\n"
		"and exits.\n"
		"\n"
		"Options:\n");
	kube_options_help_write(stream, KUBE_OPTIONS_CMD_RUN);
	fprintf(stream,
		"\n"
		"Exit status: 0 success (with --once: the kernel now matches the plan plus what is\n"
		"still draining), 1 runtime failure, 2 usage error or invalid value.\n");
}

/* The node configuration the options describe (shared by --once; the daemon builds its own). */
static void run_node_config(const struct kube_options *o, struct ipvs_node_config *ret)
{
	*ret = (struct ipvs_node_config){
		.proc_root = "/proc",
		.state_dir = IPVS_NODE_STATE_DIR,
		.dummy_ifname = o->dummy_interface,
		.scheduler = o->scheduler,
		.drain_timeout_ms = o->drain_timeout_ms,
		.exclude_cidrs = o->exclude_cidrs,
		.n_exclude_cidrs = o->n_exclude_cidrs,
		.tcp_timeout = (uint32_t)(o->tcp_timeout_ms / 1000),
		.tcpfin_timeout = (uint32_t)(o->tcpfin_timeout_ms / 1000),
		.udp_timeout = (uint32_t)(o->udp_timeout_ms / 1000),
	};
}

static bool run_table_has_ipv6(const struct plan_table *t)
{
	for (size_t i = 0; i < t->n_vs; i++)
		if (t->vs[i].addr.family == AF_INET6)
			return true;
	return false;
}

/* --once: one full sync; returns the exit status. */
static int run_once(const struct kube_options *o)
{
	_cleanup_(plan_table_clear) struct plan_table table = { 0 };
	struct ipvs_node_config cfg;
	struct ipvs_node *node = NULL;
	struct ipvs_node_result res = { 0 };
	char err[512], line[256];
	bool ok;
	int r;

	if (cmd_source_plan(o, "kipvs run", &table) < 0)
		return EXIT_RUNTIME;
	run_node_config(o, &cfg);
	cfg.ipv6 = run_table_has_ipv6(&table);
	r = ipvs_node_open(&cfg, &node, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "kipvs run: %s\n", err);
		return EXIT_RUNTIME;
	}
	r = ipvs_node_sync(node, &table, &res);
	if (r < 0) {
		fprintf(stderr, "kipvs run: sync failed: %s\n", strerror(-r));
		node = ipvs_node_free(node);
		return EXIT_RUNTIME;
	}
	ipvs_node_result_format(&res, line, sizeof(line));
	fprintf(stderr, "%s\n", line);
	/* The details the fixed summary line leaves out (with -v): batches = sendmsg calls. */
	log_debug("run", "sync details", "operations=%u batches=%u repaired=%u failed=%u",
		  res.sync.operations, res.sync.batches, res.sync.repaired, res.sync.failed);
	ok = res.sync.failed == 0 && ipvs_node_matches(node, &table);
	node = ipvs_node_free(node);
	if (!ok) {
		fprintf(stderr, "kipvs run: the kernel does not match the plan after the sync "
				"(see the failures above)\n");
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

int cmd_run_main(int argc, char **argv)
{
	_cleanup_(kube_options_clear) struct kube_options o = { 0 };
	char err[512];
	int r;

	if (cmd_wants_help(argc, argv)) {
		run_usage(stdout);
		return EXIT_OK;
	}
	r = kube_options_parse(&o, KUBE_OPTIONS_CMD_RUN, argc, argv, err, sizeof(err));
	if (r == -EINVAL) {
		fprintf(stderr, "%s\nTry 'kipvs run --help'.\n", err);
		return EXIT_USAGE;
	}
	if (r < 0) {
		fprintf(stderr, "kipvs run: out of memory\n");
		return EXIT_RUNTIME;
	}
	log_set_verbosity(o.verbosity);
	if (o.once)
		return run_once(&o);
	return daemon_run(&o);
}
