/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kipvs plan: loads the objects (from files, or from the API server), computes the IPVS table
 * this node should have, and prints it as `ipvsadm -Sn` lines, so an operator can see what
 * kipvs would do before it does it. Objects it skipped or could not use go to stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cmd.h"
#include "cmd_source.h"
#include "ipvs.h"
#include "kube_options.h"
#include "log.h"
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
		"With --diff, prints instead the operations a sync would make on this node's\n"
		"IPVS table (`ipvsadm -R` lines: -A/-E/-D, -a/-e/-d), without making them.\n"
		"\n"
		"Exit status: 0 success, 1 the source cannot be read or the sync timed out,\n"
		"2 usage error or invalid value.\n");
}

/* Prints the operations a sync would make (--diff); returns the exit status. */
static int plan_diff(const struct kube_options *o, const struct plan_table *table)
{
	const struct ipvs_node_config cfg = {
	    .proc_root = "/proc",
	    .state_dir = IPVS_NODE_STATE_DIR,
	    .dummy_ifname = o->dummy_interface,
	    .scheduler = o->scheduler,
	    .drain_timeout_ms = o->drain_timeout_ms,
	    .exclude_cidrs = o->exclude_cidrs,
	    .n_exclude_cidrs = o->n_exclude_cidrs,
	    .read_only = true,
	};
	struct ipvs_node *node = NULL;
	char err[512];
	int r;

	r = ipvs_node_open(&cfg, &node, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "kipvs plan --diff: %s\n", err);
		return EXIT_RUNTIME;
	}
	r = ipvs_node_plan_diff(node, table, stdout);
	node = ipvs_node_free(node);
	if (r < 0) {
		fprintf(stderr, "kipvs plan --diff: cannot read IPVS: %s\n", strerror(-r));
		return EXIT_RUNTIME;
	}
	if (fflush(stdout) == EOF) {
		fprintf(stderr, "kipvs plan: cannot write the diff: %s\n", strerror(errno));
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

/* Loads, plans and prints; returns the exit status. */
static int plan_run(const struct kube_options *o)
{
	_cleanup_(plan_table_clear) struct plan_table table = {0};

	/* --diff shows what a sync of `run` would change, so it takes run's node addresses. */
	if (cmd_source_plan(o, "kipvs plan", o->diff, &table) < 0)
		return EXIT_RUNTIME;
	if (o->diff)
		return plan_diff(o, &table);
	if (plan_table_write(&table, stdout) < 0 || fflush(stdout) == EOF) {
		fprintf(stderr, "kipvs plan: cannot write the plan: %s\n", strerror(errno));
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

int cmd_plan_main(int argc, char **argv)
{
	_cleanup_(kube_options_clear) struct kube_options o = {0};
	int r;

	r = cmd_options_begin(argc, argv, KUBE_OPTIONS_CMD_PLAN, "plan", plan_usage, &o);
	if (r != CMD_CONTINUE)
		return r;
	return plan_run(&o);
}
