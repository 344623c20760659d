/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kipvs run: parses the options, then either does one full sync and exits (--once: the
 * daemon's own sync of IPVS and the nftables packet path, daemon_sync_once(); print the summary
 * line, exit 0 only when the kernel matches), or hands over to the daemon (daemon_run()).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "cmd.h"
#include "cmd_source.h"
#include "daemon.h"
#include "ipvs.h"
#include "kube_options.h"
#include "log.h"
#include "plan.h"
#include "plan_fw.h"

static void run_usage(FILE *stream)
{
	fprintf(stream,
		"Usage: kipvs run [OPTIONS]\n"
		"\n"
		"Keeps this node's IPVS table and its nftables packet path (table inet kipvs) in\n"
		"step with the cluster. With --once, does one full sync, prints one line on stderr\n"
		"  sync: services +A ~C -D, destinations +A ~C -D, addresses +A -D, draining N, took T ms\n"
		"and exits.\n"
		"\n"
		"Options:\n");
	kube_options_help_write(stream, KUBE_OPTIONS_CMD_RUN);
	fprintf(stream,
		"\n"
		"Exit status: 0 success (with --once: the kernel now matches the plan plus what is\n"
		"still draining, and the nftables sets were written), 1 runtime failure, 2 usage\n"
		"error or invalid value.\n");
}

/*
 * --once: one full sync of IPVS and the packet path, through the daemon's own kernel side
 * (daemon_sync_once()); returns the exit status.
 */
static int run_once(const struct kube_options *o)
{
	_cleanup_(plan_table_clear) struct plan_table table = { 0 };
	_cleanup_(plan_fw_clear) struct plan_fw fw = { 0 };
	struct ipvs_node_result res = { 0 };
	char err[512] = "", line[256];
	bool matches = false;
	int r;

	if (cmd_source_plan_fw(o, "kipvs run", true, &table, &fw) < 0)
		return EXIT_RUNTIME;
	r = daemon_sync_once(o, &table, &fw, &res, &matches, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "kipvs run: %s\n", err[0] ? err : strerror(-r));
		/* A scheduler the kernel lacks is an invalid value, found only by asking it. */
		return r == -ENOPKG ? EXIT_USAGE : EXIT_RUNTIME;
	}
	ipvs_node_result_format(&res, line, sizeof(line));
	fprintf(stderr, "%s\n", line);
	/* The details the fixed summary line leaves out (with -v): batches = sendmsg calls. */
	log_debug("run", "sync details", "operations=%u batches=%u repaired=%u failed=%u",
		  res.sync.operations, res.sync.batches, res.sync.repaired, res.sync.failed);
	if (!matches) {
		fprintf(stderr, "kipvs run: the kernel does not match the plan after the sync "
				"(IPVS or the nftables packet path; see the failures above)\n");
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

int cmd_run_main(int argc, char **argv)
{
	_cleanup_(kube_options_clear) struct kube_options o = { 0 };
	int r;

	r = cmd_options_begin(argc, argv, KUBE_OPTIONS_CMD_RUN, "run", run_usage, &o);
	if (r != CMD_CONTINUE)
		return r;
	if (o.once)
		return run_once(&o);
	return daemon_run(&o);
}
